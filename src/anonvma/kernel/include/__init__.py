"""Constants and inline helpers that the kernel keeps in its headers."""
