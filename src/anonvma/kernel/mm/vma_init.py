"""mm/vma_init.c: allocating, duplicating and freeing VMAs."""

from __future__ import annotations

from ..include.gfp import GFP_KERNEL
from .mm_types import vm_area_struct


class VmaInit:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def vma_state_init(self) -> None:
        self.vm_area_cachep = self.kmem_cache_create("vm_area_struct", vm_area_struct, 192)

    def vm_area_alloc(self, mm):
        vma = self.kmem_cache_alloc(self.vm_area_cachep, GFP_KERNEL)
        if vma is not None:
            vma.vm_mm = mm
            vma.vm_start = vma.vm_end = vma.vm_flags = vma.vm_pgoff = 0
            vma.anon_vma = None
            vma.anon_vma_chain.clear()
            vma.detached = True
            vma.anon_name = vma.vm_policy = None
        return vma

    def vm_area_dup(self, orig):
        """A copy of ``orig`` that shares its anon_vma pointer but has an empty
        chain: the caller clones the chain, or clears the pointer."""
        new = self.kmem_cache_alloc(self.vm_area_cachep, GFP_KERNEL)
        if new is not None:
            new.vm_mm = orig.vm_mm
            new.vm_start = orig.vm_start
            new.vm_end = orig.vm_end
            new.vm_flags = orig.vm_flags
            new.vm_pgoff = orig.vm_pgoff
            new.anon_vma = orig.anon_vma
            new.anon_vma_chain.clear()
            new.detached = True
            # dup_anon_vma_name(), vma_dup_policy()
            new.anon_name = orig.anon_name
            new.vm_policy = orig.vm_policy
        return new

    def vm_area_free(self, vma) -> None:
        self.kmem_cache_free(self.vm_area_cachep, vma)
