"""The anon_vma hierarchy as a Graphviz picture (``anonvma graph``).

    process cluster:  VMA --same_vma--> AVC --anon_vma--> AV
                      VMA --anon_vma--> AV            (vma->anon_vma)
    AV --root--> AV, AV --parent--> AV                (6.18; 3.0 has no parent)
    folios --mapping--> AV                            (the folios whose mapping is AV)

Each AV's label carries its counters and what its interval tree (the list
``head`` in 3.0 and 2.6.39) holds, so a chain that disagrees with the tree
shows.  Objects are named as the trace names them (``AV3``, ``AVC5``), VMAs
and pages by scenario page numbers.  The stacks are left out: they exist
before the scenario's first line, so the trace has no names for them.
"""

from __future__ import annotations

import graphviz

from ..kernel.include.mm import PAGE_SHIFT
from ..scenario import BASE, SCENARIO_END

FOLIOS_SHOWN = 8        # pages listed in a folio node; more are counted


def _page(addr: int) -> int:
    return (addr - BASE) >> PAGE_SHIFT


def _in_scenario(vma) -> bool:
    return BASE <= vma.vm_start < SCENARIO_END


def _range(vma) -> str:
    return f"[{_page(vma.vm_start)}-{_page(vma.vm_end)})"


def _tree(av):
    """The AVCs an anon_vma's interval tree (or, before 3.7, list) holds."""
    return list(av.rb_root) if hasattr(av, "rb_root") else list(av.head)


def _av_label(av, name_of, owner) -> str:
    lines = [name_of(av) + ("  (root)" if av.root is av else ""), f"refcount {av.refcount}"]
    for counter in ("num_children", "num_active_vmas"):
        if hasattr(av, counter):
            lines.append(f"{counter} {getattr(av, counter)}")
    held = [f"{name_of(avc)} {owner.get(id(avc.vma.vm_mm), '?')} {_range(avc.vma)}"
            for avc in _tree(av)]
    kind = "tree: " if hasattr(av, "rb_root") else "list: "
    lines.append(kind + (held[0] if held else "(empty)"))
    lines.extend("      " + h for h in held[1:])
    return "\\l".join(lines) + "\\l"


def hierarchy_graph(kernel, name_of, title: str = "") -> graphviz.Digraph:
    """Every process's VMAs and chains, every live anon_vma, and the
    mapped folios, as a graph whose node names are the trace's names
    (``AV1``, ``AVC2``), ``P0_vma0`` for P0's VMA at page 0 and
    ``folios_AV1`` for the folios mapped by AV1."""
    g = graphviz.Digraph("anon_vma", graph_attr={"rankdir": "LR", "label": title,
                                                  "labelloc": "t", "fontname": "Helvetica"},
                         node_attr={"fontname": "Helvetica", "fontsize": "10"},
                         edge_attr={"fontname": "Helvetica", "fontsize": "8"})
    owner: dict[int, str] = {}
    mms = []
    for tsk in kernel.tasks:
        if tsk.mm is not None and id(tsk.mm) not in owner:
            owner[id(tsk.mm)] = tsk.comm
            mms.append((tsk, tsk.mm))
    folios: dict[int, list] = {}
    for tsk, mm in mms:
        comm = owner[id(mm)]
        with g.subgraph(name=f"cluster_{comm}") as c:
            c.attr(label=f"{comm} (pid {tsk.pid})", style="rounded", color="gray50")
            for vma in filter(_in_scenario, mm.mm_mt):
                vid = f"{comm}_vma{_page(vma.vm_start)}"
                c.node(vid, f"{_range(vma)} {kernel.show_map_vma(vma)[2]}", shape="box",
                       style="filled", fillcolor="lightyellow")
                # the chain, newest first as list_for_each walks it
                for avc in vma.anon_vma_chain:
                    c.node(name_of(avc), name_of(avc), shape="ellipse", style="filled",
                           fillcolor="lightblue")
                    g.edge(vid, name_of(avc), label="same_vma")
                    g.edge(name_of(avc), name_of(avc.anon_vma), label="anon_vma", color="steelblue")
                if vma.anon_vma is not None:
                    g.edge(vid, name_of(vma.anon_vma), label="vma->anon_vma", style="bold")
        for pte in mm.pgd.values():
            f = getattr(pte, "folio", None)
            if f is not None and f.mapping is not None:
                folios.setdefault(id(f.mapping), {})[id(f)] = f
    for av in kernel.anon_vma_cachep.live:
        tree = _tree(av)
        if tree and not any(_in_scenario(avc.vma) for avc in tree):
            continue                    # a stack's
        name = name_of(av)
        g.node(name, _av_label(av, name_of, owner), shape="box",
               style="filled,bold" if av.root is av else "filled",
               fillcolor="palegreen" if av.root is av else "honeydew")
        if av.root is not av:
            g.edge(name, name_of(av.root), label="root", style="dashed", color="darkgreen")
        parent = getattr(av, "parent", av)
        if parent is not av and parent is not None:
            g.edge(name, name_of(parent), label="parent", color="darkgreen")
        mapped = sorted(folios.get(id(av), {}).values(), key=lambda f: f.index)
        if mapped:
            pages = [f"page {f.index - (BASE >> PAGE_SHIFT)} (pfn {f.pfn:#x})"
                     for f in mapped[:FOLIOS_SHOWN]]
            if len(mapped) > FOLIOS_SHOWN:
                pages.append(f"and {len(mapped) - FOLIOS_SHOWN} more")
            noun = "folio" if len(mapped) == 1 else "folios"
            g.node(f"folios_{name}", f"{len(mapped)} {noun}\\l" + "\\l".join(pages) + "\\l",
                   shape="note", style="filled", fillcolor="mistyrose")
            g.edge(f"folios_{name}", name, label="mapping", color="firebrick")
    return g


def run_until(sc, variant: str | None = None, line: int | None = None):
    """Run the plain scenario ``sc`` on a kernel of its era up to and with
    the operation on ``line`` (all of it without one); the kernel and the
    trace sink that names its objects."""
    from ..session import Config, Session
    machine = Session(sc, Config(variant=variant, checks=False, lockdep=False)).boot()
    machine.run_steps(until=line)
    return machine.kernel, machine.trace_lines
