"""The package's layout rules: no import cycles, ``tree/`` stands alone, the CLI uses only the
public API, data flows forward through the stages."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "shapetree"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Modules of the package that a file imports (at any depth of the file), by full name."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("shapetree")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.startswith("shapetree"):
                out.add(target)
                # ``from . import x`` imports the submodule x when there is one
                out |= {f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES}
    return out


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def graph() -> dict[str, set[str]]:
    g = {}
    for name, path in MODULES.items():
        deps = set()
        for target in imports_of(path):
            while target not in MODULES and "." in target:  # ``from pkg.mod import name``
                target = target.rsplit(".", 1)[0]
            if target in MODULES and target != name:
                deps.add(target)
        g[name] = deps
    return g


def test_no_import_cycles():
    """Modules depend on packages through their __init__, which imports its own modules; a cycle
    among modules (a package's __init__ and its own modules aside) is a layering bug."""
    g = graph()

    def own(a: str, b: str) -> bool:  # b is a module of package a (a package imports its parts)
        return MODULES[a].name == "__init__.py" and b.startswith(a + ".")

    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in sorted(g[n]):
            if own(n, m) or (MODULES[m].name == "__init__.py" and n.startswith(m + ".")):
                continue
            if state.get(m) == 1:
                cycle = stack[stack.index(m):] + [m]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(g):
        if n not in state:
            visit(n)


def test_tree_imports_nothing_else_of_the_package():
    for name, deps in graph().items():
        if name == "shapetree.tree" or name.startswith("shapetree.tree."):
            outside = {d for d in deps if not d.startswith("shapetree.tree") and d != "shapetree.errors"}
            assert not outside, f"{name} imports {outside}"


def test_stages_never_import_later_stages():
    order = ["tree", "mesh", "builder", "simplifier", "refiner", "extract", "renderer", "formats", "metrics", "viewer", "cli"]
    later = {s: set(order[i + 1:]) - {"formats"} for i, s in enumerate(order)}
    later["formats"] = {"builder", "simplifier", "refiner", "extract", "renderer", "metrics", "cli", "mesh"}
    for name, deps in graph().items():
        stage = name.split(".")[1] if name.count(".") else None
        for d in deps:
            dstage = d.split(".")[1] if d.count(".") else None
            assert dstage not in later.get(stage, set()), f"{name} (stage {stage}) imports {d}"


def test_the_cli_uses_only_the_public_api():
    public = {"shapetree", "shapetree.errors", "shapetree.metrics", "shapetree.renderer", "shapetree.builder",
              "shapetree.refiner",
              "shapetree.builder.normal_map", "shapetree.viewer.server", "shapetree.viewer.site"}
    for name, path in MODULES.items():
        if name.startswith("shapetree.cli"):
            used = {t for t in imports_of(path) if not t.startswith("shapetree.cli")}
            assert used <= public, f"{name} imports {used - public}"


def test_no_public_function_shadows_a_module():
    import importlib

    for name in MODULES:
        if "." not in name:
            continue
        parent, child = name.rsplit(".", 1)
        obj = getattr(importlib.import_module(parent), child, None)
        if obj is not None:
            assert type(obj).__name__ == "module", f"{parent}.{child} is a {type(obj).__name__}, not the module"
