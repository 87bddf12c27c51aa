"""The shape of the code, read from the source with `ast` (nothing is imported, no Qt):
modules of at most 600 lines, no import cycle among saltviewer's own modules, a core that
never imports training or the plugins, and plugins laid out by dock (a package per dock that
reaches the others only through the shared package).

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
#: The plugin's docks, a package each (widget and Qt-free logic), and the package they share.
DOCKS = ("review", "mosaics", "retrain", "explore", "seismic")
SHARED = "common"
#: What stays at the top of plugins/: the package, `saltviewer view`'s launcher and the
#: manifest's reader, writers and sample data.
PLUGIN_TOP = ("saltviewer.plugins", "saltviewer.plugins._launch", "saltviewer.plugins._reader",
              "saltviewer.plugins._writer", "saltviewer.plugins._sample_data")


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


def _plugin_package(module):
    """The dock or shared package of a plugin module (``"review"``, ``"common"``...); None at the top."""
    return None if module in PLUGIN_TOP else module.split(".")[2]


def test_plugins_are_laid_out_by_dock():
    plugins = [m for m in MODULES if m.startswith("saltviewer.plugins")]
    stray = [m for m in plugins if m not in PLUGIN_TOP and _plugin_package(m) not in DOCKS + (SHARED,)]
    assert not stray, (f"put a dock's module in its package (plugins/<dock>/: {', '.join(DOCKS)}) and what "
                       f"several docks use in plugins/{SHARED}/: {stray}")
    missing = [dock for dock in DOCKS if f"saltviewer.plugins.{dock}.widget" not in MODULES]
    assert not missing, f"each dock's package holds its widget (widget.py): none in {missing}"


def test_docks_reach_each_other_only_through_the_shared_package():
    graph = import_graph()
    wrong = []
    for module, targets in graph.items():
        if not module.startswith("saltviewer.plugins") or module in PLUGIN_TOP:
            continue
        home = _plugin_package(module)
        allowed = {SHARED} if home == SHARED else {home, SHARED}
        wrong += [f"{module} imports {target} (line {line})" for target, line in targets.items()
                  if target.startswith("saltviewer.plugins") and _plugin_package(target) not in allowed]
    assert not wrong, (f"a dock imports its own package and plugins/{SHARED}/ only, and {SHARED}/ no dock "
                       "(move what two docks use into the shared package): " + "; ".join(wrong))


def _top_level_names(module):
    names = set()
    for node in TREES[module].body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return names


def test_the_manifest_names_functions_that_exist():
    text = (ROOMS["saltviewer.plugins"] / "napari.yaml").read_text(encoding="utf-8")
    named = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.strip().startswith("python_name:")]
    assert len(named) >= 10
    wrong = [name for name in named if (module := name.split(":")[0]) not in MODULES
             or name.split(":")[1] not in _top_level_names(module)]
    assert not wrong, f"napari.yaml names what its modules do not define: {wrong}"


def test_child_processes_run_modules_that_exist():
    """Every ``[sys.executable, "-m", "saltviewer..."]`` in the source names one of our modules."""
    started = []
    for module, tree in TREES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.List):
                values = [item.value if isinstance(item, ast.Constant) else None for item in node.elts]
                started += [(module, name) for flag, name in zip(values, values[1:])
                            if flag == "-m" and isinstance(name, str) and name.startswith("saltviewer")]
    wrong = [f"{module} runs -m {name}" for module, name in started if name not in MODULES]
    assert not wrong, "no such module: " + "; ".join(wrong)
    assert {name for _, name in started} >= {"saltviewer.plugins.retrain.train_process",
                                             "saltviewer.plugins.common.job_process"}
