"""What `citybrain address parse "…"` shows: the components and, given a base, the match."""

from __future__ import annotations

from typing import Any, NamedTuple

from citybrain.address.match import AddressBase, MatchResult
from citybrain.address.model import ParsedAddress
from citybrain.address.parser import AddressParser, default_parser


class AddressExplanation(NamedTuple):
    """One address read and (optionally) matched; `rows` / `as_table` are ready to print."""

    parsed: ParsedAddress
    match: MatchResult | None = None

    def rows(self) -> list[tuple[str, str]]:
        """(component, value) pairs: the parsed components, then the match fields if any."""
        rows = self.parsed.rows()
        if self.match is not None:
            rows += self.match.rows()
        return rows

    def as_table(self) -> Any:
        """The `rows` as a two-column ``pyarrow.Table`` (component, value)."""
        import pyarrow as pa

        rows = self.rows()
        return pa.table({"component": [r[0] for r in rows], "value": [r[1] for r in rows]})


def explain(
    text: str, parser: AddressParser | None = None, base: AddressBase | None = None
) -> AddressExplanation:
    """Parse ``text`` and, given a base, match it (typos corrected against the base)."""
    if parser is None:
        parser = default_parser() if base is None else base.parser()
    parsed = parser.parse(text)
    return AddressExplanation(parsed, base.match(parsed) if base is not None else None)
