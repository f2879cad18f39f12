"""GFP flags, Linux 6.18 values (include/linux/gfp_types.h).

Eras whose flags differ (3.0: __GFP_WAIT, GFP_NOWAIT == 0) describe them in
their variant; the model's allocator asks the questions below, not the bits.
"""

__GFP_DMA = 0x01
__GFP_HIGHMEM = 0x02
__GFP_DMA32 = 0x04
__GFP_MOVABLE = 0x08
__GFP_RECLAIMABLE = 0x10
__GFP_HIGH = 0x20
__GFP_IO = 0x40
__GFP_FS = 0x80
__GFP_ZERO = 0x100
__GFP_DIRECT_RECLAIM = 0x400
__GFP_KSWAPD_RECLAIM = 0x800
__GFP_WRITE = 0x1000
__GFP_NOWARN = 0x2000
__GFP_RETRY_MAYFAIL = 0x4000
__GFP_NOFAIL = 0x8000
__GFP_NORETRY = 0x10000
__GFP_MEMALLOC = 0x20000
__GFP_COMP = 0x40000
__GFP_NOMEMALLOC = 0x80000
__GFP_HARDWALL = 0x100000
__GFP_ACCOUNT = 0x400000
__GFP_NOLOCKDEP = 0x1000000

__GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM

GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM
GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS
GFP_KERNEL_ACCOUNT = GFP_KERNEL | __GFP_ACCOUNT
# Since commit 16f5dfbc851b GFP_NOWAIT includes __GFP_NOWARN.
GFP_NOWAIT = __GFP_KSWAPD_RECLAIM | __GFP_NOWARN
GFP_NOIO = __GFP_RECLAIM
GFP_NOFS = __GFP_RECLAIM | __GFP_IO
GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL
GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM
GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE

_NAMES = (
    ("GFP_HIGHUSER_MOVABLE", GFP_HIGHUSER_MOVABLE),
    ("GFP_KERNEL", GFP_KERNEL),
    ("GFP_NOWAIT", GFP_NOWAIT),
    ("GFP_ATOMIC", GFP_ATOMIC),
    ("GFP_NOFS", GFP_NOFS),
    ("GFP_NOIO", GFP_NOIO),
)


def gfpflags_allow_blocking(gfp_flags: int) -> bool:
    return bool(gfp_flags & __GFP_DIRECT_RECLAIM)


def gfp_name(gfp_flags: int) -> str:
    """The name the kernel's trace output would print (``show_gfp_flags``)."""
    for name, value in _NAMES:
        if gfp_flags == value:
            return name
    return hex(gfp_flags)
