"""House rules of the source tree, checked on the text of `zoo/` (ast), not by importing its modules
(except where the rule is about what an import gives: the names of `__all__`).

1. No auto-import of project modules (`importlib.import_module`, `__import__`, `pkgutil`): static readers
   and IDEs must be able to follow every import.
2. Every package `__init__.py` under `zoo/` defines `__all__` as literal lists of strings, binds every name
   of it with an explicit import or definition, and `import zoo` gives every one of them.
3. No module imports a `_private` name of another zoo module, unless that module is a helper module
   whose file name starts with "_" (`losses/_common.py`, `zoo/_checks.py` ...).
4. No `matplotlib.use(...)` / `pyplot.switch_backend(...)` in `zoo/`: a library never switches the user's
   matplotlib backend.
5. At most one public (not `_`-prefixed) module-level class per module file, apart from exception classes,
   classes of `_` helper modules (not public API) and `ALLOWED_CLASSES`.
6. No import cycle between zoo modules (module-level imports; a package `__init__` that imports its
   children is fine as long as no child imports back through that `__init__`).
"""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = os.path.join(ROOT, "zoo")

# Files allowed more than one public class: {path relative to the repository: {class: reason}}, e.g.
# {"zoo/x/y.py": {"Z": "why Z lives next to Y"}}. Empty: every module holds at most one today.
ALLOWED_CLASSES: dict[str, dict[str, str]] = {}
# Exception classes declared next to the function that raises them do not count as a module's class.
EXCEPTION_BASES = ("Exception", "Error", "Warning")


def _module_name(path):
    rel = os.path.relpath(path, ROOT)[: -len(".py")].split(os.sep)
    if rel[-1] == "__init__":
        rel = rel[:-1]
    return ".".join(rel)


def _sources():
    out = {}
    for folder, dirs, files in os.walk(ZOO):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    out[_module_name(path)] = (path, ast.parse(f.read(), filename=path))
    return out


SOURCES = _sources()
PACKAGES = sorted(m for m, (p, _) in SOURCES.items() if p.endswith("__init__.py"))


def _rel(path):
    return os.path.relpath(path, ROOT)


def _is_package(module):
    return module in SOURCES and SOURCES[module][0].endswith("__init__.py")


def _resolve(module, node):
    """The absolute module name of an `ImportFrom` (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not _is_package(module):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _helper_module(module):
    """A module meant to be imported for its `_private` helpers: its own name starts with "_"."""
    return _private(module.rsplit(".", 1)[-1])


def _module_level_imports(tree):
    """Import statements run at import time (module body, including `if`/`try` blocks, not in functions)."""
    todo = list(tree.body)
    while todo:
        node = todo.pop(0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, field, []):
                    todo.extend(child.body if isinstance(child, ast.ExceptHandler) else [child])


def _call_name(call):
    func = call.func
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else None
        return owner, func.attr
    if isinstance(func, ast.Name):
        return None, func.id
    return None, None


# --- 1. no auto-import ---------------------------------------------------------------------------------


def _auto_imports(module, tree):
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] == "pkgutil"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pkgutil":
            found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.Call):
            _, name = _call_name(node)
            if name in ("import_module", "__import__", "iter_modules", "walk_packages"):
                arg = node.args[0] if node.args else None
                literal = isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                # a literal third-party name (an optional dependency) is fine; anything else is not
                if not literal or arg.value.split(".")[0] == "zoo" or arg.value.startswith("."):
                    found.append(f"{name}(...) at line {node.lineno}")
    return found


def test_no_auto_import_of_project_modules():
    bad = {_rel(path): hits for module, (path, tree) in SOURCES.items() if (hits := _auto_imports(module, tree))}
    assert not bad, f"auto-imports (write explicit imports instead): {bad}"


# --- 2. explicit __all__ in every package ----------------------------------------------------------------


def _static_all(tree):
    """(names, problems): the literal names assigned / added to `__all__` at module level."""
    names, problems = [], []
    for node in tree.body:
        targets, value = [], None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets, value = [node.target], node.value
        if not any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            continue
        if isinstance(value, (ast.List, ast.Tuple)) and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts):
            names += [e.value for e in value.elts]
        else:
            problems.append(f"line {node.lineno}: `__all__` is not a literal list of strings")
    return names, problems


def _bound_names(tree):
    bound = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            bound |= {a.asname or a.name for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                bound |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
    for node in _module_level_imports(tree):
        bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return bound


@pytest.mark.parametrize("package", PACKAGES)
def test_package_init_has_an_explicit_all(package):
    path, tree = SOURCES[package]
    names, problems = _static_all(tree)
    assert names or problems, f"{_rel(path)} defines no `__all__`"
    assert not problems, f"{_rel(path)}: {problems}"
    unbound = sorted(set(names) - _bound_names(tree))
    assert not unbound, f"{_rel(path)}: `__all__` names not imported or defined in the file: {unbound}"
    assert len(names) == len(set(names)), f"{_rel(path)}: `__all__` lists a name twice"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_name_of_all_is_reachable_from_import_zoo(package):
    import zoo

    obj = zoo
    for part in package.split(".")[1:]:
        assert hasattr(obj, part), f"`import zoo` does not reach {package}"
        obj = getattr(obj, part)
    missing = [name for name in obj.__all__ if not hasattr(obj, name)]
    assert not missing, f"{package}.__all__ names that are not attributes: {missing}"


def test_import_zoo_reaches_every_subpackage():
    import zoo

    for name in ("geometry", "layers", "losses", "data", "backbones", "heads", "metrics", "callbacks", "viz",
                 "prototypes"):
        assert name in zoo.__all__ and hasattr(zoo, name), name


# --- 3. no private helpers imported from a sibling's leaf module ---------------------------------------------


def _private_imports(module, tree):
    found = []
    zoo_modules = {}  # local name -> zoo module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "zoo" and a.asname:
                    zoo_modules[a.asname] = a.name
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            if source.split(".")[0] != "zoo":
                continue
            for a in node.names:
                target = f"{source}.{a.name}"
                if target in SOURCES:  # a module: its attributes are checked below
                    zoo_modules[a.asname or a.name] = target
                    if _private(a.name) or _helper_module(source):
                        continue
                if _private(a.name) and source != module and not _helper_module(source):
                    found.append(f"from {source} import {a.name} (line {node.lineno})")
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr)
                and node.value.id in zoo_modules):
            source = zoo_modules[node.value.id]
            if source != module and not _helper_module(source):
                found.append(f"{node.value.id}.{node.attr} of {source} (line {node.lineno})")
    return found


def test_no_private_helpers_imported_from_another_module():
    bad = {_rel(path): hits for module, (path, tree) in SOURCES.items()
           if (hits := _private_imports(module, tree))}
    assert not bad, ("private names used from another module (move the helper to a `_`-prefixed helper module "
                     f"such as `_common.py`, or `zoo/_checks.py`): {bad}")


# --- 4. no matplotlib backend switch ------------------------------------------------------------------


def test_no_matplotlib_backend_switch():
    bad = []
    for path, tree in SOURCES.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                owner, name = _call_name(node)
                if (owner == "matplotlib" and name == "use") or name == "switch_backend":
                    bad.append(f"{_rel(path)}:{node.lineno}")
            elif isinstance(node, ast.ImportFrom) and node.module == "matplotlib":
                bad += [f"{_rel(path)}:{node.lineno}" for a in node.names if a.name == "use"]
    assert not bad, f"matplotlib backend switched in: {bad}"


# --- 5. one public class per file ------------------------------------------------------------------------


def _is_exception(cls):
    return any((isinstance(b, ast.Name) and b.id.endswith(EXCEPTION_BASES))
               or (isinstance(b, ast.Attribute) and b.attr.endswith(EXCEPTION_BASES)) for b in cls.bases)


def test_at_most_one_public_class_per_module():
    bad = {}
    for module, (path, tree) in SOURCES.items():
        if _helper_module(module):  # a `_` helper module's classes are not public API (e.g. layer bases)
            continue
        allowed = ALLOWED_CLASSES.get(_rel(path).replace(os.sep, "/"), {})
        public = [n.name for n in tree.body if isinstance(n, ast.ClassDef) and not _private(n.name)
                  and not _is_exception(n) and n.name not in allowed]
        if len(public) > 1:
            bad[_rel(path)] = public
    assert not bad, f"modules with more than one public class (split them, or allow-list with a reason): {bad}"


def test_allow_list_is_current():
    for rel, classes in ALLOWED_CLASSES.items():
        path = os.path.join(ROOT, *rel.split("/"))
        assert os.path.exists(path), f"allow-listed file is gone: {rel}"
        with open(path, encoding="utf-8") as f:
            defined = {n.name for n in ast.parse(f.read()).body if isinstance(n, ast.ClassDef)}
        assert set(classes) <= defined, f"{rel}: allow-listed classes no longer there: {set(classes) - defined}"


# --- 6. no import cycles -------------------------------------------------------------------------------


def _import_graph():
    graph = {}
    for module, (_, tree) in SOURCES.items():
        edges = set()
        for node in _module_level_imports(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                source = _resolve(module, node)
                targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in SOURCES else source
                           for a in node.names]
            edges |= {t for t in targets if t in SOURCES and t != module}
        graph[module] = edges
    return graph


def test_no_import_cycles():
    graph, state, cycles = _import_graph(), {}, []

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


# --- the checkers catch what they are meant to catch ---------------------------------------------------


def test_checkers_on_examples():
    def tree(text):
        return ast.parse(text)

    assert _auto_imports("zoo.x", tree("import importlib\nimportlib.import_module(f'zoo.{n}')"))
    assert _auto_imports("zoo.x", tree("import pkgutil"))
    assert _auto_imports("zoo.x", tree("__import__('zoo.layers')"))
    assert not _auto_imports("zoo.x", tree("import importlib\nimportlib.import_module('keras_hub')"))

    assert _private_imports("zoo.heads.poincare", tree("from zoo.layers.hyperbolic_mlr import _PoincareClassifier"))
    assert _private_imports("zoo.losses.cosface", tree("from zoo.losses import arcface\narcface._theta_of(x)"))
    assert _private_imports("zoo.losses.cosface", tree("from .arcface import _theta_of"))
    assert not _private_imports("zoo.losses.cosface", tree("from zoo.losses._common import _theta_of"))
    assert not _private_imports("zoo.losses.cosface", tree("from zoo.losses import _common\n_common._x(1)"))
    assert not _private_imports("zoo.layers.x", tree("from zoo._checks import check_int"))

    assert _static_all(tree("__all__ = export_modules(__name__)"))[1]
    assert _static_all(tree("__all__ = ['a']\n__all__ += ['b']")) == (["a", "b"], [])
    assert _bound_names(tree("from zoo.a import b as c\nimport zoo.d\ndef e(): pass")) >= {"c", "zoo", "e"}
