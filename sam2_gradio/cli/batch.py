"""Propagate many projects: `python -m sam2_gradio.batch PROJECT_DIR... [--ray-address ADDR] [--workers N]`.

    python -m sam2_gradio.batch projects/*                                  # this machine, no Ray
    python -m sam2_gradio.batch projects/* --ray-address auto               # a Ray cluster
    python -m sam2_gradio.batch --videos clips --from-state state.json --projects-dir projects

Every project whose masks are not current for its prompts is tracked into its store; run again, only
what is left is done (a stopped run continues from its checkpoint). Exit code 0 when no project
failed, 1 when one did (each failure is named with its reason), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sam2_gradio.cli.common import OneLineParser, add_option_arguments, options_from_args, run_cli
from sam2_gradio.engine.model import checkpoints
from sam2_gradio.engine.options import SegmentOptions
from sam2_gradio.errors import BadInput

if TYPE_CHECKING:
    from sam2_gradio.batch.runner import BatchResult
    from sam2_gradio.batch.work import ProjectJob


FAILED_PROJECTS_EXIT_CODE = 1


def build_parser() -> argparse.ArgumentParser:
    """The batch CLI's arguments: the projects (or the recipe), where to run, the model and options."""
    parser = OneLineParser(
        prog="sam2-gradio-batch",
        description="Track the prompts of many projects through their videos with SAM 2, here or on Ray.",
    )
    parser.add_argument("projects", nargs="*", metavar="PROJECT_DIR", help="project folders to propagate")
    recipe = parser.add_argument_group("recipe: one project per video, the same prompts for all")
    recipe.add_argument("--videos", metavar="DIR", help="make a project for every video in this folder")
    recipe.add_argument(
        "--from-state", metavar="FILE", help="prompt state JSON (clicks, boxes, names) given to each video"
    )
    recipe.add_argument(
        "--projects-dir", metavar="OUT", help="where the recipe's projects go (OUT/<video name>)"
    )
    cluster = parser.add_argument_group("where to run (Ray: pip install .[cluster])")
    cluster.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="run on this Ray cluster: auto (the one `ray start --head` started), host:port, "
        "ray://host:port, or local (one started for this batch)",
    )
    cluster.add_argument(
        "--workers",
        type=int,
        help="workers, each holding one model (default: 1 here; on a cluster, one per GPU); "
        "more than 1 without --ray-address starts a local Ray cluster",
    )
    checkpoints.add_model_arguments(parser)
    add_option_arguments(parser, SegmentOptions)
    return parser


def run(args: argparse.Namespace) -> BatchResult:
    """Run the batch `args` describe, print its summary and return it."""
    from sam2_gradio.batch.progress_view import ProgressView, summary_lines
    from sam2_gradio.batch.runner import BatchSettings, run_batch
    from sam2_gradio.engine.model.predictor import settings_from_args

    jobs = _jobs(args)
    if args.workers is not None and args.workers < 1:
        raise BadInput(f"--workers must be at least 1, got {args.workers}")
    settings = BatchSettings(
        model=settings_from_args(args),
        options=options_from_args(SegmentOptions, args),
        workers=args.workers,
        ray_address=args.ray_address,
    )
    with ProgressView(jobs) as view:
        result = run_batch(jobs, settings, on_status=view.update)
    for line in summary_lines(result):
        print(line)
    return result


def _jobs(args: argparse.Namespace) -> list[ProjectJob]:
    from sam2_gradio.batch.work import jobs_for_folders, jobs_for_videos

    recipe = (args.videos, args.from_state, args.projects_dir)
    if any(recipe):
        if not all(recipe):
            raise BadInput("the recipe needs --videos, --from-state and --projects-dir together")
        if args.projects:
            raise BadInput("give project folders or the recipe (--videos ...), not both")
        return jobs_for_videos(*recipe)
    if not args.projects:
        raise BadInput("give project folders, or --videos DIR --from-state FILE --projects-dir OUT")
    return jobs_for_folders(args.projects)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse `argv`, run the batch; exit 1 when a project failed, 2 on bad arguments."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # SAM 2's own per-frame bar; the view shows progress

    results: list[BatchResult] = []
    code = run_cli(build_parser(), lambda args: results.append(run(args)), argv)
    if code == 0 and results and results[0].failed:
        failed = results[0].failed
        print(f"error: {len(failed)} of {len(results[0].statuses)} projects failed", file=sys.stderr)
        return FAILED_PROJECTS_EXIT_CODE
    return code


if __name__ == "__main__":
    sys.exit(main())
