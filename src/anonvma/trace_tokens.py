"""The vocabulary of the trace lines (docs/scenario-format.md): which kernel
function allocates or frees an rmap object, and what its caller is called.

One table for both sides of every comparison: the model's sink
(``trace.TraceLines``) reads it with the model's function names, the
oracle's renderer (``oracle.events``) with the live kernel's stack traces.
Names are the kernel's (``__split_vma``); the model spells a leading double
underscore as one (``_split_vma``), which ``kernel_name`` undoes.
"""

from __future__ import annotations

# The slab caches of rmap objects and their kind in tokens.
RMAP_CACHES = {"anon_vma": "AV", "anon_vma_chain": "AVC"}

# Function that allocates or frees -> its site in tokens; "u" is
# unlink_anon_vmas, whose two loops are told apart as u1 and u2.
SITES = {
    "__anon_vma_prepare": "prep",
    "anon_vma_clone": "clone",
    "anon_vma_fork": "fork",
    "unlink_anon_vmas": "u",
    "__put_anon_vma": "put",
}

# Helpers the kernel inlines into their callers, so its stack traces never
# show them: the caller stands for them.
INLINED = frozenset({
    "anon_vma_alloc", "anon_vma_free", "anon_vma_chain_alloc", "anon_vma_chain_free",
    "put_anon_vma", "anon_vma_merge", "dontunmap_complete",
})

# Every function of mm/rmap.c that allocates or frees rmap objects.
RMAP_FUNCTIONS = frozenset(SITES) | {"anon_vma_alloc", "anon_vma_free", "anon_vma_chain_alloc",
                                     "anon_vma_chain_free"}

# The caller of anon_vma_clone() -> the name after "clone/".  On 6.18
# dup_anon_vma() is inlined (through vma_merge_existing_range) into
# vma_modify(), and may be into vma_expand(); neither reaches
# anon_vma_clone() any other way.
CLONE_CALLERS = {
    "anon_vma_fork": "fork",
    "__split_vma": "split",
    "copy_vma": "copy_vma",
    "dup_anon_vma": "dup",
    "vma_merge_existing_range": "dup",
    "vma_modify": "dup",
    "vma_expand": "dup",
}

# The caller of unlink_anon_vmas() -> the name after "u1/" or "u2/".
UNLINK_CALLERS = {
    "free_pgtables": "pgt",
    "vma_complete": "merge",
    "move_vma": "move_vma",
    "dontunmap_complete": "move_vma",
    "anon_vma_clone": "err",
    "anon_vma_fork": "err",
}


def kernel_name(name: str) -> str:
    """The kernel's name of a model function (``_split_vma`` -> ``__split_vma``)."""
    return "_" + name if name.startswith("_") and not name.startswith("__") else name
