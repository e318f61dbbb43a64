"""A longer fuzz run of every parser of untrusted input (the strategies of tests/fuzz_support.py):
examples per second, the median and slowest example, and the slowest input found, per parser.

Random examples (a new seed each run unless --seed), no deadline: a slow input is reported, not failed;
an input that breaks a parser's property stops the run with hypothesis's shrunk example.

    .venv/bin/python benchmarks/bench_fuzz.py
    .venv/bin/python benchmarks/bench_fuzz.py --examples 2000 --only rle "mask zip"
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # this checkout's package and the fuzz strategies

from fuzz_support import FUZZERS, fuzz  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, help="examples per parser")
    parser.add_argument("--seed", type=int, help="hypothesis seed (default: a random one)")
    parser.add_argument("--only", nargs="+", choices=sorted(FUZZERS), help="parsers to run (default: all)")
    args = parser.parse_args()
    print("| parser | examples | examples/s | median (ms) | slowest (ms) | slowest input |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name in args.only or sorted(FUZZERS):
        stats = fuzz(name, args.examples, deadline_ms=None, seed=args.seed)
        rate = stats.examples / stats.seconds if stats.seconds else float("inf")
        median = statistics.median(stats.timings) * 1000
        shown = stats.slowest_input.replace("|", "\\|")
        print(
            f"| {name} | {stats.examples} | {rate:.0f} | {median:.2f} | {stats.slowest_seconds * 1000:.1f} "
            f"| `{shown}` |",
            flush=True,
        )


if __name__ == "__main__":
    main()
