"""Segment a video in one call: track the prompts into a project, then write the outputs asked for.

This is the whole segmentation flow without any UI, as the segment CLI and scripts use it:

    model = get_shared_model(ModelSettings(model_size="tiny"))
    prompts = load_prompt_state("interactive_state.json", open_frames("clip.mp4").meta)
    outputs = OutputRequest(mask_dir=Path("masks"), preview_path=Path("preview.mp4"))
    result = segment_video(model, "clip.mp4", prompts, outputs)

`segment_video` is `track_project` followed by `project_exports.write_outputs`, in a project in a
temporary folder unless `project=` names one. With a project folder, a run that stopped (cancelled,
killed, out of GPU quota) continues exactly where it stopped when called again with the same prompts, and
masks that are current are not tracked again.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from sam2_gradio.engine.exports.export_formats import ExportedFiles
from sam2_gradio.engine.exports.project_exports import OutputRequest, write_outputs
from sam2_gradio.engine.model.predictor import PredictorLender
from sam2_gradio.engine.options import SegmentOptions
from sam2_gradio.engine.store.project import Project, adopt_prompts
from sam2_gradio.engine.tracking.prompts import PromptState
from sam2_gradio.engine.tracking.track_project import TrackingResult, track_project
from sam2_gradio.errors import BadInput
from sam2_gradio.jobs import CancelFlag, ProgressCallback
from sam2_gradio.media.video import check_output_video


@dataclass(frozen=True)
class SegmentResult:
    """What a segmentation run produced and how fast."""

    mask_dir: Path | None  # per_object/ and combined/ mask PNGs, when asked for
    preview: Path | None  # masks drawn over the video, when asked for
    masks_zip: Path | None  # both mask folders zipped, when asked for
    obj_ids: list[int]  # the tracked objects
    frames_tracked: int  # frames of the run the model produced masks for (by every call)
    seconds: float  # wall time of this call's tracking
    fps: float  # frames tracked per second by this call
    partial: bool = False  # cancelled (or stopped): only `tracked` frames have masks
    tracked: range = range(0)  # the frames that got masks from the model (one contiguous range)
    stopped: str | None = None  # why a partial run stopped, when it was not cancelled (`GpuStopped`)
    state_file: Path | None = None  # the clicks plus what was tracked, when asked for
    exported: ExportedFiles = ExportedFiles()  # COCO JSON, DAVIS PNGs, alpha video, when asked for
    resumed_at: int | None = None  # the frame this call continued a stopped run from (None: it did not)
    already_current: bool = False  # nothing was tracked: the masks were tracked from these prompts


def check_outputs(
    mask_dir: str | Path | None,
    *,
    preview_path: str | Path | None = None,
    zip_path: str | Path | None = None,
) -> None:
    """Check the output paths of a segmentation before any work starts (None: not asked for).

    Raises:
        ValueError: the mask folder is a file, the preview is not a writable video name (see
            `media.video.check_output_video`), the zip's folder is missing or the zip is a folder, or two
            outputs are the same path or one lies inside the mask folder (it would be replaced with it).
    """
    mask_dir = Path(mask_dir).absolute() if mask_dir is not None else None
    if mask_dir is not None and mask_dir.exists() and not mask_dir.is_dir():
        raise BadInput(f"mask folder {mask_dir.name} is an existing file")
    others = {}
    if preview_path is not None:
        check_output_video(preview_path)
        others["preview"] = Path(preview_path).absolute()
    if zip_path is not None:
        zip_path = Path(zip_path).absolute()
        if not zip_path.parent.is_dir():
            raise BadInput(f"the folder of the zip {zip_path.name} does not exist")
        if zip_path.is_dir():
            raise BadInput(f"zip {zip_path.name} is an existing folder")
        others["zip"] = zip_path
    if len(set(others.values())) < len(others):
        raise BadInput("the preview and the zip must be different files")
    for what, path in others.items():
        if mask_dir is not None and path.is_relative_to(mask_dir):
            raise BadInput(f"the {what} {path.name} must not be inside the mask folder {mask_dir.name}")


def segment_video(
    model: PredictorLender | Callable[[], PredictorLender],
    video: str | Path,
    prompts: PromptState,
    outputs: OutputRequest,
    *,
    options: SegmentOptions | None = None,
    project: str | Path | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> SegmentResult:
    """Track `prompts` through `video` (a video file or a folder of JPEG frames) and write `outputs`.

    `model` is the model, or a function that loads it, called only when there is something to track.
    The prompts become the project's (`project`, a folder made when missing; default: a temporary one),
    tracked as `options` say (`track_project`: every frame committed to the store; a forward run encodes
    the preview while it tracks), then every output asked for is written from the store
    (`write_outputs`; the paths are checked before tracking, `check_outputs`). A run that `cancel` stops
    (or a spent GPU quota) still writes the outputs of the frames it tracked and says `partial`;
    `cancel` also stops the outputs of a finished run. `progress` gets `Progress` reports with stage
    "tracking", then those of the outputs.
    """
    options = options or SegmentOptions()
    check_outputs(outputs.mask_dir, preview_path=outputs.preview_path, zip_path=outputs.zip_path)
    with _project_folder(project) as folder, Project.open_or_create(folder, video) as opened:
        adopt_prompts(opened, prompts)
        lender = model if hasattr(model, "use") or opened.is_current(options.direction) else model()
        tracking = track_project(
            lender, opened, **asdict(options), preview=outputs.preview_path is not None,
            preview_fps=outputs.fps, progress=progress, cancel=cancel,
        )  # fmt: skip
        stop_outputs = cancel if tracking.finished else None  # a stopped run still writes what it tracked
        written = write_outputs(opened, outputs, progress=progress, cancel=stop_outputs)
        return _result(opened, tracking, written)


@contextlib.contextmanager
def _project_folder(project: str | Path | None) -> Iterator[Path]:
    """The project folder given, or a temporary one removed afterwards."""
    if project is not None:
        yield Path(project)
        return
    with tempfile.TemporaryDirectory(prefix="sam2-gradio-project-") as folder:
        yield Path(folder)


def _result(project: Project, tracking: TrackingResult, written: dict[str, Path]) -> SegmentResult:
    """The `SegmentResult` of the project's latest run and the outputs `write_outputs` wrote."""
    latest = project.latest_run()
    frames = project.tracked_frames(latest.id)
    alpha_videos = [path for name, path in written.items() if name.startswith("alpha video")]
    return SegmentResult(
        mask_dir=written.get("masks"), preview=written.get("preview"), masks_zip=written.get("zip"),
        obj_ids=project.mask_objects(), frames_tracked=tracking.frames_done, seconds=tracking.seconds,
        fps=tracking.fps, partial=not latest.finished,
        tracked=range(frames[0], frames[-1] + 1) if frames else range(0),
        stopped=None if latest.stopped in (None, "cancelled") else latest.stopped,
        resumed_at=tracking.resumed_at, already_current=tracking.already_current,
        exported=ExportedFiles(
            coco=written.get("coco"), davis_dir=written.get("davis"),
            alpha_videos=tuple(alpha_videos), alpha_pngs=written.get("alpha PNGs"),
        ),
    )  # fmt: skip


__all__ = ["OutputRequest", "SegmentOptions", "SegmentResult", "check_outputs", "segment_video"]
