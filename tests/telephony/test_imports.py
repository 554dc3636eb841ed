"""Import structure: no import cycle in ivr/, and pjsua2 only where SIP media runs.

The engine host is spawned from a SIP worker (a fresh interpreter that re-imports the worker's
`__main__` module) and a console-only host serves no SIP at all: neither may load pjsua2, whose
media clock and 4-call cap belong to the worker process alone.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PKG = REPO / "ivr"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, name: str, is_package: bool, modules: set[str]) -> set[str]:
    """Every ivr module `name` imports, at module level or inside a function (a deferred import is
    still part of a circle), but not under `if TYPE_CHECKING:` (never executed)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:  # relative: from the package of this module
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    mod = ".".join([*base, *([child.module] if child.module else [])])
                else:
                    mod = child.module or ""
                for a in child.names:  # `from pkg import submodule` imports the submodule
                    found.add(f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod)
            visit(child)

    visit(tree)
    resolved = set()
    for mod in found:
        while mod and mod not in modules:
            mod = mod.rpartition(".")[0]
        if mod and mod != name:
            resolved.add(mod)
    return resolved


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PKG.rglob("*.py")}
    modules = set(paths)
    return {
        n: _imports(ast.parse(p.read_text(encoding="utf-8")), n, p.name == "__init__.py", modules)
        for n, p in paths.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_no_import_cycle_in_ivr() -> None:
    graph = import_graph()
    assert "ivr.wiring" in graph and "ivr.transports.sip.engine_host" in graph
    assert "ivr.transports.sip.worker" not in graph["ivr.transports.sip.engine_host"]
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_deferred_circle() -> None:
    """What the SIP worker and engine host had before: a top-level import one way, a deferred one back."""
    a = ast.parse("from ivr.b import thing\n")
    b = ast.parse("def f():\n    from ivr.a import other\n")
    mods = {"ivr.a", "ivr.b"}
    graph = {"ivr.a": _imports(a, "ivr.a", False, mods), "ivr.b": _imports(b, "ivr.b", False, mods)}
    assert cycles(graph) == [["ivr.a", "ivr.b"]]
    typed = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ivr.a import other\n")
    assert _imports(typed, "ivr.b", False, mods) == set()


def _run(code: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, IVR_DATA_DIR=str(data_dir), IVR_DB_URL=f"sqlite:///{data_dir / 'ivr.sqlite3'}")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, env=env, cwd=REPO
    )


def test_engine_host_does_not_import_pjsua2(data_dir: Path) -> None:
    """What a spawned engine host runs: the worker module re-imported as `__mp_main__` (multiprocessing
    does that with the parent's main module), the engine-host module, and the real factory."""
    r = _run(
        """
        import runpy, sys
        runpy.run_module("ivr.transports.sip.worker", run_name="__mp_main__")
        import ivr.transports.sip.engine_host
        from ivr.settings import load_settings
        from ivr.wiring import load_factory
        load_factory(None, load_settings())
        print("pjsua2" in sys.modules)
        """,
        data_dir,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip() == "False"


def test_serve_without_sip_does_not_import_pjsua2(data_dir: Path) -> None:
    """`ivr serve --no-sip` (engine in this process) and `--no-sip --no-media` (console only),
    built up to the point where uvicorn would start listening."""
    r = _run(
        """
        import sys
        import uvicorn
        from ivr.cli.serve import serve

        async def no_listen(self, sockets=None):
            return None

        uvicorn.Server.serve = no_listen
        for no_media in (True, False):
            serve(sip=None, http="127.0.0.1:1", agent_uri=None, audiosocket=None, sip_workers=None,
                  no_sip=True, no_media=no_media, case=None, cases=None)
            print(no_media, "pjsua2" in sys.modules, "ivr.engine" in sys.modules)
        """,
        data_dir,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    # console only: no call engine either; with media: the engine, still no pjsua2
    assert r.stdout.split("\n")[:2] == ["True False False", "False False True"], r.stdout
