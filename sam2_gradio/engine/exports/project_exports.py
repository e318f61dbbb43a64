"""Every output of a project, written from its store on demand: no model, no re-tracking.

    preview(project)                       # masks drawn over the video (H.264 MP4)
    mask_pngs(project, "masks/")           # per_object/ and combined/ PNGs
    masks_zip(project, "masks.zip")        # both folders zipped
    coco(project, "masks.json")            # YouTube-VIS JSON with COCO RLE, categories from names
    davis(project, "davis/")               # DAVIS palette PNGs
    alpha_video(project, "cutout.webm")    # the objects on transparency (.webm or .mov)
    alpha_videos(project, ["a.webm", "a.mov"])  # several at once, each frame cut out once
    alpha_video_bytes(project, ".mov")     # about how large that file will be, before writing it
    compose_input(project)                 # the video, its masks and the objects' names, for Compose

Each writes into the project's ``outputs/`` folder first, named after what it depends on (the masks
version, the names, its options), so asking again for an unchanged project copies the file instead of
writing it again; given a path, the result is also put there (atomically).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sam2_gradio import config
from sam2_gradio.engine.exports import export_formats
from sam2_gradio.engine.exports.mask_folder import (
    PREVIEW_REPORT_EVERY,
    MaskExporter,
    render_preview_from,
    zip_masks,
)
from sam2_gradio.engine.exports.overlay import legend_labels
from sam2_gradio.engine.store.project import OUTPUTS_DIR, Project
from sam2_gradio.errors import BadInput, NotReady
from sam2_gradio.jobs import CancelFlag, ProgressCallback, ProgressMeter
from sam2_gradio.media.atomic import atomic_path, publish
from sam2_gradio.media.video import check_output_video, estimate_alpha_video_bytes


def cached_output(project: Project, kind: str, suffix: str, *depends_on: object, capped: bool = True) -> Path:
    """Where output `kind` of the project's current masks (and `depends_on`) is cached:
    ``outputs/<kind>-m<masks version>-<hash of depends_on><suffix>``. Outputs of `kind` made from older
    masks are deleted here; those of the current masks with other options are kept. A project over its
    disk cap refuses a new output (`DiskLimitReached`, `Project.check_disk_cap`) unless `capped` is off
    (an output already written)."""
    version = project.masks_version
    key = hashlib.sha256(json.dumps(list(map(str, depends_on))).encode()).hexdigest()
    folder = project.folder / OUTPUTS_DIR
    folder.mkdir(exist_ok=True)
    current = f"{kind}-m{version}-"
    for old in folder.glob(f"{kind}-m*"):
        if not old.name.startswith(current):
            shutil.rmtree(old) if old.is_dir() else old.unlink(missing_ok=True)
    cached = folder / f"{current}{key[:16]}{suffix}"
    if capped and not cached.exists():
        project.check_disk_cap()
    return cached


def deliver(cached: Path, path: str | Path | None) -> Path:
    """`cached`, also copied to `path` when one is given (atomically, a file or a folder)."""
    if path is None:
        return cached
    _publish_together([(cached, Path(path))])
    return Path(path)


def preview(
    project: Project,
    path: str | Path | None = None,
    *,
    fps: float | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> Path:
    """The video with each object's mask drawn over it (H.264 MP4, browser-playable), and once objects
    are named, a legend of their names (`overlay.legend_labels`)."""
    legend = legend_labels(project.objects())
    cached = cached_output(project, "preview", ".mp4", fps, *_legend_key(legend))
    if not cached.exists():
        with atomic_path(cached) as staged:
            render_preview_from(
                project.frames(),
                project.masks(),
                staged,
                fps=fps,
                frames=_shown_frames(project),
                progress=progress,
                cancel=cancel,
                legend=legend,
            )
    return deliver(cached, path)


def adopt_preview(
    project: Project, written: Path, *, fps: float | None = None, legend: dict[int, str] | None = None
) -> Path:
    """Keep `written` (a preview made while tracking, of the masks now stored, with `legend`) as the
    cached preview."""
    cached = cached_output(project, "preview", ".mp4", fps, *_legend_key(legend or {}), capped=False)
    publish(written, cached)
    return cached


def mask_pngs(
    project: Project, mask_dir: str | Path | None = None, *, progress: ProgressCallback | None = None
) -> Path:
    """`per_object/` and `combined/` single-channel 0/255 PNGs, one per frame and object (the frames of
    an unfinished run only where it tracked them); `progress` gets a report every few frames."""
    cached = cached_output(project, "masks", "")
    if not cached.exists():
        tracked, meta = project.masks(), project.meta
        finished = _latest_finished(project)
        frames = range(meta.num_frames) if finished else project.tracked_frames()
        meter = ProgressMeter(len(frames), PREVIEW_REPORT_EVERY, progress)
        with MaskExporter(cached, meta, tracked.obj_ids) as exporter:
            for frame in frames:
                exporter.write(frame, tracked.obj_ids, tracked.masks_of(frame))
                meter.frame_done()
            exporter.finish(fill_untracked=finished)
            exporter.publish()
    return deliver(cached, mask_dir)


def masks_zip(
    project: Project, zip_path: str | Path | None = None, *, progress: ProgressCallback | None = None
) -> Path:
    """Both mask folders in one zip (uncompressed PNGs, fixed dates: the same masks give the same zip);
    `progress` follows the PNGs being written (`mask_pngs`)."""
    cached = cached_output(project, "zip", ".zip")
    if not cached.exists():
        zip_masks(mask_pngs(project, progress=progress), cached)
    return deliver(cached, zip_path)


def coco(project: Project, path: str | Path | None = None) -> Path:
    """The masks as YouTube-VIS JSON with COCO compressed RLE; categories from the objects' names."""
    names = dict(project.objects())
    cached = cached_output(project, "coco", ".json", sorted(names.items()))
    if not cached.exists():
        named = {obj: name for obj, name in names.items() if name}
        export_formats.write_youtube_vis(
            cached, project.masks(), names=named, video_name=Path(project.video.name).stem or "video"
        )
    return deliver(cached, path)


def davis(project: Project, davis_dir: str | Path | None = None) -> Path:
    """One DAVIS palette PNG per frame (pixel value = object id, 1 to 255)."""
    tracked = project.masks()
    export_formats.ExportFormats(davis_dir=Path("davis")).check(tracked.obj_ids)
    cached = cached_output(project, "davis", "")
    if not cached.exists():
        export_formats.write_davis_pngs(cached, tracked)
    return deliver(cached, davis_dir)


def alpha_video(
    project: Project,
    path: str | Path,
    *,
    obj_ids: Sequence[int] | None = None,
    feather: int = config.DEFAULT_FEATHER,
    edge: str = config.DEFAULT_EDGE,
    edge_band: int = config.DEFAULT_EDGE_BAND,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
    copy: bool = True,
) -> Path:
    """The objects `obj_ids` (default all) on transparency, cut out with `edge`: ``.webm`` (VP9) or
    ``.mov`` (ProRes 4444), as `path` names it; put at `path` unless `copy` is off (then the cached file
    is returned)."""
    (written,) = alpha_videos(
        project, [path], obj_ids=obj_ids, feather=feather, edge=edge, edge_band=edge_band, progress=progress,
        cancel=cancel, copy=copy,
    )  # fmt: skip
    return written


def alpha_videos(
    project: Project,
    paths: Sequence[str | Path],
    *,
    obj_ids: Sequence[int] | None = None,
    feather: int = config.DEFAULT_FEATHER,
    edge: str = config.DEFAULT_EDGE,
    edge_band: int = config.DEFAULT_EDGE_BAND,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
    copy: bool = True,
) -> list[Path]:
    """`alpha_video` to each of `paths` (say a ``.webm`` and a ``.mov``): those not cached yet are written
    together, each frame cut out once for all of them. Returns `paths` (or the cached files without
    `copy`)."""
    paths = [Path(path) for path in paths]
    tracked = project.masks()
    for path in paths:
        export_formats.ExportFormats(
            alpha_video_path=path, alpha_objects=obj_ids, feather=feather, edge=edge, edge_band=edge_band
        ).check(tracked.obj_ids)
    chosen = None if obj_ids is None else sorted(obj_ids)
    options = (chosen, feather, edge, edge_band)
    cached = [cached_output(project, "alpha", path.suffix.lower(), *options) for path in paths]
    missing = list(dict.fromkeys(output for output in cached if not output.exists()))
    if missing:
        with contextlib.ExitStack() as written:  # every file in place once all are written, none if one fails
            staged = [written.enter_context(atomic_path(output)) for output in missing]
            export_formats.write_alpha_videos(
                staged, project.frames(), tracked, obj_ids=chosen, feather=feather, edge=edge,
                edge_band=edge_band, progress=progress, cancel=cancel,
            )  # fmt: skip
    if not copy:
        return cached
    _publish_together(list(zip(cached, paths, strict=True)))
    return paths


def alpha_video_bytes(project: Project, suffix: str, *, obj_ids: Sequence[int] | None = None) -> int:
    """About how many bytes `alpha_video` writes for `suffix` (``.webm`` or ``.mov``) and the objects
    `obj_ids` (default all): `estimate_alpha_video_bytes` with the share of the frames the objects cover,
    from the store's mask areas (objects that overlap are counted twice)."""
    meta = project.meta
    pixels = meta.num_frames * meta.width * meta.height
    coverage = min(1.0, project.mask_area(obj_ids) / pixels) if pixels else 0.0
    return estimate_alpha_video_bytes(
        suffix, width=meta.width, height=meta.height, frames=meta.num_frames, coverage=coverage
    )


def alpha_pngs(
    project: Project,
    png_dir: str | Path | None = None,
    *,
    obj_ids: Sequence[int] | None = None,
    feather: int = config.DEFAULT_FEATHER,
    edge: str = config.DEFAULT_EDGE,
    edge_band: int = config.DEFAULT_EDGE_BAND,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> Path:
    """The alpha video's frames as RGBA PNGs ``00000.png, ...`` (lossless, for compositing tools)."""
    return _alpha_output(
        project, "alpha-png", "", export_formats.write_alpha_pngs, png_dir,
        obj_ids=obj_ids, feather=feather, edge=edge, edge_band=edge_band, progress=progress, cancel=cancel,
        check=export_formats.ExportFormats(alpha_png_dir=Path("alpha"), alpha_objects=obj_ids,
                                           feather=feather, edge=edge, edge_band=edge_band),
    )  # fmt: skip


def _alpha_output(
    project: Project,
    kind: str,
    suffix: str,
    write: Callable[..., Path],
    destination: Path | str | None,
    *,
    obj_ids: Sequence[int] | None,
    feather: int,
    edge: str,
    edge_band: int,
    progress: ProgressCallback | None,
    cancel: CancelFlag | None,
    check: export_formats.ExportFormats,
) -> Path:
    """An alpha export (`write`: video or PNGs) of the objects, cached against its options."""
    tracked = project.masks()
    check.check(tracked.obj_ids)
    chosen = None if obj_ids is None else sorted(obj_ids)
    cached = cached_output(project, kind, suffix, chosen, feather, edge, edge_band)
    if not cached.exists():
        with atomic_path(cached) as staged:
            write(
                staged, project.frames(), tracked, obj_ids=chosen, feather=feather, edge=edge,
                edge_band=edge_band, progress=progress, cancel=cancel,
            )  # fmt: skip
    return deliver(cached, destination)


@dataclass(frozen=True)
class ComposeInput:
    """What Compose takes from a project: the object video, its masks and the objects' names."""

    video: Path  # the project's video file
    masks: Path  # per_object/ and combined/ PNGs: a folder, or their zip (`compose_input(zipped=True)`)
    names: dict[int, str]  # obj_id -> the name the user gave it (objects without one are left out)
    masks_version: int  # the store's masks version these masks are of


def compose_input(project: Project, *, zipped: bool = False) -> ComposeInput:
    """The project's video, its tracked masks (the mask folder, or with `zipped` the masks zip) and the
    objects' names, as the compose CLI (``--project``) and the Compose tab take them.

    Raises `NotReady` before any frame is tracked, `BadInput` when the video is a folder of frames or
    is gone or changed (`Project.frames`)."""
    video = project.video
    if video.path.is_dir():
        raise BadInput(f"the project's video is a folder of frames ({video.name}): give the video and masks")
    project.frames()  # the video is still there and unchanged
    if not project.tracked_frames():
        raise NotReady("this project has no tracked masks yet: propagate (track) it first")
    masks = masks_zip(project) if zipped else mask_pngs(project)
    names = {obj: name for obj, name in project.objects() if name}
    return ComposeInput(video.path, masks, names, project.masks_version)


@dataclass(frozen=True)
class OutputRequest:
    """Which outputs to write and where (None: not asked for), as the `export` CLI's flags say."""

    mask_dir: Path | None = None
    zip_path: Path | None = None
    preview_path: Path | None = None
    coco_path: Path | None = None
    davis_dir: Path | None = None
    alpha_videos: tuple[Path, ...] = ()
    alpha_png_dir: Path | None = None
    alpha_objects: tuple[int, ...] | None = None
    feather: int = config.DEFAULT_FEATHER
    edge: str = config.DEFAULT_EDGE
    edge_band: int = config.DEFAULT_EDGE_BAND
    fps: float | None = None


def write_outputs(
    project: Project,
    request: OutputRequest,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> dict[str, Path]:
    """Write every output `request` asks for; returns {output name: path written}.

    Every path and option is checked first (`BadInput`), so a bad one fails before any work. The
    outputs are all written (into the project's cache) before any is put in place, and then put in
    place together: a failure leaves every path as it was.
    """
    check_request(project, request)
    made: list[tuple[str, Path, Path]] = []  # (name, cached output, where it goes)
    if request.mask_dir is not None:
        made.append(("masks", mask_pngs(project), request.mask_dir))
    if request.zip_path is not None:
        made.append(("zip", masks_zip(project), request.zip_path))
    if request.coco_path is not None:
        made.append(("coco", coco(project), request.coco_path))
    if request.davis_dir is not None:
        made.append(("davis", davis(project), request.davis_dir))
    if request.preview_path is not None:
        made.append(("preview", preview(project, fps=request.fps, cancel=cancel), request.preview_path))
    videos = alpha_videos(
        project, request.alpha_videos, obj_ids=request.alpha_objects, feather=request.feather,
        edge=request.edge, edge_band=request.edge_band, progress=progress, cancel=cancel, copy=False,
    )  # fmt: skip
    for index, (cached, path) in enumerate(zip(videos, request.alpha_videos, strict=True)):
        made.append(
            (f"alpha video {index + 1}" if len(request.alpha_videos) > 1 else "alpha video", cached, path)
        )
    if request.alpha_png_dir is not None:
        pngs = alpha_pngs(
            project, obj_ids=request.alpha_objects, feather=request.feather, edge=request.edge,
            edge_band=request.edge_band, progress=progress, cancel=cancel,
        )  # fmt: skip
        made.append(("alpha PNGs", pngs, request.alpha_png_dir))
    _publish_together([(cached, Path(path)) for _, cached, path in made])
    return {name: Path(path) for name, _, path in made}


def _publish_together(pairs: list[tuple[Path, Path]]) -> None:
    """Copy each cached output beside its destination, then move them all into place."""
    with contextlib.ExitStack() as publishing:  # each copy is published as the stack closes
        for cached, final in pairs:
            final.absolute().parent.mkdir(parents=True, exist_ok=True)
            staged = publishing.enter_context(atomic_path(final))
            if cached.is_dir():
                shutil.copytree(cached, staged)
            else:
                shutil.copyfile(cached, staged)


def check_request(project: Project, request: OutputRequest) -> None:
    """Refuse (`BadInput`) paths and options of `request` that cannot be written."""
    if request.mask_dir is not None and request.mask_dir.is_file():
        raise BadInput(f"mask folder {request.mask_dir.name} is an existing file")
    if request.preview_path is not None:
        check_output_video(request.preview_path)
    for path in (request.zip_path, request.coco_path):
        if path is not None and path.is_dir():
            raise BadInput(f"{path.name} is an existing folder: give a file name")
    outputs = (
        request.zip_path,
        request.coco_path,
        request.davis_dir,
        request.alpha_png_dir,
        *request.alpha_videos,
    )
    for path in outputs:
        if path is not None and not path.absolute().parent.is_dir():
            raise BadInput(f"the folder of {path.name} does not exist")
    obj_ids = project.mask_objects()
    for path in request.alpha_videos:
        formats = export_formats.ExportFormats(
            alpha_video_path=path, alpha_objects=request.alpha_objects, feather=request.feather
        )
        formats.check(obj_ids)
    if request.davis_dir is not None:
        export_formats.ExportFormats(davis_dir=request.davis_dir).check(obj_ids)


def _legend_key(legend: dict[int, str]) -> tuple:
    """What a preview's cache name depends on besides its fps: its legend, when it has one (a preview
    without one keeps the name it always had)."""
    return (sorted(legend.items()),) if legend else ()


def _latest_finished(project: Project) -> bool:
    latest = project.latest_run()
    return latest is not None and latest.finished


def _shown_frames(project: Project) -> range | None:
    """The preview's frames: all of them once the latest run finished, else up to the last it tracked
    (as the preview written while tracking has them)."""
    if _latest_finished(project):
        return None
    tracked = project.tracked_frames()
    return range(0, tracked[-1] + 1) if tracked else None
