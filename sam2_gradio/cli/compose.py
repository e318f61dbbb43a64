"""Headless compositing: paste the masked objects of one video into another and encode the result.

    python -m sam2_gradio.compose --bg beach.mp4 --obj dog.mp4 --mask dog_masks.zip --out out.mp4 \\
        --pos bottom-left --size 300 --blend-mode normal --brightness-match

``--preview`` writes no video: it saves snapshot PNGs of the first, middle and last output frames next to
``--out``. ``--snapshot FRAME`` saves that one output frame as a PNG. Never imports torch or sam2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sam2_gradio.cli.common import OneLineParser, add_option_arguments, options_from_args, run_cli
from sam2_gradio.compositor.render import ComposeOptions
from sam2_gradio.errors import BadInput
from sam2_gradio.jobs import Progress, format_progress

if TYPE_CHECKING:  # imported for real after the arguments are parsed
    from sam2_gradio.media.mask_files import MaskSet
    from sam2_gradio.media.video import VideoInfo

logger = logging.getLogger("sam2_gradio.cli.compose")
LOG_EVERY_FRAMES = 30  # frames between progress lines


def build_parser() -> argparse.ArgumentParser:
    """The compose CLI's arguments: the files, one flag per `ComposeOptions` field, and what to write."""
    parser = OneLineParser(
        prog="sam2-gradio-compose",
        description="Composite the masked objects of one video into a background video.",
    )
    parser.add_argument(
        "--bg", required=True, help="background video; the output has its size, fps and audio"
    )
    parser.add_argument("--obj", help="video the objects are cut from (the segmented video)")
    parser.add_argument(
        "--mask",
        help="folder or .zip of mask PNGs of --obj (mask_00012.png or mask_00012_obj_2.png)",
    )
    parser.add_argument(
        "--project",
        metavar="DIR",
        help="take the object video, its masks and the objects' names from this project instead of "
        "--obj and --mask",
    )
    parser.add_argument(
        "--out",
        default="composite.mp4",
        help="output video (.mp4, .m4v, .mov); also names the PNGs of --preview and --snapshot",
    )
    add_option_arguments(parser, ComposeOptions)
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument(
        "--preview",
        action="store_true",
        help="write no video; save PNGs of the first, middle and last output frames as "
        "<out name>_preview_<frame>.png next to --out",
    )
    shown.add_argument(
        "--snapshot",
        type=int,
        metavar="FRAME",
        help="write no video; save output frame FRAME as <out name>_frame_<FRAME>.png next to --out",
    )
    return parser


def preview_frames(num_frames: int) -> list[int]:
    """Output frames that ``--preview`` saves: the first, the middle and the last (without repeats)."""
    return sorted({0, num_frames // 2, num_frames - 1})


def png_path(out: Path, kind: str, frame: int) -> Path:
    """Where ``--preview`` (kind "preview") and ``--snapshot`` (kind "frame") save output frame ``frame``."""
    return out.with_name(f"{out.stem}_{kind}_{frame:05d}.png")


def _log_progress(report: Progress) -> None:
    if report.frames_done % LOG_EVERY_FRAMES == 0 or report.frames_done == report.total:
        logger.info("%s", format_progress(report))


def run(args: argparse.Namespace) -> None:
    """Compose as ``args`` say (raises on bad input; ``main`` turns that into one line)."""
    from sam2_gradio.compositor.render import plan_timeline
    from sam2_gradio.media.mask_files import load_mask_set
    from sam2_gradio.media.video import probe_video

    options = options_from_args(ComposeOptions, args)
    if args.project is not None:
        args.obj, args.mask = _project_inputs(args.project)
    elif not (args.obj and args.mask):
        raise BadInput("give --obj and --mask, or --project")
    background, obj = probe_video(args.bg, exact=False), probe_video(args.obj, exact=False)
    mask_set = load_mask_set(args.mask)  # every input is checked before anything is logged
    num_frames = plan_timeline(background, obj, options).num_frames
    try:
        _log_inputs(background, obj)
        _log_masks(mask_set, options)
        if args.preview or args.snapshot is not None:
            _save_snapshots(args, mask_set, options, num_frames)
        else:
            _render(args, mask_set, options, num_frames)
    finally:
        mask_set.close()


def _project_inputs(folder: str) -> tuple[str, str]:
    """(object video, mask folder) of a project: its video and its masks written from the store."""
    from sam2_gradio.engine.exports import project_exports
    from sam2_gradio.engine.store.project import Project

    with Project.open(folder) as project:
        taken = project_exports.compose_input(project)
    names = ", ".join(f"{obj} {name}" for obj, name in taken.names.items())
    logger.info("project %s: video %s%s", folder, taken.video.name, f"; objects {names}" if names else "")
    return str(taken.video), str(taken.masks)


def _log_inputs(background: VideoInfo, obj: VideoInfo) -> None:
    """Log what the two videos hold."""
    for name, info in (("background", background), ("object", obj)):
        audio = ", audio" if info.has_audio else ""
        logger.info(
            "%s: %d frames, %dx%d, %.3f fps%s",
            name,
            info.num_frames,
            info.width,
            info.height,
            info.fps,
            audio,
        )


def _log_masks(mask_set: MaskSet, options: ComposeOptions) -> None:
    from sam2_gradio.compositor.render import placement_note

    first = mask_set.first_frame
    logger.info("masks: objects %s, first mask on frame %d", list(mask_set.object_ids), first)
    note = placement_note(mask_set, options)
    if note:
        logger.info("%s", note)


def _save_snapshots(
    args: argparse.Namespace, mask_set: MaskSet, options: ComposeOptions, num_frames: int
) -> None:
    from sam2_gradio.compositor.render import snapshot

    frames = preview_frames(num_frames) if args.preview else [args.snapshot]
    kind = "preview" if args.preview else "frame"
    for frame in frames:
        path = snapshot(args.bg, args.obj, mask_set, frame, options, png_path(Path(args.out), kind, frame))
        logger.info("saved output frame %d/%d to %s", frame, num_frames, path)


def _render(args: argparse.Namespace, mask_set: MaskSet, options: ComposeOptions, num_frames: int) -> None:
    from sam2_gradio.compositor.render import render

    logger.info("output: %d frames -> %s", num_frames, args.out)
    result = render(args.bg, args.obj, mask_set, args.out, options, progress=_log_progress)
    logger.info(
        "done: %d frames at %.3f fps in %.1f s (%.1f frames/s); wrote %s",
        result.num_frames,
        result.fps,
        result.seconds,
        result.num_frames / result.seconds,
        result.path,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse ``argv``, run, and turn bad input into one line on stderr and exit code 2."""
    return run_cli(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
