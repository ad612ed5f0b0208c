"""The layer rule of ARCHITECTURE.md, checked on the source: no import cycle inside `core`, each
package imports only the packages below it, and no module uses another module's private names."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "core"
# Bottom to top; a package may import itself and the packages before it.
LAYERS = ("base", "media", "pose", "demo", "labeling", "dataset", "modeling", "inference",
          "evaluation", "analysis", "cli")


def module_name(path: Path, root: Path = CORE) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every import in the file, also inside functions."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, [a.name for a in node.names], node.lineno))
    return out


def core_graph(root: Path = CORE) -> dict[str, set[str]]:
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        for target, names, _ in imports(path):
            for name in [f"{target}.{n}" for n in names] + [target]:
                if name in modules and name != mod:
                    graph[mod].add(name)
                    break
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_no_import_cycle_inside_core():
    assert find_cycle(core_graph()) is None, f"import cycle: {' -> '.join(find_cycle(core_graph()))}"


def test_cycle_finder_finds_a_cycle(tmp_path):
    pkg = tmp_path / "core"
    (pkg / "a").mkdir(parents=True)
    (pkg / "a" / "x.py").write_text("def f():\n    from core.a.y import g\n")
    (pkg / "a" / "y.py").write_text("from core.a import x\n")
    cycle = find_cycle(core_graph(pkg))
    assert cycle is not None and set(cycle) == {"core.a.x", "core.a.y"}


def test_packages_import_only_lower_layers():
    bad = []
    for path in CORE.rglob("*.py"):
        mine = layer_of(module_name(path))
        if mine is None:
            continue
        for target, _, line in imports(path):
            theirs = layer_of(target)
            if theirs and LAYERS.index(theirs) > LAYERS.index(mine):
                bad.append(f"{path.relative_to(CORE.parent)}:{line} ({mine}) imports {target} ({theirs})")
    assert not bad, "\n".join(bad)


def test_every_core_module_is_in_a_layer():
    loose = [p.name for p in CORE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert not loose, f"modules outside the layers: {loose}"


@pytest.mark.parametrize("root", ["core", "ui", "app_pages", "bench"])
def test_no_private_name_used_across_modules(root):
    base = CORE.parent / root
    bad = []
    for path in [*base.rglob("*.py"), *([CORE.parent / "Home.py"] if root == "app_pages" else [])]:
        tree = ast.parse(path.read_text(), str(path))
        aliases = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("core"):
                for a in node.names:
                    if a.name.startswith("_") and not a.name.startswith("__"):
                        bad.append(f"{path.relative_to(CORE.parent)}:{node.lineno} imports {node.module}.{a.name}")
                    aliases.add(a.asname or a.name)
            elif isinstance(node, ast.Import):
                aliases |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith("core")}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and node.value.id in aliases):
                bad.append(f"{path.relative_to(CORE.parent)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not bad, "\n".join(bad)


def test_no_private_member_of_another_module_used():
    """`obj._name` where `_name` is a private member of a class defined in another core module."""
    owners: dict[str, set[Path]] = {}
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("_") \
                            and not item.name.startswith("__"):
                        owners.setdefault(item.name, set()).add(path)
    bad = []
    for path in [*CORE.rglob("*.py"), *(CORE.parent / "ui").rglob("*.py"), *(CORE.parent / "app_pages").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and node.attr in owners and path not in owners[node.attr]
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                bad.append(f"{path.relative_to(CORE.parent)}:{node.lineno} uses .{node.attr}")
    assert not bad, "\n".join(bad)
