"""The shape of the code, read from the source with `ast` (nothing is imported, no Qt):
modules of at most 600 lines, no import cycle among saltviewer's own modules, and a core
that never imports training or the plugins.

Every import counts, also those inside functions: an import deferred to a function still
makes the two modules depend on each other (and a cycle through it breaks as soon as
someone moves the import up). Names that `saltviewer.training` loads lazily from its
``_EXPORTS`` table count as imports of the module that defines them. The CLI's table of
verbs (`importlib.import_module` over its own modules) is left out: it imports downwards only.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: Installed package name of each source folder (setup.cfg's package_dir).
ROOMS = {"saltviewer": REPO / "saltviewer", "saltviewer.training": REPO / "training",
         "saltviewer.plugins": REPO / "plugins"}
MAX_LINES = 600
#: Packages the core (saltviewer/ outside saltviewer/cli/) must never import.
ABOVE_THE_CORE = ("saltviewer.training", "saltviewer.plugins")


def _modules():
    """``{module name: (path, is_package)}`` of every source module."""
    found = {}
    for prefix, folder in ROOMS.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if "__pycache__" in parts:
                continue
            package = parts[-1] == "__init__"
            if package:
                parts = parts[:-1]
            found[".".join([prefix, *parts])] = (path, package)
    return found


MODULES = _modules()


def _lazy_exports(tree):
    """A package's ``_EXPORTS = {name: submodule}`` table (names loaded by its ``__getattr__``)."""
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_EXPORTS" for t in node.targets)
                and isinstance(node.value, ast.Dict)):
            return {k.value: v.value for k, v in zip(node.value.keys, node.value.values)
                    if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)}
    return {}


TREES = {name: ast.parse(path.read_text(encoding="utf-8"), filename=str(path)) for name, (path, _) in MODULES.items()}
LAZY = {name: _lazy_exports(tree) for name, tree in TREES.items() if MODULES[name][1]}


def _known(target):
    """The longest prefix of a dotted name that is one of our modules, or None."""
    while target:
        if target in MODULES:
            return target
        if "." not in target:
            return None
        target = target.rsplit(".", 1)[0]
    return None


def resolve_import(module, node):
    """The modules of ours that an ``import`` or ``from ... import`` statement in `module` loads.

    ``from package import name`` loads ``package.name`` when that is a module (or a lazily
    exported name of the package), else ``package`` itself; relative imports are resolved
    against `module`'s package.
    """
    if isinstance(node, ast.Import):
        return {t for t in (_known(alias.name) for alias in node.names) if t}
    if node.level:
        package = module.split(".") if MODULES[module][1] else module.split(".")[:-1]
        base = package[:len(package) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    targets = set()
    for alias in node.names:
        submodule = f"{source}.{alias.name}"
        if submodule in MODULES:
            targets.add(submodule)
        elif alias.name in LAZY.get(source, {}):
            targets.add(f"{source}.{LAZY[source][alias.name]}")
        elif _known(source):
            targets.add(_known(source))
    return targets


def import_graph():
    """``{module: {imported module: first line}}`` over every import statement, at any depth."""
    graph = {}
    for name, tree in TREES.items():
        edges = graph.setdefault(name, {})
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in resolve_import(name, node):
                    if target != name:
                        edges.setdefault(target, node.lineno)
    return graph


def import_cycles(graph):
    """Strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def _describe(group, graph):
    return "; ".join(f"{a} -> {b} (line {graph[a][b]})" for a in group for b in group if b in graph[a])


def test_the_graph_sees_relative_lazy_and_function_level_imports():
    graph = import_graph()
    assert len(MODULES) > 100
    assert "saltviewer.ensemble.levels" in graph["saltviewer.ensemble.members"]      # from .levels import ...
    assert "saltviewer.workspace" in graph["saltviewer.ensemble.members"]            # from ..workspace import ...
    assert "saltviewer.store" in graph["saltviewer.seismic.folder"]                  # inside a function
    assert "saltviewer.plugins._launch" in graph["saltviewer.cli.view"]              # from ..plugins import _launch
    # a name the training package loads lazily is an import of the module that defines it
    tree = ast.parse("from . import train_model\n")
    assert resolve_import("saltviewer.training.demo", tree.body[0]) == {"saltviewer.training.fit"}


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3, "d": 4}, "d": {}, "e": {"e": 5}}
    assert import_cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_no_source_module_is_over_600_lines(room):
    long = {str(path.relative_to(REPO)): lines for path in sorted(ROOMS[room].rglob("*.py"))
            if "__pycache__" not in path.parts
            and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these along their concepts (at most {MAX_LINES} lines each): {long}"


def test_no_import_cycle_among_saltviewers_modules():
    graph = import_graph()
    cycles = import_cycles(graph)
    assert not cycles, "import cycles: " + " | ".join(_describe(group, graph) for group in cycles)


def test_the_core_never_imports_training_or_the_plugins():
    graph = import_graph()
    wrong = [f"{module} imports {target} (line {line})" for module, targets in graph.items()
             if module.startswith("saltviewer.") or module == "saltviewer"
             if not module.startswith(("saltviewer.cli",) + ABOVE_THE_CORE)
             for target, line in targets.items() if target.startswith(ABOVE_THE_CORE)]
    assert not wrong, "the core must not depend on training or the plugins: " + "; ".join(wrong)
