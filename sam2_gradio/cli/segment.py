"""Headless segmentation: propagate the clicks of a state file through a video, export masks and a preview.

    python -m sam2_gradio.segment --video clip.mp4 --state-file interactive_state.json \\
        --mask-dir masks --output preview.mp4
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from sam2_gradio.cli.common import OneLineParser, add_option_arguments, options_from_args, run_cli
from sam2_gradio.engine import checkpoints
from sam2_gradio.engine.options import ExportChoices, SegmentOptions
from sam2_gradio.jobs import BadInput, Progress, format_progress

if TYPE_CHECKING:
    from sam2_gradio.engine.export_formats import ExportFormats

logger = logging.getLogger("sam2_gradio.cli.segment")


def build_parser() -> argparse.ArgumentParser:
    """The segment CLI's arguments (the original script's flags plus model options)."""
    parser = OneLineParser(
        prog="sam2-gradio-segment",
        description="Track the objects clicked in a state file through a video with SAM 2.",
    )
    parser.add_argument("--video", help="input video (mp4, mov, webm, avi); or omit and give --frame-dir")
    parser.add_argument(
        "--frame-dir",
        help="folder of JPEG frames (00000.jpg, ...): written from --video when given, else read from",
    )
    parser.add_argument(
        "--mask-dir", default="masks", help="output folder for per_object/ and combined/ PNGs"
    )
    parser.add_argument("--output", help="preview MP4 with the masks drawn over the frames (optional)")
    parser.add_argument("--zip", help="also pack both mask folders into this zip file (optional)")
    parser.add_argument("--state-file", required=True, help="prompt state JSON (interactive_state.json)")
    parser.add_argument("--config", help="SAM 2.1 config name, e.g. configs/sam2.1/sam2.1_hiera_t.yaml")
    checkpoints.add_model_arguments(parser)
    parser.add_argument("--fps", type=float, help="frame rate of the preview (default: the video's)")
    add_option_arguments(parser, SegmentOptions)
    add_export_arguments(parser)
    return parser


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of the exports other tools read (see `engine.export_formats.ExportFormats`)."""
    group = parser.add_argument_group("exports for other tools")
    group.add_argument(
        "--coco",
        metavar="FILE",
        help="also write the masks as YouTube-VIS JSON (COCO RLE per frame; categories from object names)",
    )
    group.add_argument(
        "--davis-dir",
        metavar="DIR",
        help="also write one DAVIS palette PNG per frame (00000.png; pixel value = object id)",
    )
    group.add_argument(
        "--alpha-video",
        metavar="FILE",
        help="also write the objects on transparency: .webm (VP9, browsers) or .mov (ProRes 4444, editors)",
    )
    group.add_argument(
        "--alpha-png",
        metavar="DIR",
        help="also write the objects on transparency as one RGBA PNG per frame (00000.png, ...) into DIR",
    )
    group.add_argument(
        "--alpha-objects",
        metavar="IDS",
        help="comma-separated object ids shown in --alpha-video and --alpha-png (default: every object)",
    )
    add_option_arguments(group, ExportChoices, only=("feather", "edge", "edge_band"))


def export_formats_from_args(args: argparse.Namespace) -> ExportFormats:
    """The `ExportFormats` the export flags ask for."""
    from sam2_gradio.engine.export_formats import ExportFormats

    alpha_objects = None
    if args.alpha_objects:
        try:
            alpha_objects = tuple(int(part) for part in args.alpha_objects.split(",") if part.strip())
        except ValueError:
            raise BadInput(
                f"--alpha-objects must be object ids like 1,3, got {args.alpha_objects!r}"
            ) from None
    return ExportFormats(
        coco_path=Path(args.coco) if args.coco else None,
        davis_dir=Path(args.davis_dir) if args.davis_dir else None,
        alpha_video_path=Path(args.alpha_video) if args.alpha_video else None,
        alpha_objects=alpha_objects,
        feather=args.feather,
        alpha_png_dir=Path(args.alpha_png) if args.alpha_png else None,
        edge=args.edge,
        edge_band=args.edge_band,
    )


def _log_progress(report: Progress) -> None:
    logger.info("%s", format_progress(report))


def run(args: argparse.Namespace) -> None:
    """Run a segmentation as `args` say (raises on bad input; `main` turns that into one line)."""
    from sam2_gradio.engine.model import get_shared_model, settings_from_args
    from sam2_gradio.engine.pipeline import check_outputs, segment_video
    from sam2_gradio.engine.prompts import load_prompt_state
    from sam2_gradio.media.frames import extract_jpeg_frames, open_frames

    if not args.video and not args.frame_dir:
        raise BadInput("give --video, or --frame-dir holding JPEG frames")
    check_outputs(args.mask_dir, preview_path=args.output, zip_path=args.zip)
    exports = export_formats_from_args(args)
    source = open_frames(args.video or args.frame_dir)
    if args.video and args.frame_dir:
        logger.info("writing JPEG frames to %s", args.frame_dir)
        source = extract_jpeg_frames(source, args.frame_dir)
    prompts = load_prompt_state(args.state_file, source.meta)
    exports.check(prompts.prompted_objects())  # before the model loads
    meta = source.meta
    logger.info("video: %d frames, %dx%d, %.3f fps", meta.num_frames, meta.width, meta.height, meta.fps)
    size = checkpoints.size_from_config(args.config) if args.config else None
    model = get_shared_model(settings_from_args(args, model_size=size))
    logger.info("model: %s", model.description)
    result = segment_video(
        model,
        source,
        prompts,
        args.mask_dir,
        preview_path=args.output,
        zip_path=args.zip,
        fps=args.fps,
        **asdict(options_from_args(SegmentOptions, args)),
        progress=_log_progress,
        exports=exports,
    )
    logger.info(
        "done: %d frames, %d objects in %.1f s (%.2f fps); masks in %s%s",
        result.frames_tracked,
        len(result.obj_ids),
        result.seconds,
        result.fps,
        result.mask_dir,
        f"; preview {result.preview}" if result.preview else "",
    )
    for kind, path in vars(result.exported).items():
        if path is not None:
            logger.info("%s: %s", kind.replace("_", " "), path)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse `argv`, run, and turn bad input into one line on stderr and exit code 2."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # SAM 2's own per-frame bar; we log per step instead
    return run_cli(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
