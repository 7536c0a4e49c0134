"""Edit-distance-1 correction against a list of known names (roads, estates).

A deletion index (each name with one character removed → names) finds every known name within
one insertion, deletion or substitution of a query with a few dictionary look-ups. A correction is
returned only when exactly one known name is that close: a wrong fix is worse than none.
"""

from __future__ import annotations

from collections.abc import Iterable


def _deletes(name: str) -> set[str]:
    return {name[:i] + name[i + 1 :] for i in range(len(name))}


class NameIndex:
    """Known names with a one-edit lookup. Names shorter than ``min_length`` are never corrected."""

    def __init__(self, names: Iterable[str], min_length: int = 3) -> None:
        self._names = frozenset(names)
        self._min = min_length
        self._by_delete: dict[str, set[str]] = {}
        for name in self._names:
            if len(name) < min_length:
                continue
            for key in _deletes(name):
                self._by_delete.setdefault(key, set()).add(name)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __len__(self) -> int:
        return len(self._names)

    def candidates(self, query: str) -> set[str]:
        """Known names within one edit of ``query`` (the query itself if known)."""
        if query in self._names:
            return {query}
        if len(query) < self._min - 1:
            return set()
        found: set[str] = set()
        # query is a known name with one character removed (an insertion was dropped) …
        found |= self._by_delete.get(query, set())
        for key in _deletes(query):
            # … or has one extra character, or one substituted.
            if key in self._names:
                found.add(key)
            for name in self._by_delete.get(key, ()):
                if (
                    len(name) == len(query)
                    and sum(a != b for a, b in zip(name, query, strict=True)) == 1
                ):
                    found.add(name)
        return {name for name in found if len(name) >= self._min}

    def correct(self, query: str) -> str | None:
        """The one known name within one edit, or None when there is none or more than one."""
        found = self.candidates(query)
        return next(iter(found)) if len(found) == 1 else None
