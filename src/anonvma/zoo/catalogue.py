"""The bugs of the zoo: fifteen years of anon_vma bugs (history notes §2),
each with the era that has it and the era that fixed it.

``buggy`` and ``fixed`` are era names (``anonvma variants``); a fixed era
is the first one in which nothing the detectors know of is left of the bug
*and* of the bugs its fix brought in (B6's fix is only whole in 4.0, after
B8 and B9).

Each bug also has a *signature*, the reports the detectors give for it
((kind, a text the report contains) pairs: the invariant ids, the KASAN
function, lockdep's splat), and the eras it is present in (``present``:
the first era that has it and the first that does not, in the order of
``VARIANTS``).  A report on an era is then identified as a catalogued bug
present there (``identify``): B6's fixed era 4.0 still has B10, which the
same fix brought in, and a report of it there is B10's, not a failure of
B6's fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..variants import VARIANTS

ERAS = list(VARIANTS)


@dataclass(frozen=True)
class Bug:
    id: str
    title: str
    introduced: str     # the commit that brought it in
    fixed_by: str       # the commit that fixed it
    breaks: str         # what goes wrong
    buggy: str          # the era that has it
    fixed: str          # the era after the fix
    signature: tuple    # (report kind, text in the report or ""), one of them
    present: tuple      # (first era that has it, first era that does not)

    def in_era(self, era: str) -> bool:
        first, last = (ERAS.index(e) for e in self.present)
        return era in ERAS and first <= ERAS.index(era) < last

    def shows(self, kind: str, text: str) -> bool:
        """Is a report of ``kind`` with ``text`` one of this bug's?"""
        return any(kind == k and t in text for k, t in self.signature)


BUGS = (
    Bug("B1", "GFP_KERNEL AVC allocation under the anon_vma root lock (the seed)",
        "bb4aa39676f7", "dd34739c03f2",
        "lockdep: reclaim from the allocation takes the root lock held around it",
        "v3.0-rc2", "v3.0", (("lockdep", "RECLAIM_FS"),), ("v3.0-rc2-clone", "v3.0")),
    Bug("B4", "hang on anon_vma->root->lock", "012f18004da3",
        "f18194275c39 (2.6.36-rc3)",
        "page_lock_anon_vma unlocks the root of a reused anon_vma: the wrong lock",
        "v2.6.36-rc1", "v2.6.36", (("lockdep", "bad unlock balance"), ("hung_task", "")),
        ("v2.6.36-rc1", "v2.6.36")),
    Bug("B5", "__put_anon_vma frees the root before the child", "the root refcount (2.6.36)",
        "624483f3ea82",
        "anon_vma_free(child) reads child->root->rwsem of a freed root (KASAN)",
        "v3.15", "v3.18", (("kasan", "anon_vma_free"),), ("v3.15", "v3.18")),
    Bug("B6", "unbounded anon_vma hierarchy growth", "5beb49305251", "7a3ef208e662 (+B8, B9: 4.0)",
        "a fork loop whose parents exit grows every chain by one anon_vma per generation",
        # every era before 3.19's degree rule has it
        "v3.18", "v4.0", (("growth", "G-1"),), ("v2.6.36-rc1", "v3.19-rc4")),
    Bug("B8", "corner case in anon_vma endless growing prevention", "7a3ef208e662",
        "Konstantin Khlebnikov, 3.19-rc5",
        "a merge-time clone with importer->anon_vma NULL counts degree on the wrong anon_vma",
        # 3.19 still has B9, which came in with B8 (7a3ef208e662) and which
        # the fault-injection programs find there in seconds
        "v3.19-rc4", "v4.0", (("invariant", "I-12"), ("warning", "degree")),
        ("v3.19-rc4", "v3.19")),
    Bug("B9", "anon_vma->degree underflow", "7a3ef208e662", "Leon Yu, 4.0-rc1",
        "a clone failing mid-walk leaves dst->anon_vma set; unlink drops its degree twice",
        "v3.19", "v4.0", (("invariant", "I-12"),), ("v3.19-rc4", "v4.0")),
    Bug("B10", "CVE-2022-42703: degree ambiguity, double reuse of a leaf", "7a3ef208e662",
        "2555283eb40d",
        "a leaf anon_vma still used by a VMA is reused: two VMAs share it with different chains",
        # with the degree rule from 3.19-rc4 (B10-cold.scn: I-9 on 3.19 to 5.19)
        "v5.19", "v6.0", (("invariant", "I-9"),), ("v3.19-rc4", "v6.0")),
    Bug("B14", "dup_anon_vma() a no-op in vma_merge() case 4", "0503ea8f5ba7", "4c6759967826",
        "the expanding VMA covers anon pages of the shrinking one without their anon_vma",
        "v6.3-rc1", "v6.3", (("invariant", "I-6"), ("invariant", "I-8")), ("v6.3-rc1", "v6.3")),
    Bug("B17", "anon_vma UAF on mremap() faulted, unfaulted merge", "879bca0a2c4f",
        "61f67c230a5e",
        "the merged VMA lacks the moved folios' anon_vma; it is freed while they map it",
        "v6.18.7", "v6.18", (("invariant", "I-6"), ("invariant", "I-8"), ("kasan", "")),
        ("v6.18.7", "v6.18")),
    Bug("3a206a8649f8", "7.0: a failed anon_vma_clone() leaves vma->anon_vma set",
        "mm: clean up anon_vma implementation (7.0-rc)", "3a206a8649f8",
        "a VMA names an anon_vma its chain does not hold; unlink drops a count it never took",
        "v7.0-rc", "v7.0", (("invariant", "I-2"), ("invariant", "I-9"), ("invariant", "I-10")),
        ("v7.0-rc", "v7.0")),
)

BY_ID = {bug.id: bug for bug in BUGS}


def identify(era: str, kind: str, text: str, first: Bug | None = None) -> Bug | None:
    """The catalogued bug present in ``era`` whose signature a report of
    ``kind`` with ``text`` shows (``first`` before the others), or None."""
    for bug in ([first] if first else []) + [b for b in BUGS if b is not first]:
        if bug.in_era(era) and bug.shows(kind, text):
            return bug
    return None
