"""The shape of the source tree: no import circles, the kernel model apart
from its harness, and one definition of every kernel function."""

from __future__ import annotations

import ast
import inspect
import pathlib

from anonvma.kernel import Linux

SRC = pathlib.Path(__file__).resolve().parents[1] / "src"
HARNESS = ("anonvma.explore", "anonvma.checks", "anonvma.oracle", "anonvma.cli",
           "anonvma.session", "anonvma.demo", "anonvma.testing")


def modules() -> dict[str, pathlib.Path]:
    out = {}
    for p in (SRC / "anonvma").rglob("*.py"):
        name = ".".join(p.relative_to(SRC).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = p
    return out


def imports(name: str, path: pathlib.Path, known) -> set[str]:
    """The modules of the project that ``name`` imports (``from . import x``
    names the submodule x, not the package)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = {f"{target}.{a.name}" for a in node.names} & known
            out |= subs or ({target} & known)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names} & known
    out.discard(name)
    return out


def test_no_import_circles():
    mods = modules()
    graph = {m: imports(m, p, set(mods)) for m, p in mods.items()}
    state: dict[str, int] = {}

    def visit(m, path):
        state[m] = 1
        for n in graph[m]:
            assert state.get(n) != 1, "import circle: " + " -> ".join(path + [m, n])
            if n not in state:
                visit(n, path + [m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


def test_the_kernel_knows_nothing_of_its_harness():
    mods = modules()
    for m, p in mods.items():
        if m.startswith("anonvma.kernel"):
            assert not {i for i in imports(m, p, set(mods)) if i.startswith(HARNESS)}, m
            assert "greenlet" not in p.read_text(), m


def test_no_two_kernel_mixins_define_the_same_name():
    seen: dict[str, type] = {}
    for mixin in Linux.__mro__[1:]:
        if mixin is object:
            continue
        for name, value in vars(mixin).items():
            if name.startswith("__") or not inspect.isfunction(value):
                continue
            assert name not in seen, f"{name} is defined by {seen[name].__name__} and {mixin.__name__}"
            seen[name] = mixin


def test_every_document_reference_resolves():
    """Links between the documents, and every docs/NAME.md the code or the
    documents name, exist in the project."""
    import re
    root = SRC.parent
    texts = [root / "README.md", *(root / "docs").glob("*.md")]
    for doc in texts:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text()):
            assert (doc.parent / target).exists(), f"{doc.name}: link to {target}"
    named = set()
    for path in [*texts, *(SRC / "anonvma").rglob("*.py")]:
        named |= set(re.findall(r"docs/([\w-]+\.md)", path.read_text()))
    assert named and all((root / "docs" / name).exists() for name in named), named
