"""The invariants after a step, scoped to what the step touched.

The full check (invariants.py) walks every VMA's chain and every anon_vma's
interval tree after every step: every anon_vma_chain, of which a fork chain
of depth n keeps n^2/2, so ``run`` on it was cubic.  Its other parts are
linear in the VMAs, anon_vmas and page tables (the counters I-8a, I-10,
I-11, I-12, the freed roots and parents of I-8, rmap I-6/I-7) and stay
whole here.  What is scoped is the AVC part: ``check_chains`` (I-1, I-2,
I-3, I-4, I-8 on chains, I-9) and the tree half of I-1, "no foreign or
freed AVC in an anon_vma's tree".

The report is the full check's, line for line: a step after which the AVC
part is *suspect* gets the full walk (and its text); one after which it is
not gets the full check without the AVC part, which is then what the full
check would have said, since a clean AVC part adds no line.  So the only
obligation is soundness: whenever the full AVC part would report, the
scoped one is suspect.  A false suspicion only costs one full walk.

The scoping rule, and why it is sound.  A verdict is kept per VMA (its
chain is sound) and per linked AVC (its tree links are sound), and is
recomputed when something it reads changed:

* A VMA's chain verdict reads the VMA (vm_start, vm_end, vm_pgoff,
  anon_vma, freed), its chain (the list), the AVCs on it (vma, anon_vma,
  rb, cached_vma_start/last, freed) and their anon_vmas (root, freed).
  Each step compares the first three against what the verdict was computed
  from (the chain by list equality, identities compared in C) and the
  anon_vmas the live chains name against theirs: O(VMAs + anon_vmas).
* AVC fields are watched: after an AVC's allocation, its class is swapped
  for a subclass whose ``__setattr__`` records the write, as KASAN's poison
  swaps it (same slots, same behaviour; the checker's subclass only adds a
  set insertion).  A write to one of the fields above makes the VMAs whose
  chains hold the AVC recomputed; a write to its tree links (rb_parent,
  rb_left, rb_right) makes its tree verdict, and its parent's, recomputed.
  Allocations and frees come from the ``kmem_cache_alloc``/``free``
  tracepoints, the slab's only ways in and out, and count as writes.
* I-1's "each live AVC is on exactly one live VMA's chain" and I-9 are
  kept as counts over the chains' last-seen contents, adjusted when a chain
  is recomputed or a VMA leaves every live mm.
* The tree: a linked AVC's tree verdict is that it is not freed and that
  its children point back at it and belong to its anon_vma; a live
  anon_vma's verdict, that its ``rb_node`` (compared each step) is a root
  of its own, not freed, and its ``rb_leftmost`` hangs below it.  If they
  all hold, every AVC a walk from ``rb_leftmost`` reaches belongs to the
  tree's anon_vma and is not freed, by induction down the tree.  A verdict
  reads the AVC and its children: a write to either recomputes it (a child
  written recomputes the parent it names, which, the tree's shape being
  kept, is the AVC whose child pointer names it).  Like the full check, this one takes the tree's shape as
  the treap keeps it (``anon_vma_interval_tree_check``: a parent's child
  pointers are mirrored by the children's parent pointers); a tree broken
  in its shape is the treap's assertion to report, not an invariant here.

A step's scoped check costs O(VMAs + anon_vmas + PTEs) and, per written
AVC, its chain or its depth in the tree: a fork of the n-th process of a
chain pays for its n new AVCs, as the fork itself does.

The list eras (2.6.34 - 3.6) have no tree but ``anon_vma->head``, an
unordered set of AVCs: each step compares every live anon_vma's head with
a copy (a tuple, compared in C), an AVC that joined or left one counts as
written, and the
tree verdicts give way to one per head membership (the AVC is not freed and
belongs to that anon_vma), recomputed when the AVC is written.

Neither the watch nor the verdicts pickle, so an exploration (whose
prefix snapshot pickles the checkers) keeps the full check too.
"""

from __future__ import annotations

from collections import Counter

from .common import live_vmas
from .invariants import check_invariants, check_invariants_interval_tree, in_tree
from .invariants_3_0 import check_invariants_3_0, in_list

# anon_vma_chain fields that a chain verdict reads, and the tree links
CHAIN_FIELDS = frozenset(("vma", "anon_vma", "rb", "cached_vma_start", "cached_vma_last",
                          "freed"))
TREE_LINKS = frozenset(("rb_parent", "rb_left", "rb_right"))


class AvcWatch:
    """The anon_vma_chains written since the last check: ``fields`` those
    with a CHAIN_FIELDS write, ``links`` those with a TREE_LINKS write."""

    def __init__(self):
        self.fields: set = set()
        self.links: set = set()
        self.watched: dict[type, type] = {}     # object type -> its watched subclass

    def watch(self, avc, object_type: type) -> None:
        watched = self.watched.get(object_type)
        if watched is None:
            fields, links = self.fields, self.links

            def __setattr__(obj, name, value):
                if name in CHAIN_FIELDS:
                    fields.add(obj)
                elif name in TREE_LINKS:
                    links.add(obj)
                object.__setattr__(obj, name, value)

            watched = type(object_type.__name__, (object_type,), {
                "__slots__": (), "__setattr__": __setattr__,
                "__module__": object_type.__module__})
            self.watched[object_type] = watched
        if type(avc) is object_type:
            avc.__class__ = watched


class VmaVerdict:
    """What a VMA's chain verdict was computed from, and the verdict."""

    __slots__ = ("key", "chain", "anon_vmas", "shares")

    def __init__(self, key, chain, anon_vmas, shares):
        self.key = key              # (vm_start, vm_end, vm_pgoff, anon_vma, freed)
        self.chain = chain          # a copy of the chain
        self.anon_vmas = anon_vmas  # the anon_vmas its AVCs named
        self.shares = shares        # (anon_vma, frozenset of the chain's anon_vmas) for I-9


def vma_key(vma):
    return vma.vm_start, vma.vm_end, vma.vm_pgoff, vma.anon_vma, vma.freed


def chain_sound(vma, in_anon_vma, root_last: bool) -> bool:
    """check_chains() for one VMA, without the words: False iff it would
    report a line about this VMA (``in_anon_vma`` as there)."""
    if vma.freed:
        return False
    chain = vma.anon_vma_chain
    seen = set()
    for avc in chain:
        av = avc.anon_vma
        if av in seen or avc.freed or avc.vma is not vma or av is None or av.freed:
            return False
        seen.add(av)
        if in_anon_vma("", avc):
            return False
    av = vma.anon_vma
    if (av is None) != (not chain):
        return False
    if av is not None:
        if av.freed or av not in seen:
            return False
        if len({id(other.root) for other in seen}) != 1 or (
                root_last and chain[-1].anon_vma is not av.root):
            return False
    return True


class ScopedInvariants:
    """The scoped check of one kernel (see the module's docstring)."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.lists = kernel.rmap_layout == "list"
        self.in_anon_vma = in_list if self.lists else in_tree
        self.watch = AvcWatch()
        self.vmas: dict = {}                # live VMA -> VmaVerdict
        self.unsound_vmas: set = set()
        self.holders: dict = {}             # AVC -> the live VMAs whose chains hold it
        self.off_chain: set = set()         # AVCs breaking "a live AVC is on one chain"
        self.users: dict = {}               # anon_vma -> {VMA whose chain names it}
        self.av_keys: dict = {}             # anon_vma -> (root, freed) the verdicts read
        self.shares: dict = {}              # anon_vma -> Counter of its VMAs' chain sets (I-9)
        self.split_shares: set = set()      # anon_vmas whose VMAs have different chains
        self.ends: dict = {}                # live anon_vma -> (rb_node, rb_leftmost)
        self.unsound_ends: set = set()
        self.shared_root = False
        self.unsound_nodes: set = set()
        self.heads: dict = {}               # live anon_vma -> its head's AVCs, in order (lists)
        self.in_heads: dict = {}            # AVC -> the anon_vmas whose head holds it
        self.unsound_pairs: set = set()     # (anon_vma, AVC) of a head, the AVC foreign or freed
        # what was there before the checker: everything is new to it
        self.watch.fields.update(kernel.anon_vma_chain_cachep.live)
        trace = kernel.trace
        trace.kmem_cache_alloc.register(self._alloc)
        trace.kmem_cache_free.register(self._free)

    def _alloc(self, call_site, obj, cache, gfp) -> None:
        if obj is not None and cache is self.kernel.anon_vma_chain_cachep:
            self.watch.fields.add(obj)

    def _free(self, call_site, obj, cache) -> None:
        if cache is self.kernel.anon_vma_chain_cachep:
            self.watch.fields.add(obj)

    def check(self) -> list[str]:
        kernel = self.kernel
        vmas = live_vmas(kernel)
        if self.avc_part_suspect(vmas):
            return check_invariants(kernel)
        if self.lists:
            return check_invariants_3_0(kernel, vmas, avc_part=False)
        return check_invariants_interval_tree(kernel, vmas, avc_part=False)

    def avc_part_suspect(self, vmas) -> bool:
        kernel = self.kernel
        watch = self.watch
        fields, links = watch.fields, watch.links
        live = dict.fromkeys(vma for _tsk, vma in vmas)
        suspect = len(live) != len(vmas)        # one VMA in two mms' trees
        recount = set(fields)
        if self.lists:
            # an AVC that joined or left a head counts as written
            fields.update(self._heads())
        for vma in [vma for vma in self.vmas if vma not in live]:
            self._forget(vma, recount)
        recompute = set()
        for vma in live:
            verdict = self.vmas.get(vma)
            if verdict is None or verdict.key != vma_key(vma) or verdict.chain != vma.anon_vma_chain:
                recompute.add(vma)
        for avc in fields:
            recompute.update(self.holders.get(avc, ()))
        for av, key in self.av_keys.items():
            if key[0] is not av.root or key[1] != av.freed:
                recompute.update(self.users[av])
                self.av_keys[av] = (av.root, av.freed)
        recompute.intersection_update(live)
        root_last = kernel.chain_root_last
        for vma in recompute:
            self._recompute(vma, root_last, recount)
        live_avcs = kernel.anon_vma_chain_cachep.live
        for avc in recount:
            n = len(self.holders.get(avc, ()))
            if n > 1 or (n != 1 and avc in live_avcs):
                self.off_chain.add(avc)
            else:
                self.off_chain.discard(avc)
        if self.lists:
            self._pairs(fields)
        else:
            suspect |= self._trees(fields | links)
        object_type = kernel.anon_vma_chain_cachep.object_type
        for avc in fields:
            if not avc.freed:
                watch.watch(avc, object_type)
        fields.clear()
        links.clear()
        return (suspect or bool(self.unsound_vmas) or bool(self.off_chain)
                or bool(self.split_shares) or bool(self.unsound_pairs))

    def _forget(self, vma, recount: set) -> None:
        verdict = self.vmas.pop(vma)
        self.unsound_vmas.discard(vma)
        self._unhold(vma, verdict, recount)

    def _unhold(self, vma, verdict, recount: set) -> None:
        for avc in verdict.chain:
            holders = self.holders[avc]
            holders.remove(vma)
            if not holders:
                del self.holders[avc]
            recount.add(avc)
        for av in verdict.anon_vmas:
            users = self.users[av]
            users.discard(vma)
            if not users:
                del self.users[av], self.av_keys[av]
        if verdict.shares is not None:
            av, anon_vmas = verdict.shares
            shares = self.shares[av]
            shares[anon_vmas] -= 1
            if not shares[anon_vmas]:
                del shares[anon_vmas]
            if len(shares) <= 1:
                self.split_shares.discard(av)
            if not shares:
                del self.shares[av]

    def _recompute(self, vma, root_last: bool, recount: set) -> None:
        old = self.vmas.get(vma)
        if old is not None:
            self._unhold(vma, old, recount)
        chain = vma.anon_vma_chain
        sound = chain_sound(vma, self.in_anon_vma, root_last)
        shares = None
        if vma.anon_vma is not None:
            shares = (vma.anon_vma, frozenset(avc.anon_vma for avc in chain))
            counter = self.shares.setdefault(vma.anon_vma, Counter())
            counter[shares[1]] += 1
            if len(counter) > 1:
                self.split_shares.add(vma.anon_vma)
        anon_vmas = {avc.anon_vma for avc in chain}
        anon_vmas.discard(None)
        self.vmas[vma] = VmaVerdict(vma_key(vma), list(chain), anon_vmas, shares)
        if sound:
            self.unsound_vmas.discard(vma)
        else:
            self.unsound_vmas.add(vma)
        for avc in chain:
            self.holders.setdefault(avc, []).append(vma)
            recount.add(avc)
        for av in anon_vmas:
            users = self.users.get(av)
            if users is None:
                users = self.users[av] = set()
                self.av_keys[av] = (av.root, av.freed)
            users.add(vma)

    def _heads(self) -> set:
        """The AVCs that joined or left the head of a live anon_vma since
        the last check (the heads compared with their copies, in C)."""
        heads, in_heads = self.heads, self.in_heads
        anon_vmas = self.kernel.anon_vma_cachep.live
        moved = set()

        def leave(av, avcs):
            for avc in avcs:
                holders = in_heads[avc]
                holders.discard(av)
                if not holders:
                    del in_heads[avc]
                self.unsound_pairs.discard((av, avc))
            moved.update(avcs)

        for av in [av for av in heads if av not in anon_vmas]:
            leave(av, heads.pop(av))
        for av in anon_vmas:
            new = tuple(av.head)
            old = heads.get(av, ())
            if new == old:
                continue
            heads[av] = new
            if new[:len(old)] == old:
                joined = new[len(old):]         # list_add_tail() only, the usual change
            else:
                joined = set(new).difference(old)
                leave(av, set(old).difference(new))
            for avc in joined:
                in_heads.setdefault(avc, set()).add(av)
            moved.update(joined)
        return moved

    def _pairs(self, written: set) -> None:
        """The head memberships of the written AVCs: each AVC in a live
        anon_vma's head is not freed and belongs to it."""
        for avc in written:
            for av in self.in_heads.get(avc, ()):
                if avc.freed or avc.anon_vma is not av:
                    self.unsound_pairs.add((av, avc))
                else:
                    self.unsound_pairs.discard((av, avc))

    def _trees(self, written: set) -> bool:
        """The tree verdicts of the written AVCs and their parents, and of
        the anon_vmas whose rb_node or rb_leftmost changed or was written."""
        ends = self.ends
        tree_of = {}
        recheck = []
        for av in self.kernel.anon_vma_cachep.live:
            root = av.rb_root
            end = (root.rb_node, root.rb_leftmost)
            if end[0] is not None:
                tree_of[end[0]] = av
            old = ends.get(av)
            if old is None or old[0] is not end[0] or old[1] is not end[1]:
                recheck.append(av)
            ends[av] = end
        for av in [av for av in ends if av.freed]:
            del ends[av]
            self.unsound_ends.discard(av)
        self.shared_root = len(tree_of) != sum(end[0] is not None for end in ends.values())
        check = set(written)
        for avc in written:
            check.add(avc.rb_parent)
            av = tree_of.get(avc)
            if av is not None:
                recheck.append(av)
        check.discard(None)
        for avc in check:
            if self._node_sound(avc):
                self.unsound_nodes.discard(avc)
            else:
                self.unsound_nodes.add(avc)
        leftmost_of = {end[1]: av for av, end in ends.items() if end[1] is not None}
        for avc in written:
            av = leftmost_of.get(avc)
            if av is not None:
                recheck.append(av)
        limit = len(self.kernel.anon_vma_chain_cachep.live) + 1
        for av in recheck:
            if self._ends_sound(av, limit):
                self.unsound_ends.discard(av)
            else:
                self.unsound_ends.add(av)
        return self.shared_root or bool(self.unsound_nodes) or bool(self.unsound_ends)

    @staticmethod
    def _node_sound(avc) -> bool:
        """A linked AVC is not freed; its children name it their parent and
        belong to its anon_vma."""
        left, right = avc.rb_left, avc.rb_right
        if avc.freed and (avc.rb_parent is not None or left is not None or right is not None):
            return False
        av = avc.anon_vma
        for child in (left, right):
            if child is not None and (child.rb_parent is not avc or child.anon_vma is not av):
                return False
        return True

    def _ends_sound(self, av, limit: int) -> bool:
        """The tree's rb_node belongs to it, and its rb_leftmost is in it."""
        top, leftmost = self.ends[av]
        if top is None:
            return leftmost is None
        if top.rb_parent is not None or top.freed or top.anon_vma is not av:
            return False
        node = leftmost
        if node is None or node.rb_left is not None:
            return False
        for _ in range(limit):
            if node is top:
                return True
            parent = node.rb_parent
            if parent is None or (parent.rb_left is not node and parent.rb_right is not node):
                return False
            node = parent
        return False
