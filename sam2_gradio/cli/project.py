"""Print what a project holds as JSON: its video, objects, frames tracked, whether the masks are current,
and its runs.

    python -m sam2_gradio.project projects/clip
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from sam2_gradio.cli.common import OneLineParser, run_cli


def build_parser() -> argparse.ArgumentParser:
    """The project CLI's arguments."""
    parser = OneLineParser(prog="sam2-gradio-project", description="Print a project's summary as JSON.")
    parser.add_argument("project", metavar="DIR", help="the project folder")
    return parser


def run(args: argparse.Namespace) -> None:
    """Print the summary of the project `args.project` (raises `BadInput` when it is none)."""
    from sam2_gradio.engine.store.project import Project

    with Project.open(args.project) as project:
        print(json.dumps(project.summary(), indent=2))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse `argv`, run, and turn bad input into one line on stderr and exit code 2."""
    return run_cli(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
