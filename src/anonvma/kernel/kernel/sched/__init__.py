"""kernel/sched: tasks and the scheduler that decides which one runs."""
