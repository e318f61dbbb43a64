"""What the two CLIs share: one-line usage errors, and bad input turned into one line and exit code 2."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from sam2_gradio.jobs import UserError

logger = logging.getLogger(__name__)

BAD_INPUT_EXIT_CODE = 2
INTERNAL_ERROR_EXIT_CODE = 1
INTERRUPTED_EXIT_CODE = 130


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit code 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(BAD_INPUT_EXIT_CODE, f"error: {message} (see --help)\n")


def run_cli(
    parser: argparse.ArgumentParser, run: Callable[[argparse.Namespace], None], argv: Sequence[str] | None
) -> int:
    """Parse `argv` and call `run`; return the exit code, with bad input as one line on stderr.

    A `jobs.UserError`, or an `OSError` on a file the user named (unreadable, unwritable, disk full), is
    bad input: exit 2 with its message on one line (ffmpeg's complaints span several). Ctrl-C exits 130.
    Anything else is a bug or a failure of torch: it is logged with its traceback and exits 1.
    """
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0), or a usage error already printed as one line (2)
        return int(stop.code or 0)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        run(args)
    except (UserError, OSError) as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return BAD_INPUT_EXIT_CODE
    except KeyboardInterrupt:
        print("error: interrupted; no output was written", file=sys.stderr)
        return INTERRUPTED_EXIT_CODE
    except Exception:
        logger.exception("internal error (a bug, or a failure of torch or ffmpeg); please report it")
        return INTERNAL_ERROR_EXIT_CODE
    return 0


def _one_line(error: Exception) -> str:
    """The message of `error` on one line; an `OSError` with a file name says which file."""
    if isinstance(error, OSError) and not isinstance(error, UserError) and error.filename and error.strerror:
        return f"{error.strerror}: {error.filename}"
    return " ".join(str(error).split())
