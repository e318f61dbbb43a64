"""Property-based fuzzing of every parser of untrusted input (tests/fuzz_support.py): each answers a
hostile input with a result or one `BadInput`, within a per-example deadline, and within a memory and
CPU-time budget enforced by `resource` limits in a subprocess. A bounded number of examples per run,
derandomized (the same inputs each run); benchmarks/bench_fuzz.py runs longer, random ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fuzz_support import FUZZERS, fuzz

# Examples per parser; the others: DEFAULT_EXAMPLES.
EXAMPLES = {"mask zip": 40, "state file": 40, "objects file": 40, "video file": 15}
DEFAULT_EXAMPLES = 80
MEMORY_LIMIT_BYTES = 3 * 2**30  # address space of the limited subprocess (numpy, cv2 and PIL loaded)
CPU_LIMIT_SECONDS = 240


@pytest.mark.parametrize("name", sorted(FUZZERS))
def test_the_parser_answers_every_hostile_input_with_a_result_or_bad_input(name):
    stats = fuzz(name, EXAMPLES.get(name, DEFAULT_EXAMPLES), deadline_ms=3000)
    assert stats.examples > 0


def test_the_parsers_keep_within_a_memory_and_cpu_budget_under_resource_limits():
    """The parsers that allocate by what an input declares (RLE, PNGs, zips, state files), run under
    RLIMIT_AS and RLIMIT_CPU: a decoder that believed a declared size would raise MemoryError there (or
    be killed), failing the run."""
    code = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT_BYTES}, {MEMORY_LIMIT_BYTES}))\n"
        f"resource.setrlimit(resource.RLIMIT_CPU, ({CPU_LIMIT_SECONDS}, {CPU_LIMIT_SECONDS}))\n"
        "from fuzz_support import fuzz\n"
        "for name in ('rle', 'mask png', 'mask zip', 'state file'):\n"
        "    stats = fuzz(name, 40, deadline_ms=3000, seed=25)\n"
        "    print(name, stats.examples, f'{stats.slowest_seconds:.3f}')\n"
    )
    tests = Path(__file__).resolve().parent
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tests.parent,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PYTHONPATH": f"{tests}:{tests.parent}", "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("\n") == 4
