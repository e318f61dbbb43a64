"""Activate the ZeroGPU test double (tests/zerogpu/spaces) for the duration of a test."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

DOUBLE_DIR = Path(__file__).resolve().parent / "zerogpu"


@contextlib.contextmanager
def zerogpu_spaces() -> Iterator[ModuleType]:
    """`import spaces` gives the double (fresh, counters at zero) inside the block, as before after it."""
    saved = sys.modules.pop("spaces", None)
    sys.path.insert(0, str(DOUBLE_DIR))
    try:
        module = importlib.import_module("spaces")
        assert getattr(module, "ZEROGPU_DOUBLE", False), "a real spaces package shadows the double"
        yield module
    finally:
        sys.path.remove(str(DOUBLE_DIR))
        sys.modules.pop("spaces", None)
        if saved is not None:
            sys.modules["spaces"] = saved
