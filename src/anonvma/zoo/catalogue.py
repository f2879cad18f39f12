"""The bugs of the zoo: fifteen years of anon_vma bugs (history notes §2),
each with the era that has it and the era that fixed it.

``buggy`` and ``fixed`` are era names (``anonvma variants``); a fixed era
is the first one in which nothing the detectors know of is left of the bug
*and* of the bugs its fix brought in (B6's fix is only whole in 4.0, after
B8 and B9).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bug:
    id: str
    title: str
    introduced: str     # the commit that brought it in
    fixed_by: str       # the commit that fixed it
    breaks: str         # what goes wrong
    buggy: str          # the era that has it
    fixed: str          # the era after the fix
    # report kinds of other bugs both eras have, which the search of this
    # one passes over: B6's growth is in every era before 3.19
    others: tuple = ()


BUGS = (
    Bug("B1", "GFP_KERNEL AVC allocation under the anon_vma root lock (the seed)",
        "bb4aa39676f7", "dd34739c03f2",
        "lockdep: reclaim from the allocation takes the root lock held around it",
        "v3.0-rc2", "v3.0", others=("growth",)),
    Bug("B4", "hang on anon_vma->root->lock", "012f18004da3",
        "f18194275c39 (2.6.36-rc3)",
        "page_lock_anon_vma unlocks the root of a reused anon_vma: the wrong lock",
        "v2.6.36-rc1", "v2.6.36", others=("growth",)),
    Bug("B5", "__put_anon_vma frees the root before the child", "the root refcount (2.6.36)",
        "624483f3ea82",
        "anon_vma_free(child) reads child->root->rwsem of a freed root (KASAN)",
        "v3.15", "v3.18", others=("growth",)),
    Bug("B6", "unbounded anon_vma hierarchy growth", "5beb49305251", "7a3ef208e662 (+B8, B9: 4.0)",
        "a fork loop whose parents exit grows every chain by one anon_vma per generation",
        "v3.18", "v4.0"),
    Bug("B8", "corner case in anon_vma endless growing prevention", "7a3ef208e662",
        "Konstantin Khlebnikov, 3.19-rc5",
        "a merge-time clone with importer->anon_vma NULL counts degree on the wrong anon_vma",
        # 3.19 still has B9, which came in with B8 (7a3ef208e662) and which
        # the fault-injection programs find there in seconds
        "v3.19-rc4", "v4.0"),
    Bug("B9", "anon_vma->degree underflow", "7a3ef208e662", "Leon Yu, 4.0-rc1",
        "a clone failing mid-walk leaves dst->anon_vma set; unlink drops its degree twice",
        "v3.19", "v4.0"),
    Bug("B10", "CVE-2022-42703: degree ambiguity, double reuse of a leaf", "7a3ef208e662",
        "2555283eb40d",
        "a leaf anon_vma still used by a VMA is reused: two VMAs share it with different chains",
        "v5.19", "v6.0"),
    Bug("B14", "dup_anon_vma() a no-op in vma_merge() case 4", "0503ea8f5ba7", "4c6759967826",
        "the expanding VMA covers anon pages of the shrinking one without their anon_vma",
        "v6.3-rc1", "v6.3"),
    Bug("B17", "anon_vma UAF on mremap() faulted, unfaulted merge", "879bca0a2c4f",
        "61f67c230a5e",
        "the merged VMA lacks the moved folios' anon_vma; it is freed while they map it",
        "v6.18.7", "v6.18"),
    Bug("3a206a8649f8", "7.0: a failed anon_vma_clone() leaves vma->anon_vma set",
        "mm: clean up anon_vma implementation (7.0-rc)", "3a206a8649f8",
        "a VMA names an anon_vma its chain does not hold; unlink drops a count it never took",
        "v7.0-rc", "v7.0"),
)

BY_ID = {bug.id: bug for bug in BUGS}
