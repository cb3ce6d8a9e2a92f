"""The shape of the code (issue 19): no import circle anywhere in vigil/, the composition root stays small, and
the API's routers reach Vigil through the app's state, never by importing the composition root. The layers
themselves are import-linter's contract in pyproject.toml (`make lint` runs it)."""

from __future__ import annotations

import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), i.e. import circles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_vigil() -> None:
    graph = grimp.build_graph("vigil", include_external_packages=False)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert len(edges) > 100, "every package is seen (a folder without __init__.py is not)"
    assert cycles(edges) == []


def test_composition_root_is_small_and_routers_do_not_import_it() -> None:
    assert len((ROOT / "vigil" / "app.py").read_text().splitlines()) <= 150
    graph = grimp.build_graph("vigil", include_external_packages=False)
    importers = graph.find_modules_that_directly_import("vigil.app")
    assert not [m for m in importers if m.startswith("vigil.api")], importers

