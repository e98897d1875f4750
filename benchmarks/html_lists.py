"""How loading an HTML page grows with the length of its numbered lists: a list four times as long should take about
four times as long to load, not sixteen. Each item's number was found by counting its list's items anew: ratio 14.6
(8,000 items: 5.8 s) before, 4.1 (0.22 s) after, on one machine here.

    python -m benchmarks.html_lists [--items 2000] [--repeat 3]

Loads a page with one ordered list of N items and one of 4N, side by side in one run (best of `--repeat`), and
prints both times and their ratio: about 4 when the loader is linear in the list's length, about 16 when quadratic.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from knowledge.loaders.html import load


def page(items: int) -> bytes:
    steps = "".join(f"<li>Step {i}: open the settings and choose the option.</li>" for i in range(items))
    return f"<html><body><h1>Steps</h1><ol>{steps}</ol></body></html>".encode()


def seconds(data: bytes, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        load(data, Path("steps.html"))
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    short, long = seconds(page(args.items), args.repeat), seconds(page(4 * args.items), args.repeat)
    print(f"{args.items} items: {short:.3f} s; {4 * args.items} items: {long:.3f} s; ratio {long / short:.1f} "
          "(4 linear, 16 quadratic)")  # fmt: skip


if __name__ == "__main__":
    main()
