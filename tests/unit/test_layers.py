"""The package's shape: dependencies point one way, and no module imports in a cycle.

Every import counts, the ones inside functions too (they keep start-up fast, but they are
still dependencies). The layers are the flow the code follows: what the user wrote and what
Cekura returned, then judging, then the API and rendering, then CI platforms, then the shell.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

GATE = Path(__file__).resolve().parents[2] / "gate"

# A package may import from its own layer's packages only when listed here, and from any
# lower layer. `errors` and the version sit below everything but `gate.dataclasses` (the
# standard library's dataclasses, cheaper to import) and `gate.lazy` (imports on first use).
LAYERS: dict[str, int] = {
    "gate.dataclasses": -1,
    "gate.lazy": -1,
    "gate": 0,
    "gate.errors": 0,
    "gate.policy": 1,
    "gate.results": 1,
    "gate.rules": 2,
    "gate.api": 3,
    "gate.reporters": 3,
    "gate.ci": 4,
    "gate.cli": 5,
    "gate.__main__": 6,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(GATE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


@functools.cache
def import_statements(path: Path) -> tuple[ast.Import | ast.ImportFrom, ...]:
    """Every import statement of a file, at the top or inside a function."""
    return tuple(
        node for node in ast.walk(parsed(path)) if isinstance(node, (ast.Import, ast.ImportFrom))
    )


def imports_of(path: Path) -> set[str]:
    """Every gate module this file imports, wherever the import statement is."""
    found: set[str] = set()
    for node in import_statements(path):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("gate"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gate"):
            package = GATE.parent / node.module.replace(".", "/")
            for alias in node.names:
                # `from gate.ci import github` imports a module, not a name of the package
                is_module = (package / f"{alias.name}.py").exists()
                found.add(f"{node.module}.{alias.name}" if is_module else node.module)
    return found


GRAPH = {
    module_name(path): imports_of(path) - {module_name(path)} for path in sorted(GATE.rglob("*.py"))
}


def layer_of(module: str) -> tuple[str, int]:
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return prefix, LAYERS[prefix]
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS")


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_a_module_imports_only_its_own_package_or_lower_layers(module):
    package, layer = layer_of(module)
    wrong = sorted(
        target
        for target in GRAPH[module]
        if layer_of(target)[0] != package and layer_of(target)[1] >= layer and target != "gate"
    )
    assert wrong == [], f"{module} (layer {layer}) imports {wrong}"


def test_no_import_cycle_lazy_imports_included():
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = "open"
        stack.append(module)
        for target in sorted(GRAPH.get(module, ())):
            if target not in GRAPH or target == "gate":
                continue
            if state.get(target) == "open":
                cycle = [*stack[stack.index(target) :], target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)


# Only the command line touches the world. The API package may name the real clock and
# sleep, as defaults that tests replace; nothing else may read the environment, print,
# exit, open files or read the clock.
SHELL_ONLY = (
    "os.environ",
    "os.getenv",
    "print(",
    "sys.exit",
    "sys.stdout",
    "sys.stderr",
    "open(",
    ".write_text(",
    ".read_text(",
    "time.time(",
    "time.monotonic(",
    "date.today(",
    "datetime.now(",
)


@pytest.mark.parametrize(
    "path",
    [
        p
        for p in sorted(GATE.rglob("*.py"))
        if not module_name(p).startswith(("gate.cli", "gate.__main__"))
    ],
    ids=lambda path: module_name(path),
)
def test_only_the_command_line_touches_env_files_streams_and_clock(path):
    source = path.read_text(encoding="utf-8")
    assert [word for word in SHELL_ONLY if word in source] == []


def defined_names(path: Path) -> set[str]:
    """What a module defines itself (not what it imports), also under a module-level ``if``."""
    names: set[str] = set()
    top = parsed(path).body
    for node in [*top, *(inner for if_ in top if isinstance(if_, ast.If) for inner in if_.orelse)]:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


SOURCES = {
    module_name(path): path
    for path in sorted(GATE.rglob("*.py"))
    if path.name != "__init__.py" or path.parent == GATE
}
ROOTS = (GATE, GATE.parent / "tests", GATE.parent / "bench", GATE.parent / "scripts")


@pytest.mark.parametrize("root", ROOTS, ids=lambda root: root.name)
def test_names_are_imported_from_the_module_that_defines_them(root):
    # A module that passes on what it imported hides where a thing lives (evaluate used to
    # hand out the reporters' formatting helpers).
    borrowed = []
    for path in sorted(root.rglob("*.py")):
        for node in import_statements(path):
            if isinstance(node, ast.ImportFrom) and node.module in SOURCES:
                defined = defined_names(SOURCES[node.module])
                borrowed += [
                    f"{path.name}: {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name not in defined
                    # `from gate import dataclasses`: a module of the package, not a name
                    and not (SOURCES[node.module].parent / f"{alias.name}.py").exists()
                ]
    assert borrowed == []


@pytest.mark.parametrize("root", ROOTS, ids=lambda root: root.name)
def test_no_module_imports_another_modules_private_names(root):
    private = [
        f"{path.name}: {node.module}.{alias.name}"
        for path in sorted(root.rglob("*.py"))
        for node in import_statements(path)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gate")
        for alias in node.names
        if alias.name.startswith("_") and alias.name != "__version__"
    ]
    assert private == []
