"""Fixtures of the resolve tests: a tiny city read into std-shaped tables (see `simcity`)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from simcity import resolve_city, std, std_arrow

__all__ = ["resolve_city", "std", "std_arrow"]
