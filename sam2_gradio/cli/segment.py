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

from sam2_gradio import config
from sam2_gradio.cli.common import OneLineParser, run_cli
from sam2_gradio.engine import checkpoints
from sam2_gradio.jobs import Progress, format_progress

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
    parser.add_argument(
        "--batch-size",
        type=int,
        default=config.DEFAULT_BATCH_SIZE,
        help="frames decoded per batch, and the most frames tracked per step "
        f"(steps last about {config.STEP_SECONDS:g} s; SAM2_GRADIO_STEP_SECONDS)",
    )
    parser.add_argument(
        "--direction",
        choices=("forward", "backward", "both"),
        default="forward",
        help="propagate forward from the first prompted frame, backward from the last, or both",
    )
    return parser


def _log_progress(report: Progress) -> None:
    logger.info("%s", format_progress(report))


def run(args: argparse.Namespace) -> None:
    """Run a segmentation as `args` say (raises on bad input; `main` turns that into one line)."""
    from sam2_gradio.engine.model import get_shared_model, settings_from_args
    from sam2_gradio.engine.pipeline import segment_video
    from sam2_gradio.engine.prompts import load_prompt_state
    from sam2_gradio.media.frames import extract_jpeg_frames, open_frames

    if not args.video and not args.frame_dir:
        raise ValueError("give --video, or --frame-dir holding JPEG frames")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    source = open_frames(args.video or args.frame_dir)
    if args.video and args.frame_dir:
        logger.info("writing JPEG frames to %s", args.frame_dir)
        source = extract_jpeg_frames(source, args.frame_dir)
    prompts = load_prompt_state(args.state_file, source.meta)
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
        direction=args.direction,
        batch_size=args.batch_size,
        progress=_log_progress,
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse `argv`, run, and turn bad input into one line on stderr and exit code 2."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # SAM 2's own per-frame bar; we log per step instead
    return run_cli(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
