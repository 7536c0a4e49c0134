"""The front end's ES modules import one another without a cycle, and components never import the
router: the page table lives in ``main.js``, above both (STYLE.md, habit 12).

Static ``import … from``, bare ``import "…"``, ``export … from`` and dynamic ``import("…")`` all
count as edges; only the app's own relative modules are followed (packages are leaves).
"""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "frontend" / "src"
_SPECIFIER = re.compile(
    r"""(?:\bimport\s*\(\s*|\bimport\s+(?:[\w*{}\s,$]+?\s+from\s+)?|\bexport\s+[\w*{}\s,$]+?\s+from\s+)
        (["'])(\.{1,2}/[^"']+)\1""",
    re.VERBOSE,
)


def imports_of(path: Path) -> set[Path]:
    """The app modules ``path`` imports, resolved to files (CSS and JSON are leaves)."""
    found = set()
    for match in _SPECIFIER.finditer(path.read_text(encoding="utf-8")):
        target = (path.parent / match.group(2)).resolve()
        if target.suffix == ".js":
            found.add(target)
    return found


def module_graph(root: Path) -> dict[Path, set[Path]]:
    return {path.resolve(): imports_of(path) for path in sorted(root.rglob("*.js"))}


def find_cycle(graph: dict[Path, set[Path]]) -> list[Path] | None:
    """One import cycle (its modules in order, the first repeated at the end), or None."""
    done: set[Path] = set()
    path: list[Path] = []

    def visit(module: Path) -> list[Path] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        path.append(module)
        for target in sorted(graph.get(module, ())):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module)
        if cycle:
            return cycle
    return None


def _names(modules: list[Path]) -> str:
    return " → ".join(str(m.relative_to(SRC)) for m in modules)


def test_the_checker_reads_every_kind_of_import(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text('import { b } from "./b.js";\nimport "./style.css";\n')
    (tmp_path / "b.js").write_text('export { c } from "./c.js";\n')
    (tmp_path / "c.js").write_text('const a = () => import("./a.js");\nimport x from "echarts";\n')
    graph = module_graph(tmp_path)
    a, b, c = (tmp_path / f"{n}.js" for n in "abc")
    assert graph == {a: {b}, b: {c}, c: {a}}
    assert find_cycle(graph) == [a, b, c, a]
    (tmp_path / "c.js").write_text("export const c = 1;\n")
    assert find_cycle(module_graph(tmp_path)) is None


def test_no_import_cycle_in_the_web_app() -> None:
    graph = module_graph(SRC)
    assert len(graph) > 10  # the app's modules were found
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle: {_names(cycle)}"


def test_components_never_import_the_router() -> None:
    router = (SRC / "router.js").resolve()
    for module, targets in module_graph(SRC).items():
        if module.is_relative_to(SRC / "components") or module.is_relative_to(SRC / "pages"):
            assert router not in targets, f"{module.relative_to(SRC)} imports router.js"
