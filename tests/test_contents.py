"""CONTENTS.md stays true: it lists every public name of the zoo, only real ones, in the files that hold them.

A section of CONTENTS.md is a heading naming a namespace, e.g. "## `zoo.layers`" or
"### `zoo.geometry.poincare`"; its rows are `| `Name` | what | paper | `file` |`. Rows whose name is a quoted
string (`"softmax"`) list registry names (heads, backbones).

Checked: every name in the `__all__` of every `zoo` package, and of every module such a package exports that
has a non-empty `__all__`, has a row in a section whose namespace holds the same object; every row names an
attribute of its section's namespace; the file of a class, function or module row is the file that defines
it; every file named exists; every registered head and backbone name has a row.
"""

import functools
import inspect
import os
import re

import pytest

import zoo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTENTS = os.path.join(ROOT, "CONTENTS.md")

_HEADING = re.compile(r"^#{2,4} `(zoo(?:\.\w+)*)`\s*$")
_ROW = re.compile(r"^\| ([^|]+) \|.*\| `([^`]+)` \|\s*$")


def _sections():
    """{namespace: {name: file}} and [(registry name, file)] from CONTENTS.md."""
    sections, registry_rows, current = {}, [], None
    with open(CONTENTS, encoding="utf-8") as f:
        for line in f:
            heading = _HEADING.match(line)
            if heading:
                current = heading.group(1)
                sections.setdefault(current, {})
                continue
            if line.startswith("#"):
                current = None  # e.g. "### Head names (...)": registry tables, not a namespace
            row = _ROW.match(line)
            if not row:
                continue
            first, path = row.group(1), row.group(2)
            quoted = re.findall(r'`"([^"`]+)"`', first)
            if quoted:
                registry_rows += [(name, path) for name in quoted]
            elif current is not None and re.fullmatch(r"`\w+`", first.strip()):
                sections[current][first.strip().strip("`")] = path
    return sections, registry_rows


def _packages():
    """Dotted names of every package under zoo/ (from the folders, so none is missed)."""
    names = []
    for folder, dirs, files in os.walk(os.path.join(ROOT, "zoo")):
        dirs[:] = [d for d in dirs if not d.startswith((".", "__"))]
        if "__init__.py" in files:
            names.append(os.path.relpath(folder, ROOT).replace(os.sep, "."))
    return sorted(names)


def _namespace(dotted):
    """The module `dotted` as reached from a plain `import zoo` (attribute by attribute), or None."""
    obj = zoo
    for part in dotted.split(".")[1:]:
        obj = getattr(obj, part, None)
    return obj if inspect.ismodule(obj) else None


@functools.cache
def _exported_namespaces():
    """Every package of zoo, and the modules they export whose own `__all__` is non-empty."""
    spaces = {}
    for name in _packages():
        module = _namespace(name)
        assert module is not None, f"`import zoo` does not reach {name}"
        spaces[name] = module
        for attr in getattr(module, "__all__", []):
            value = getattr(module, attr)
            if inspect.ismodule(value) and getattr(value, "__all__", None):
                spaces[value.__name__] = value
    return spaces


SECTIONS, REGISTRY_ROWS = _sections()


def _defining_file(obj):
    try:
        path = inspect.getsourcefile(inspect.unwrap(obj))  # through decorators (e.g. contextlib.contextmanager)
    except TypeError:
        return None
    return os.path.relpath(path, ROOT) if path else None


def test_every_package_has_all():
    missing = [name for name in _packages() if not hasattr(_namespace(name), "__all__")]
    assert not missing, f"packages without __all__: {missing}"


@pytest.mark.parametrize("namespace", sorted(_exported_namespaces()))
def test_every_public_name_has_a_row(namespace):
    module = _exported_namespaces()[namespace]
    missing = []
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        listed = any(name in rows and getattr(_namespace(ns), name, object()) is obj
                     for ns, rows in SECTIONS.items())
        if not listed:
            missing.append(f"| `{name}` | ... | ... | `{_defining_file(obj) or '?'}` |")
    assert not missing, f"CONTENTS.md lacks rows for {namespace}.__all__ (add them under `{namespace}`):\n" + \
        "\n".join(missing)


def test_rows_name_real_objects_in_their_files():
    problems = []
    for namespace, rows in SECTIONS.items():
        module = _namespace(namespace)
        if module is None:
            problems.append(f"section `{namespace}` is not a module reached by `import zoo`")
            continue
        for name, path in rows.items():
            if not os.path.exists(os.path.join(ROOT, path)):
                problems.append(f"{namespace}.{name}: file {path} does not exist")
            if not hasattr(module, name):
                problems.append(f"{namespace}.{name}: no such attribute")
                continue
            defining = _defining_file(getattr(module, name))
            if defining is not None and defining != path:
                problems.append(f"{namespace}.{name}: defined in {defining}, CONTENTS.md says {path}")
    assert not problems, "\n".join(problems)


def test_registry_names_have_rows():
    listed = dict(REGISTRY_ROWS)
    missing = [f"head {n!r}" for n in zoo.heads.available() if n not in listed]
    missing += [f"backbone {n!r}" for n in zoo.backbones.available() if n not in listed]
    assert not missing, f"CONTENTS.md lacks rows for {missing}"
    absent = [path for _, path in REGISTRY_ROWS if not os.path.exists(os.path.join(ROOT, path))]
    assert not absent, f"CONTENTS.md names missing files {absent}"
