"""Headless segmentation: propagate the clicks of a state file through a video, export masks and a preview.

    python -m sam2_gradio.segment --video clip.mp4 --state-file interactive_state.json \\
        --mask-dir masks --output preview.mp4 --project projects/clip

The masks are tracked into a project (`--project DIR`, made when missing; without it, one in a
temporary folder): run again with the same prompts, the command continues an unfinished run (stopped,
crashed or killed) or tracks nothing when the masks are current; with other prompts it starts a new run.
The output flags are exports of that project, written from its store (`engine.exports.project_exports`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sam2_gradio.cli.common import OneLineParser, add_option_arguments, options_from_args, run_cli
from sam2_gradio.engine.model import checkpoints
from sam2_gradio.engine.options import ExportChoices, SegmentOptions
from sam2_gradio.errors import BadInput
from sam2_gradio.jobs import Progress, format_progress

if TYPE_CHECKING:
    from sam2_gradio.engine.exports.export_formats import ExportFormats
    from sam2_gradio.engine.exports.project_exports import OutputRequest
    from sam2_gradio.engine.model.predictor import PredictorLender
    from sam2_gradio.engine.tracking.pipeline import SegmentResult

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
    parser.add_argument(
        "--project",
        metavar="DIR",
        help="project folder to track into (made when missing; a second run continues or skips the "
        "tracking); default: a temporary one",
    )
    parser.add_argument("--config", help="SAM 2.1 config name, e.g. configs/sam2.1/sam2.1_hiera_t.yaml")
    checkpoints.add_model_arguments(parser)
    parser.add_argument("--fps", type=float, help="frame rate of the preview (default: the video's)")
    add_option_arguments(parser, SegmentOptions)
    add_export_arguments(parser)
    return parser


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of the exports other tools read (see `engine.exports.export_formats.ExportFormats`)."""
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
    from sam2_gradio.engine.exports.export_formats import ExportFormats

    alpha_objects = parse_object_ids(args.alpha_objects)
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


def parse_object_ids(text: str | None) -> tuple[int, ...] | None:
    """The object ids of `--alpha-objects` ("1,3"), or None when not given."""
    if not text:
        return None
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise BadInput(f"--alpha-objects must be object ids like 1,3, got {text!r}") from None


def _log_progress(report: Progress) -> None:
    logger.info("%s", format_progress(report))


def run(args: argparse.Namespace) -> None:
    """Run a segmentation as `args` say (raises on bad input; `main` turns that into one line)."""
    from sam2_gradio.engine.tracking.pipeline import check_outputs, segment_video
    from sam2_gradio.engine.tracking.prompts import load_prompt_state
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
    result = segment_video(
        lambda: _load_model(args), args.frame_dir or args.video, prompts, _output_request(args, exports),
        options=options_from_args(SegmentOptions, args), project=args.project, progress=_log_progress,
    )  # fmt: skip
    if result.already_current:
        logger.info("the masks are current for these prompts; nothing to track")
    if result.resumed_at is not None:
        logger.info("continued the stopped run from frame %d", result.resumed_at)
    logger.info(
        "%s: %d frames of the run tracked; this call took %.1f s (%.2f fps)",
        "done" if not result.partial else f"stopped ({result.stopped or 'cancelled'})",
        result.frames_tracked, result.seconds, result.fps,
    )  # fmt: skip
    for kind, path in _written(result).items():
        logger.info("%s: %s", kind, path)


def _output_request(args: argparse.Namespace, exports: ExportFormats) -> OutputRequest:
    """The outputs the flags ask for."""
    from sam2_gradio.engine.exports.project_exports import OutputRequest

    return OutputRequest(
        mask_dir=Path(args.mask_dir), zip_path=_path(args.zip), preview_path=_path(args.output),
        coco_path=exports.coco_path, davis_dir=exports.davis_dir,
        alpha_videos=(exports.alpha_video_path,) if exports.alpha_video_path else (),
        alpha_png_dir=exports.alpha_png_dir, alpha_objects=exports.alpha_objects,
        feather=exports.feather, edge=exports.edge, edge_band=exports.edge_band, fps=args.fps,
    )  # fmt: skip


def _load_model(args: argparse.Namespace) -> PredictorLender:
    from sam2_gradio.engine.model.predictor import get_shared_model, settings_from_args

    size = checkpoints.size_from_config(args.config) if args.config else None
    model = get_shared_model(settings_from_args(args, model_size=size))
    logger.info("model: %s", model.description)
    return model


def _written(result: SegmentResult) -> dict[str, Path]:
    """Every output file or folder of `result`, by what it is."""
    exported = result.exported
    paths = {
        "masks": result.mask_dir, "zip": result.masks_zip, "preview": result.preview, "coco": exported.coco,
        "davis": exported.davis_dir, "alpha PNGs": exported.alpha_pngs,
        "alpha video": next(iter(exported.alpha_videos), None),  # the segment CLI asks for one at most
    }  # fmt: skip
    return {kind: path for kind, path in paths.items() if path is not None}


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse `argv`, run, and turn bad input into one line on stderr and exit code 2."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # SAM 2's own per-frame bar; we log per step instead
    return run_cli(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
