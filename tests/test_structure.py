"""Structure checks over the product code (``matching/``, ``models/``, ``api/``,
``corpora/``), by parsing the sources with ``ast`` (nothing is imported):

- size limits: no function over ``MAX_FUNCTION_LINES``, no module over
  ``MAX_MODULE_LINES`` (explicit exemptions below, each with its reason);
- the import graph of ``xfd.*`` modules (module-level and function-level
  imports) has no cycle;
- no router imports another router, no CLI command module another command;
- layering: ``matching/`` imports no web framework, database or model runtime
  at module level; ``models/`` and ``matching/`` never import ``xfd.api``.

Each check has a test that runs it on a small hand-made tree where it must
fail, so a broken check cannot pass silently.
"""
from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: source folder -> the package it installs as (pyproject.toml [tool.setuptools.package-dir])
PACKAGES = {"matching": "xfd.matching", "models": "xfd.models", "api": "xfd.api", "corpora": "xfd.corpora"}
MAX_FUNCTION_LINES = 120
MAX_MODULE_LINES = 600
#: modules allowed past MAX_MODULE_LINES, and why (data tables, generated migrations)
MODULE_EXEMPTIONS: dict[str, str] = {}
#: path prefixes exempt from both limits, and why
TREE_EXEMPTIONS = {"api/alembic/versions/": "migrations are written once and never edited"}
#: imports ``matching/`` must not make at module level (it is the pure library)
HEAVY = ("fastapi", "sqlalchemy", "starlette", "torch", "sentence_transformers", "uvicorn", "alembic")


class Module(NamedTuple):
    """One source file: dotted ``name`` (``xfd.api.crud.demands``), ``path``
    relative to the root, whether it is a package ``__init__``, and its parsed tree."""

    name: str
    path: str
    is_package: bool
    tree: ast.Module
    lines: int


class Import(NamedTuple):
    """An import of ``target`` (dotted name) at ``lineno``; ``toplevel`` when not inside a function.
    ``from a import b`` is ``target="a.b", fallback="a"``: module ``a.b`` if there is one, else a name in ``a``."""

    target: str
    lineno: int
    toplevel: bool
    fallback: str | None = None


def product_modules(root: Path = ROOT, packages: dict[str, str] = PACKAGES) -> list[Module]:
    out = []
    for folder, dotted in packages.items():
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root / folder)
            parts = list(rel.with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            text = path.read_text(encoding="utf-8")
            out.append(Module(".".join([dotted, *parts]), path.relative_to(root).as_posix(), is_package,
                              ast.parse(text, filename=str(path)), len(text.splitlines())))
    return out


def _function_scopes(tree: ast.AST) -> set[int]:
    """ids of nodes that sit inside a function body (their imports run at call time)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inside.update(id(n) for n in ast.walk(node) if n is not node)
    return inside


def _type_checking_blocks(tree: ast.AST) -> set[int]:
    """ids of nodes under ``if TYPE_CHECKING:`` (never executed)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, (ast.Name, ast.Attribute)):
            name = node.test.id if isinstance(node.test, ast.Name) else node.test.attr
            if name == "TYPE_CHECKING":
                for stmt in node.body:
                    skipped.update(id(n) for n in ast.walk(stmt))
    return skipped


def imports(module: Module) -> list[Import]:
    """Every executed import of ``module``, relative ones resolved to absolute names."""
    inside, skipped = _function_scopes(module.tree), _type_checking_blocks(module.tree)
    out = []
    for node in ast.walk(module.tree):
        if id(node) in skipped:
            continue
        top = id(node) not in inside
        if isinstance(node, ast.Import):
            out += [Import(a.name, node.lineno, top) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join([*pkg, base] if base else pkg)
            out += [Import(base, node.lineno, top) if a.name == "*" else Import(f"{base}.{a.name}", node.lineno, top, base)
                    for a in node.names]
    return out


def import_graph(modules: Iterable[Module]) -> dict[str, set[str]]:
    """``{module: {xfd modules it imports}}``; an import of ``a.b`` also runs ``a/__init__`` but that
    edge is left out (a package importing its own submodules is not a cycle through its parent)."""
    mods = list(modules)
    known = {m.name for m in mods}
    graph: dict[str, set[str]] = {m.name: set() for m in mods}
    for m in mods:
        for imp in imports(m):
            target = imp.target if imp.target in known or imp.fallback is None else imp.fallback
            if target in known and target != m.name:
                graph[m.name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as ``[a, b, …, a]``, or None (iterative DFS, nodes in sorted order)."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for start in sorted(graph):
        if state.get(start):
            continue
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                path = [n for n, _ in stack]
                return [*path[path.index(child):], child]
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(sorted(graph.get(child, ())))))
    return None


def size_violations(modules: Iterable[Module]) -> list[str]:
    out = []
    for m in modules:
        if any(m.path.startswith(prefix) for prefix in TREE_EXEMPTIONS):
            continue
        if m.lines > MAX_MODULE_LINES and m.path not in MODULE_EXEMPTIONS:
            out.append(f"{m.path}: module of {m.lines} lines > {MAX_MODULE_LINES}")
        for node in ast.walk(m.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    out.append(f"{m.path}:{node.lineno}: function {node.name} of {n} lines > {MAX_FUNCTION_LINES}")
    return out


def sibling_imports(modules: Iterable[Module], package: str, members: Iterable[str] | None = None) -> list[str]:
    """``a -> b`` for modules ``a`` and ``b`` directly in ``package`` (only ``members``
    when given; the package ``__init__`` is not a member) where ``a`` imports ``b``."""
    mods = [m for m in modules if m.name.rsplit(".", 1)[0] == package and not m.is_package]
    names = {m.name for m in mods} if members is None else {f"{package}.{n}" for n in members}
    out = []
    for m in mods:
        if m.name not in names:
            continue
        for imp in imports(m):
            target = imp.target if imp.target in names else imp.fallback
            if target in names and target != m.name:
                out.append(f"{m.path}:{imp.lineno}: {m.name} imports {target}")
    return sorted(set(out))


def heavy_toplevel_imports(modules: Iterable[Module], package: str, banned: Iterable[str]) -> list[str]:
    banned = tuple(banned)
    out = []
    for m in modules:
        if m.name == package or m.name.startswith(package + "."):
            for imp in imports(m):
                if imp.toplevel and imp.target.split(".")[0] in banned:
                    out.append(f"{m.path}:{imp.lineno}: imports {imp.target} at module level")
    return sorted(set(out))


def forbidden_imports(modules: Iterable[Module], package: str, forbidden: str) -> list[str]:
    out = []
    for m in modules:
        if m.name == package or m.name.startswith(package + "."):
            for imp in imports(m):
                if imp.target == forbidden or imp.target.startswith(forbidden + "."):
                    out.append(f"{m.path}:{imp.lineno}: imports {imp.target}")
    return sorted(set(out))


def cli_commands(root: Path = ROOT) -> list[str]:
    """The names in ``COMMANDS`` of ``api/cli/__init__.py`` (read with ast, not imported)."""
    tree = ast.parse((root / "api" / "cli" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else (node.targets[0] if isinstance(node, ast.Assign) else None)
        if isinstance(target, ast.Name) and target.id == "COMMANDS":
            return [ast.literal_eval(e) for e in node.value.elts]  # type: ignore[union-attr]
    raise AssertionError("api/cli/__init__.py has no COMMANDS list")


# -- the checks on the real tree -----------------------------------------------------------------
@pytest.fixture(scope="module")
def modules() -> list[Module]:
    mods = product_modules()
    assert {m.name for m in mods} >= {"xfd.matching.types", "xfd.api.app", "xfd.api.crud", "xfd.models.pipeline",
                                      "xfd.corpora.build_demo", "xfd.api.cli", "xfd.api.cli.common"}
    return mods


def test_no_function_or_module_over_the_size_limits(modules):
    assert size_violations(modules) == []


def test_exemptions_are_still_needed():
    for path in MODULE_EXEMPTIONS:
        assert len((ROOT / path).read_text(encoding="utf-8").splitlines()) > MAX_MODULE_LINES, path


def test_import_graph_has_no_cycle(modules):
    graph = import_graph(modules)
    assert sum(len(v) for v in graph.values()) > 100  # the graph is really built
    assert find_cycle(graph) is None


def test_no_router_imports_another_router(modules):
    assert sibling_imports(modules, "xfd.api.routers") == []


def test_no_cli_command_imports_another_command(modules):
    commands = cli_commands()
    assert {"score", "assign", "serve", "keys", "demo", "db"} <= set(commands)
    for name in commands:
        assert (ROOT / "api" / "cli" / f"{name}.py").is_file(), name
    assert sibling_imports(modules, "xfd.api.cli", commands) == []


def test_matching_imports_no_web_database_or_model_runtime_at_module_level(modules):
    assert heavy_toplevel_imports(modules, "xfd.matching", HEAVY) == []


def test_storage_loads_without_the_web_framework(modules):
    """The storage mapping is shared by the CLI, the service and the pages: no HTTP at import."""
    assert heavy_toplevel_imports(modules, "xfd.api.storage", ("fastapi", "starlette", "uvicorn", "jinja2")) == []


def test_library_layers_never_import_the_edges(modules):
    assert forbidden_imports(modules, "xfd.matching", "xfd.api") == []
    assert forbidden_imports(modules, "xfd.models", "xfd.api") == []
    assert forbidden_imports(modules, "xfd.matching", "xfd.models") == []


# -- each check fails where it must --------------------------------------------------------------
def _tree(tmp_path: Path, files: dict[str, str]) -> list[Module]:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return product_modules(tmp_path, {"pkg": "xfd.pkg"})


def test_checks_catch_what_they_are_for(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    mods = _tree(tmp_path, {
        "pkg/__init__.py": "from xfd.pkg import a\n",
        "pkg/a.py": "import fastapi\nfrom xfd.pkg.b import thing\n",
        "pkg/b.py": "def thing():\n    from xfd.pkg import a  # a call-time import closes the cycle\n",
        "pkg/long.py": f"def f():\n{body}\n" + "\n" * MAX_MODULE_LINES,
        "pkg/routers/__init__.py": "",
        "pkg/routers/one.py": "from xfd.pkg.routers.two import router\n",
        "pkg/routers/two.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from xfd.pkg.routers import one\n",
        "pkg/ok.py": "import typing\n\ndef later():\n    import torch\n",
    })
    cycle = find_cycle(import_graph(mods))
    assert cycle is not None and cycle[0] == cycle[-1] and {"xfd.pkg.a", "xfd.pkg.b"} <= set(cycle)
    sizes = size_violations(mods)
    assert len(sizes) == 2 and "function f of 121 lines" in sizes[0] + sizes[1] and "module of" in sizes[0] + sizes[1]
    assert sibling_imports(mods, "xfd.pkg.routers") == ["pkg/routers/one.py:1: xfd.pkg.routers.one imports xfd.pkg.routers.two"]
    assert heavy_toplevel_imports(mods, "xfd.pkg", HEAVY) == ["pkg/a.py:1: imports fastapi at module level"]
    assert forbidden_imports(mods, "xfd.pkg.b", "xfd.pkg") == ["pkg/b.py:2: imports xfd.pkg.a"]


def test_relative_imports_resolve(tmp_path):
    mods = _tree(tmp_path, {"pkg/__init__.py": "", "pkg/sub/__init__.py": "from . import x\n", "pkg/sub/x.py": "from ..y import z\n",
                            "pkg/y.py": ""})
    graph = import_graph(mods)
    assert graph["xfd.pkg.sub"] == {"xfd.pkg.sub.x"} and graph["xfd.pkg.sub.x"] == {"xfd.pkg.y"}
