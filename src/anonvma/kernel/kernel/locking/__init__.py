"""kernel/locking: the kernel's sleeping and spinning locks, and lockdep."""
