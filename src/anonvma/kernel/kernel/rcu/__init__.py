"""kernel/rcu: read-copy update, as PREEMPT_RCU (tree.c, tree_plugin.h)."""
