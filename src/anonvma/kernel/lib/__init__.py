"""lib/: the kernel's data structure libraries."""
