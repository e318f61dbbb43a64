"""Write any output of a project from its store: no model, no checkpoint, no tracking.

    python -m sam2_gradio.export --project projects/clip --coco clip.json --davis-dir davis \\
        --alpha-video clip.webm clip.mov --output preview.mp4
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from sam2_gradio.cli.common import OneLineParser, add_option_arguments, run_cli
from sam2_gradio.cli.segment import parse_object_ids
from sam2_gradio.engine.options import ExportChoices

logger = logging.getLogger("sam2_gradio.cli.export")


def build_parser() -> argparse.ArgumentParser:
    """The export CLI's arguments: the project and one flag per output (the segment CLI's names)."""
    parser = OneLineParser(
        prog="sam2-gradio-export",
        description="Write the masks of a project (made by the segment CLI or the app) in any format.",
    )
    parser.add_argument("--project", required=True, metavar="DIR", help="the project folder")
    parser.add_argument("--mask-dir", metavar="DIR", help="per_object/ and combined/ mask PNGs")
    parser.add_argument("--zip", metavar="FILE", help="both mask folders zipped")
    parser.add_argument("--output", metavar="FILE", help="preview MP4 with the masks drawn over the frames")
    parser.add_argument("--coco", metavar="FILE", help="YouTube-VIS JSON (COCO RLE; categories from names)")
    parser.add_argument(
        "--davis-dir", metavar="DIR", help="one DAVIS palette PNG per frame (value = object id)"
    )
    parser.add_argument(
        "--alpha-video",
        metavar="FILE",
        nargs="+",
        default=[],
        help="the objects on transparency, one file per name: .webm (VP9) and/or .mov (ProRes 4444)",
    )
    parser.add_argument(
        "--alpha-png", metavar="DIR", help="the alpha video's frames as RGBA PNGs (00000.png, ...), lossless"
    )
    parser.add_argument("--alpha-objects", metavar="IDS", help="object ids in --alpha-video, e.g. 1,3")
    parser.add_argument("--fps", type=float, help="frame rate of the preview (default: the video's)")
    add_option_arguments(parser, ExportChoices, only=("feather", "edge", "edge_band"))
    return parser


def run(args: argparse.Namespace) -> None:
    """Write the outputs `args` ask for (raises on bad input; `main` turns that into one line)."""
    from sam2_gradio.engine.exports.project_exports import OutputRequest, write_outputs
    from sam2_gradio.engine.store.project import Project

    request = OutputRequest(
        mask_dir=_path(args.mask_dir), zip_path=_path(args.zip), preview_path=_path(args.output),
        coco_path=_path(args.coco), davis_dir=_path(args.davis_dir),
        alpha_videos=tuple(Path(p) for p in args.alpha_video), alpha_png_dir=_path(args.alpha_png),
        alpha_objects=parse_object_ids(args.alpha_objects), feather=args.feather, edge=args.edge,
        edge_band=args.edge_band, fps=args.fps,
    )  # fmt: skip
    with Project.open(args.project) as project:
        if not project.is_current():
            logger.warning("the masks are not current for the project's prompts: writing what is tracked")
        written = write_outputs(project, request)
    if not written:
        logger.info(
            "nothing asked for: give --mask-dir, --zip, --output, --coco, --davis-dir or --alpha-video"
        )
    for kind, path in written.items():
        logger.info("%s: %s", kind, path)


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse `argv`, run, and turn bad input into one line on stderr and exit code 2."""
    return run_cli(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
