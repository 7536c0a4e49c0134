"""``citybrain topic new NAME``: scaffold an installable topic package that passes its own tests.

The package has a pyproject registering the ``citybrain.topics`` entry point, the topic (inputs,
parameters, ``run``, ``evaluate``, map layer, overview tile), tests (fast ones on a few rows, a
slow one on the tiny synthetic city) and a README. Templates ship as package data beside this
module (``templates/topic/*.tmpl``).
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from string import Template

from citybrain.core.errors import UserError

NAME = re.compile(r"[a-z][a-z0-9_]{1,40}")

#: template → where it goes in the package, ``{package}`` replaced
LAYOUT = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "__init__.py.tmpl": "src/{package}/__init__.py",
    "topic.py.tmpl": "src/{package}/topic.py",
    "test_topic.py.tmpl": "tests/test_topic.py",
}


@dataclass(frozen=True)
class Scaffold:
    name: str
    package: str
    dist_name: str
    class_name: str
    root: Path
    files: tuple[Path, ...]


def names_for(name: str) -> dict[str, str]:
    """The names a topic called ``name`` is known by in its package."""
    if not NAME.fullmatch(name) or keyword.iskeyword(name) or name.endswith("_"):
        raise UserError(
            f"{name!r} is not a topic name",
            hint="lower-case letters, digits and _, starting with a letter (e.g. noise_hotspots)",
        )
    return {
        "name": name,
        "package": f"citybrain_topic_{name}",
        "dist_name": f"citybrain-topic-{name.replace('_', '-')}",
        "class_name": "".join(part.capitalize() for part in name.split("_") if part),
    }


def scaffold_topic(
    name: str, out: Path, *, title_zh: str | None = None, title_en: str | None = None
) -> Scaffold:
    """Write the package for topic ``name`` into ``out`` (which must not exist or be empty)."""
    values = names_for(name)
    values["title_zh"] = title_zh or f"新专题{name}"
    values["title_en"] = title_en or name.replace("_", " ").capitalize()
    for key in ("title_zh", "title_en"):
        if any(ch in values[key] for ch in '"\\\n'):
            raise UserError(f"the title {values[key]!r} may not contain quotes or line breaks")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} exists and is not an empty folder", hint="choose another --out")
    templates = files("citybrain.topics").joinpath("templates", "topic")
    written = []
    for template, target in LAYOUT.items():
        text = Template(templates.joinpath(template).read_text(encoding="utf-8"))
        path = out / target.format(package=values["package"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.substitute(values), encoding="utf-8")
        written.append(path)
    return Scaffold(
        name=name,
        package=values["package"],
        dist_name=values["dist_name"],
        class_name=values["class_name"],
        root=out,
        files=tuple(written),
    )
