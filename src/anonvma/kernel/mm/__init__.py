"""mm/: the model of Linux 6.18 memory management, one module per kernel file."""
