"""``anonvma diff A B``: the kernel functions two variants define
differently, as a unified diff of their Python source.

A variant's function is whatever its class's MRO resolves the name to, so
the diff of two neighbouring eras is exactly the patch one class body
applies to the other: ``v3.0-rc2`` -> ``v3.0`` is dd34739c03f2's
``anon_vma_clone`` and nothing else.
"""

from __future__ import annotations

import difflib
import inspect
import textwrap


def kernel_functions(cls: type) -> dict[str, object]:
    """name -> the function ``cls`` runs under that name (nearest in MRO)."""
    funcs: dict[str, object] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if inspect.isfunction(value):
                funcs[name] = value
            elif name in funcs:
                del funcs[name]         # shadowed by something not a function
    return funcs


def differing_functions(a: type, b: type) -> list[str]:
    fa, fb = kernel_functions(a), kernel_functions(b)
    return sorted(name for name in fa.keys() | fb.keys() if fa.get(name) is not fb.get(name))


def _source(func) -> list[str]:
    if func is None:
        return []
    return textwrap.dedent(inspect.getsource(func)).splitlines(keepends=True)


def _where(cls: type, func) -> str:
    if func is None:
        return f"{cls.name} (not defined)"
    return f"{cls.name} {func.__qualname__} ({inspect.getsourcefile(func).rsplit('/src/', 1)[-1]})"


def variant_diff(a: type, b: type, context: int = 3) -> str:
    """A unified diff, one hunk group per function that differs."""
    fa, fb = kernel_functions(a), kernel_functions(b)
    out: list[str] = []
    for name in differing_functions(a, b):
        out.extend(difflib.unified_diff(_source(fa.get(name)), _source(fb.get(name)),
                                        _where(a, fa.get(name)), _where(b, fb.get(name)),
                                        n=context))
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
    return "".join(out)
