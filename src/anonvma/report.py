"""The readable summary that ``anonvma run`` prints."""

from __future__ import annotations

from .session import ModelRun


def print_summary(path: str, result: ModelRun) -> None:
    print(f"{path}: {len(result.events)} rmap events on {result.variant}")
    print()
    print(f"  {'cache':<16}{'allocated':>10}{'freed':>8}")
    for name, (allocated, freed) in result.caches.items():
        print(f"  {name:<16}{allocated:>10}{freed:>8}")
    print()
    if result.final_vmas:
        print("  VMAs at the end of the scenario (before the remaining processes exit):")
        for proc, vmas in result.final_vmas.items():
            print(f"    {proc}: " + (", ".join(vmas) if vmas else "(none in the scenario range)"))
    else:
        print("  No process was left alive at the end of the scenario.")
    failures = [line for line in result.others if " !" in line]
    if failures:
        print()
        print("  Failures user space saw:")
        for line in failures:
            print(f"    {line}")
    print()
    if result.problems:
        print(f"  CHECKS FAILED ({len(result.problems)}):")
        for problem in result.problems:
            print("".join(f"    {line}\n" for line in problem.rstrip("\n").splitlines()), end="")
    else:
        print("  Checks: every invariant held after every line; everything was freed at the end.")
