"""A user's patch as a variant: a class that subclasses an era and
overrides the kernel functions the patch changes.

    --variant mypatch.py:NoNowait           a Python file, and the class in it
    --variant mypkg.rmap_patch:NoNowait     an importable module, and the class
    [project.entry-points."anonvma.variants"]
    no-nowait = "mypkg.rmap_patch:NoNowait" an installed package registers a name

A patch that cannot be used (no such file, an import or syntax error in it,
no such class, a class that is not an era, a name that is already an era's)
raises ``UnknownVariant`` with a message naming the file and the line, which the
command prints as one line and exit status 2.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import traceback
from pathlib import Path

from ..kernel import Linux

ENTRY_POINT_GROUP = "anonvma.variants"

# (resolved file or module, class name) -> the class: a patch file is
# executed once, so every command and every kernel of a run see one class.
_loaded: dict[tuple[str, str], type] = {}


class UnknownVariant(LookupError):
    """A variant name or patch that cannot be used; the message says why and
    where (FILE:LINE for a patch)."""


def is_user_spec(name: str) -> bool:
    """``PATH.py:Class`` or ``package.module:Class``."""
    return ":" in name


def resolve_spec(spec: str, relative_to: str | None) -> str:
    """``spec`` with a relative ``PATH.py`` made relative to the directory
    ``relative_to`` (a scenario file's), so it names the same file from any
    working directory."""
    where, _, cls = spec.rpartition(":")
    if relative_to is None or not where.endswith(".py") or Path(where).is_absolute():
        return spec
    return f"{Path(relative_to, where).resolve()}:{cls}"


def _where_raised(exc: BaseException, filename: str) -> int | None:
    """The line of ``filename`` that raised ``exc`` (the deepest frame in it)."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    return lines[-1] if lines else None


def _load_module(where: str):
    """The module of a spec: executed from a file, or imported by name."""
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise UnknownVariant(f"{where}: no such patch file")
        filename = str(path.resolve())
        modname = "anonvma_patch_" + "".join(c if c.isalnum() else "_" for c in filename)
        module_spec = importlib.util.spec_from_file_location(modname, filename)
        module = importlib.util.module_from_spec(module_spec)
        # registered before it runs, as an import would: dataclasses and
        # pickling look classes up by module
        sys.modules[modname] = module
        try:
            module_spec.loader.exec_module(module)
        except SyntaxError as e:
            del sys.modules[modname]
            raise UnknownVariant(f"{where}:{e.lineno}: syntax error in the patch: "
                                 f"{e.msg}") from None
        except Exception as e:
            del sys.modules[modname]
            line = _where_raised(e, filename)
            raise UnknownVariant(f"{where}:{line}: the patch fails to load: "
                                 f"{type(e).__name__}: {e}") from None
        return module
    try:
        return importlib.import_module(where)
    except SyntaxError as e:
        raise UnknownVariant(f"{e.filename}:{e.lineno}: syntax error in the patch: "
                             f"{e.msg}") from None
    except ModuleNotFoundError as e:
        if e.name and (where == e.name or where.startswith(e.name + ".")):
            raise UnknownVariant(f"{where}: no module named {e.name!r}: install the package, or "
                      "write a file as PATH.py:Class") from None
        raise _import_failure(e, where) from None
    except Exception as e:
        raise _import_failure(e, where) from None


def _import_failure(e: BaseException, where: str):
    frames = traceback.extract_tb(e.__traceback__)
    # the last frame outside the import machinery is the patch's own line
    mine = [f for f in frames if "importlib" not in f.filename]
    at = f"{mine[-1].filename}:{mine[-1].lineno}" if mine else where
    return UnknownVariant(f"{at}: the patch {where} fails to load: {type(e).__name__}: {e}")


def _place(cls: type, source: str | None) -> str:
    """FILE:LINE of a class statement, FILE as the user wrote it if given."""
    try:
        return f"{source or inspect.getsourcefile(cls)}:{inspect.getsourcelines(cls)[1]}"
    except (OSError, TypeError):
        return source or cls.__module__


def adopt(cls, spec: str, name: str, builtin: dict[str, type], source: str | None) -> type:
    """Check that ``cls`` is an era's subclass and that no built-in era has
    its name; give it ``name`` and a description when its body has none.
    ``source`` names the patch file in messages."""
    if not (isinstance(cls, type) and issubclass(cls, Linux)):
        what = f"class {cls.__name__}" if isinstance(cls, type) else f"{type(cls).__name__} object"
        at = _place(cls, source) if isinstance(cls, type) else source or spec
        raise UnknownVariant(f"{at}: {spec} is a {what}, not a kernel era: write 'class "
                             f"{spec.rpartition(':')[2]}(Linux_3_0_rc2)' or another era of "
                             "'anonvma variants'")
    if cls in builtin.values():
        return cls                          # an era named by its module path
    own = vars(cls).get("name")
    if own in builtin:
        raise UnknownVariant(f"{_place(cls, source)}: {spec} names itself {own!r}, which is a "
                             "built-in era: choose another name, or leave 'name' out")
    if name in builtin:
        raise UnknownVariant(f"{_place(cls, source)}: the variant name {name!r} of {spec} is a "
                             "built-in era's: register it under another name")
    if own is None:
        cls.name = name
    if "description" not in vars(cls):
        base = next(k for k in cls.__mro__[1:] if k in builtin.values())
        doc = inspect.getdoc(cls)
        cls.description = (doc.splitlines()[0] if doc else "a user patch") + f" (over {base.name})"
    return cls


def load_user_variant(spec: str, builtin: dict[str, type], name: str | None = None) -> type:
    """The class a ``PATH.py:Class`` or ``module:Class`` spec names."""
    where, _, attr = spec.rpartition(":")
    if not where or not attr.isidentifier():
        raise UnknownVariant(f"bad variant {spec!r}: write an era of 'anonvma variants', "
                             "PATH.py:Class or package.module:Class")
    source = where if where.endswith(".py") else None
    key = (str(Path(where).resolve()) if source else where, attr)
    cls = _loaded.get(key)
    if cls is None:
        module = _load_module(where)
        cls = getattr(module, attr, None)
        if cls is None:
            eras = sorted(n for n, v in vars(module).items() if isinstance(v, type)
                          and issubclass(v, Linux) and v.__module__ == module.__name__)
            raise UnknownVariant(f"{source or module.__file__}: no class {attr!r} in it"
                                 + (f"; it defines {', '.join(eras)}" if eras else ""))
    # checked again under each name it is asked for (a registered name may clash)
    _loaded[key] = adopt(cls, spec, name or spec, builtin, source)
    return cls


def entry_point_specs() -> dict[str, str]:
    """name -> ``module:Class`` of every variant installed packages register."""
    import importlib.metadata       # tens of ms at start: only for a name no era has

    return {ep.name: ep.value for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
