"""might_alloc(): lockdep's fs_reclaim annotation on every allocation."""

from __future__ import annotations

from anonvma.kernel import Linux
from anonvma.kernel.include.gfp import GFP_KERNEL
from anonvma.kernel.mm.page_alloc import fs_reclaim_map
from anonvma.variants import get_variant


def test_might_alloc_takes_fs_reclaim_for_whoever_listens():
    k = Linux()
    k.spawn_init("P0")
    heard = []
    k.might_alloc(GFP_KERNEL)              # nobody listens: nothing to hear
    k.trace.lock_acquire.register(lambda lock, *args: heard.append(("acquire", lock)))
    k.trace.lock_release.register(lambda lock, ip: heard.append(("release", lock)))
    k.might_alloc(GFP_KERNEL)
    assert heard == [("acquire", fs_reclaim_map), ("release", fs_reclaim_map)]


def test_an_era_with_its_own_reclaim_annotation_always_gets_the_calls():
    """The skip knows only what 6.18's annotation fires: an era (or a patch)
    that redefines fs_reclaim_acquire/release is called on every allocation,
    listened to or not."""
    calls = []

    class Patched(Linux):
        def fs_reclaim_acquire(self, gfp_mask: int) -> None:
            calls.append(("acquire", gfp_mask))

    k = Patched()
    k.spawn_init("P0")
    calls.clear()                           # what booting allocated
    k.might_alloc(GFP_KERNEL)
    assert calls == [("acquire", GFP_KERNEL)]
    assert Linux().fs_reclaim_lockdep_map and not k.fs_reclaim_lockdep_map
    # 2011's lockdep (3.0 to 4.13) has its own annotation
    assert not get_variant("v3.0")().fs_reclaim_lockdep_map
    assert not get_variant("v4.0")().fs_reclaim_lockdep_map
    assert get_variant("v5.19")().fs_reclaim_lockdep_map
