"""What the two CLIs share: one-line usage errors, and bad input turned into one line and exit code 2."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

BAD_INPUT_EXIT_CODE = 2
INTERRUPTED_EXIT_CODE = 130


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit code 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(BAD_INPUT_EXIT_CODE, f"error: {message} (see --help)\n")


def run_cli(
    parser: argparse.ArgumentParser, run: Callable[[argparse.Namespace], None], argv: Sequence[str] | None
) -> int:
    """Parse `argv` and call `run`; return the exit code, with bad input as one line on stderr.

    `ValueError`, `RuntimeError` and `OSError` are bad input (exit 2, their message on one line: ffmpeg's
    complaints span several); Ctrl-C exits 130. Nothing else is caught, so real bugs keep their traceback.
    """
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0), or a usage error already printed as one line (2)
        return int(stop.code or 0)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        run(args)
    except (ValueError, RuntimeError, OSError) as error:
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        return BAD_INPUT_EXIT_CODE
    except KeyboardInterrupt:
        print("error: interrupted; no output was written", file=sys.stderr)
        return INTERRUPTED_EXIT_CODE
    return 0
