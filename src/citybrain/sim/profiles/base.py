"""What a profile is: a district other than the default one, layered over the default generator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from citybrain.sim.geography import Geography
from citybrain.sim.profiles.reexport import Export


@dataclass(frozen=True)
class Profile:
    """A synthetic district: its map (the default zone's layout, renamed), the systems its data
    office has connected, how each department hands its data over, and the source contracts the
    city wrote for them (shipped in ``contracts``, paths relative to the city's folder).

    The default profile changes nothing: same bytes as before profiles existed."""

    name: str
    zone: str  # the district's name, as README.json says it
    description: str
    systems: tuple[str, ...] = ()  # sim system modules it generates (empty: every one)
    exports: tuple[Export, ...] = ()
    texts: tuple[tuple[str, str], ...] = ()  # substrings replaced in every exported text
    contracts: Path | None = None
    reshape_fn: Callable[[Geography], Geography] | None = None
    # more substrings to replace, found on the district's map (after ``texts``)
    texts_fn: Callable[[Geography], tuple[tuple[str, str], ...]] | None = None

    @property
    def is_default(self) -> bool:
        return self.reshape_fn is None and not self.exports and self.contracts is None

    def reshape(self, geo: Geography) -> Geography:
        """The district's map from the default one (the default profile keeps it)."""
        return geo if self.reshape_fn is None else self.reshape_fn(geo)

    def all_texts(self, geo: Geography) -> tuple[tuple[str, str], ...]:
        """Every (old, new) substring replacement of the district's exports, in order."""
        return self.texts + (() if self.texts_fn is None else self.texts_fn(geo))
