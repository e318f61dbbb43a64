"""What the two CLIs share: flags built from option fields, one-line usage errors, and bad input turned
into one line and exit code 2."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TypeVar

from sam2_gradio.config import option_fields, options_from_values
from sam2_gradio.errors import UserError

logger = logging.getLogger(__name__)

BAD_INPUT_EXIT_CODE = 2
INTERNAL_ERROR_EXIT_CODE = 1
INTERRUPTED_EXIT_CODE = 130
OptionsT = TypeVar("OptionsT")


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit code 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(BAD_INPUT_EXIT_CODE, f"error: {message} (see --help)\n")


def add_option_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    options_class: type,
    only: Sequence[str] | None = None,
) -> None:
    """One flag per option field of `options_class` (`offset_x` -> `--offset-x`), from its spec; with
    `only`, for those fields alone.

    Choices become `choices=`, whole numbers `type=int` and real ones `type=float` (both checked against
    the range while parsing), flags `store_true`, sets of object ids `nargs="+"`, files and texts plain
    strings; each flag's default is the field's.
    """
    for field, spec in option_fields(options_class):
        if only is not None and field.name not in only:
            continue
        flag = "--" + field.name.replace("_", "-")
        kind = spec.kind(field.default)
        if kind == "flag":
            parser.add_argument(flag, action="store_true", help=spec.help)
        elif kind == "ids":
            parser.add_argument(flag, type=int, nargs="+", metavar="ID", help=spec.help)
        elif kind == "choice":
            parser.add_argument(flag, choices=spec.choices, default=field.default, help=spec.help)
        elif kind == "choices":
            parser.add_argument(flag, choices=spec.choices, nargs="*", default=field.default, help=spec.help)
        elif kind in ("file", "text"):
            metavar = "FILE" if kind == "file" else "TEXT"
            parser.add_argument(flag, default=field.default, metavar=metavar, help=spec.help)
        else:
            number = _ranged(int if kind == "number" else float, spec.minimum, spec.maximum)
            parser.add_argument(flag, type=number, default=field.default, help=spec.help)


def options_from_args(options_class: type[OptionsT], args: argparse.Namespace) -> OptionsT:
    """`options_class` from the flags `add_option_arguments` added (raises ValueError on a bad value)."""
    return options_from_values(options_class, vars(args))


def _ranged(kind: type, minimum: float | None, maximum: float | None) -> Callable[[str], float]:
    """An argparse type: `kind` (int or float) of `text`, inside [minimum, maximum] where given."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}") from None
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {value}")
        return value

    return parse


def run_cli(
    parser: argparse.ArgumentParser, run: Callable[[argparse.Namespace], None], argv: Sequence[str] | None
) -> int:
    """Parse `argv` and call `run`; return the exit code, with bad input as one line on stderr.

    A `errors.UserError`, or an `OSError` on a file the user named (unreadable, unwritable, disk full), is
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
