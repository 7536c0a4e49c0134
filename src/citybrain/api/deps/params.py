"""Query and path parameter types the routers share."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints


def _no_dots(value: str) -> str:
    if ".." in value:
        raise ValueError("must not contain '..'")
    return value


# A filter value (a name, an id, a street …) with its character ranges spelt out. ``\w`` means
# Unicode word characters to Python but ASCII ones to JSON Schema (ECMA) regex, so clients, fuzzers
# and this service would disagree about a value such as "ý"; explicit ranges mean the same
# everywhere, and the published schema says exactly what the service accepts.
Text = Annotated[
    str,
    StringConstraints(
        min_length=1,
        max_length=128,
        pattern=r"^[0-9A-Za-z_\u00c0-\u024f\u3400-\u4dbf\u4e00-\u9fff\uff08\uff09\-.:@ ]+$",
    ),
    AfterValidator(_no_dots),
]
Period = Annotated[str, StringConstraints(pattern=r"^\d{4}(-\d{2}){0,2}$")]
