#!/usr/bin/env python3
"""Compares two benchmark runs written by ``weft-bench … --json FILE``.

    scripts/bench-compare.py BEFORE.json AFTER.json [--min-spread 0.05]

For every figure in both runs it prints the medians and the change, and flags a change
larger than the run-to-run spread: the larger of the two runs' own spreads (half the range
of a figure's rounds, relative to its median) and ``--min-spread`` (for figures measured
once, or too steady to say). A flagged change is ``better`` or ``WORSE`` by the figure's
direction. Exits 1 when any figure got worse past its spread, so a script can stop on it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List


def spread(figure: Dict[str, Any]) -> float:
    """Half the range of the rounds, relative to the median (0 for one round)."""
    rounds: List[float] = figure["rounds"]
    median = float(figure["median"])
    if len(rounds) < 2 or median == 0:
        return 0.0
    return (max(rounds) - min(rounds)) / 2 / abs(median)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--min-spread", type=float, default=0.05, help="smallest relative change ever flagged (default 0.05)")
    arguments = parser.parse_args()
    with open(arguments.before) as handle:
        before = json.load(handle)
    with open(arguments.after) as handle:
        after = json.load(handle)
    print(f"before: {before.get('date', '?')}  {before.get('command', '')}")
    print(f"after:  {after.get('date', '?')}  {after.get('command', '')}")
    if before.get("machine") != after.get("machine"):
        print(f"note: the machines differ ({before.get('machine')} / {after.get('machine')}): compare ratios, not absolute figures")

    names = sorted(set(before["figures"]) & set(after["figures"]))
    only = sorted(set(before["figures"]) ^ set(after["figures"]))
    worse = 0
    print(f"\n{'figure':52} {'before':>12} {'after':>12} {'change':>8} {'spread':>7}")
    for name in names:
        old, new = before["figures"][name], after["figures"][name]
        old_median, new_median = float(old["median"]), float(new["median"])
        change = (new_median - old_median) / abs(old_median) if old_median else 0.0
        allowed = max(spread(old), spread(new), arguments.min_spread)
        verdict = ""
        if abs(change) > allowed:
            improved = (change > 0) == (new.get("better", "higher") == "higher")
            verdict = "better" if improved else "WORSE"
            worse += 0 if improved else 1
        unit = new.get("unit", "")
        print(f"{name:52} {old_median:12.4g} {new_median:12.4g} {change:+8.1%} {allowed:7.1%}  {unit:6} {verdict}")
    if only:
        print(f"\nin one run only: {', '.join(only)}")
    print(f"\n{len(names)} figures compared, {worse} worse past their spread")
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
