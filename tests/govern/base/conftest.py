"""The base tests share the resolve tests' tiny city (see tests/govern/resolve/simcity.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "resolve"))

from simcity import resolve_city, std, std_arrow

__all__ = ["resolve_city", "std", "std_arrow"]
