"""Constants and inline helpers of include/linux/mm.h and friends (x86-64)."""

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PAGE_MASK = ~(PAGE_SIZE - 1)
PMD_SIZE = 1 << 21
TASK_SIZE = 0x7FFFFFFFF000          # 47-bit user address space
STACK_TOP = TASK_SIZE
DEFAULT_MAX_MAP_COUNT = 65530       # sysctl vm.max_map_count
DEFAULT_MAP_WINDOW = TASK_SIZE      # no 5-level paging hint
MMAP_MIN_ADDR = 65536               # sysctl vm.mmap_min_addr
STACK_GUARD_GAP = 256 << PAGE_SHIFT # mm/mmap.c stack_guard_gap
_STK_LIM = 8 << 20                  # the default RLIMIT_STACK
OVERCOMMIT_NEVER = 2                # sysctl vm.overcommit_memory; the machine runs 0

# vm_flags (include/linux/mm.h)
VM_NONE = 0x00000000
VM_READ = 0x00000001
VM_WRITE = 0x00000002
VM_EXEC = 0x00000004
VM_SHARED = 0x00000008
VM_MAYREAD = 0x00000010
VM_MAYWRITE = 0x00000020
VM_MAYEXEC = 0x00000040
VM_MAYSHARE = 0x00000080
VM_GROWSDOWN = 0x00000100
VM_UFFD_MISSING = 0x00000200        # registered with a userfaultfd
VM_LOCKED = 0x00002000
VM_DONTCOPY = 0x00020000
VM_DONTEXPAND = 0x00040000
VM_LOCKONFAULT = 0x00080000
VM_ACCOUNT = 0x00100000
VM_NORESERVE = 0x00200000
VM_HUGETLB = 0x00400000
VM_WIPEONFORK = 0x02000000
VM_HUGEPAGE = 0x20000000            # MADV_HUGEPAGE
VM_NOHUGEPAGE = 0x40000000          # MADV_NOHUGEPAGE
VM_DONTDUMP = 0x04000000
VM_SOFTDIRTY = 0x08000000
VM_SEALED = 1 << 42                 # mseal(): no more unmapping or changing

VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC
_VM_UFFD_FLAGS = VM_UFFD_MISSING    # __VM_UFFD_FLAGS, as far as scenarios register
# x86-64 VM_DATA_DEFAULT_FLAGS for a task without READ_IMPLIES_EXEC
VM_DATA_DEFAULT_FLAGS = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC
VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT
VM_STACK_FLAGS = VM_GROWSDOWN | VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT
# Flags that may differ between two VMAs that still merge (VM_IGNORE_MERGE).
VM_IGNORE_MERGE = VM_SOFTDIRTY

# prot (include/uapi/asm-generic/mman-common.h)
PROT_NONE = 0x0
PROT_READ = 0x1
PROT_WRITE = 0x2
PROT_EXEC = 0x4

MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_NORESERVE = 0x4000
MAP_FIXED_NOREPLACE = 0x100000

MREMAP_MAYMOVE = 1
MREMAP_FIXED = 2
MREMAP_DONTUNMAP = 4

MLOCK_ONFAULT = 0x01                # mlock2()

MADV_DONTNEED = 4
MADV_FREE = 8
MADV_HUGEPAGE = 14
MADV_NOHUGEPAGE = 15
MADV_COLD = 20
MADV_POPULATE_READ = 22
MADV_POPULATE_WRITE = 23
MADV_COLLAPSE = 25
MADV_GUARD_INSTALL = 102
MADV_GUARD_REMOVE = 103
MADV_DONTFORK = 10
MADV_DOFORK = 11
MADV_WIPEONFORK = 18
MADV_KEEPONFORK = 19
MADV_PAGEOUT = 21


def PAGE_ALIGN(addr: int) -> int:
    return (addr + PAGE_SIZE - 1) & PAGE_MASK


def offset_in_page(addr: int) -> int:
    return addr & (PAGE_SIZE - 1)


def calc_vm_prot_bits(prot: int) -> int:
    # The PROT_* and VM_* access bits coincide on x86-64.
    return prot & (PROT_READ | PROT_WRITE | PROT_EXEC)


def vma_pages(vma) -> int:
    return (vma.vm_end - vma.vm_start) >> PAGE_SHIFT


def linear_page_index(vma, address: int) -> int:
    """include/linux/pagemap.h: the page offset of ``address`` in ``vma``'s object."""
    return ((address - vma.vm_start) >> PAGE_SHIFT) + vma.vm_pgoff


def vma_address(vma, pgoff: int, nr_pages: int) -> int:
    """mm/internal.h: where ``pgoff`` is mapped in ``vma``, or -EFAULT."""
    address = vma.vm_start + ((pgoff - vma.vm_pgoff) << PAGE_SHIFT)
    if pgoff >= vma.vm_pgoff:
        if address >= vma.vm_end:
            return -14
    elif pgoff + nr_pages - 1 >= vma.vm_pgoff:
        address = vma.vm_start
    else:
        return -14
    return address


def vma_is_sealed(vma) -> bool:
    """mm/vma.h."""
    return bool(vma.vm_flags & VM_SEALED)


def vm_start_gap(vma) -> int:
    """Where ``vma`` starts for a new mapping looking for room below it: a
    stack keeps stack_guard_gap free under itself."""
    vm_start = vma.vm_start
    if vma.vm_flags & VM_GROWSDOWN:
        vm_start = max(vm_start - STACK_GUARD_GAP, 0)
    return vm_start
