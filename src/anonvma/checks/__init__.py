"""Checkers: they observe the kernel model and never steer it."""
