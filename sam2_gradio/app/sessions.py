"""What the app keeps per browser session, and the limits every uploaded video must meet.

Each browser tab (gradio's `request.session_hash`) gets a `BrowserSession`: a private working folder under
`config.SESSION_DIR`, named by a hash of the session id so that no id a client sends can name another
session's folder or leave the root; the video being segmented; one cancel flag per kind of job; and the
mask set the Compose tab previews. `SessionStore` creates sessions on first use and deletes one with its
folder when its tab closes (`demo.unload`), when it has been idle for `config.SESSION_IDLE_MINUTES`, or,
longest-idle first, to make room when `config.MAX_LIVE_SESSIONS` are live (API clients never close).
At start-up it deletes folders left untouched for `config.STALE_SESSION_HOURS` and the partial files a
killed process left behind.

Jobs write into a fresh folder each (`BrowserSession.job`); the last `config.JOBS_KEPT_PER_KIND` finished
folders of each kind are kept, so files gradio is still handing out are never deleted under it, within
`config.MAX_SESSION_DISK_MB` per session (the oldest finished jobs go first).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from sam2_gradio import config
from sam2_gradio.errors import DiskLimitReached, NoVideoStream, ServerBusy, UploadRejected, VideoReadError
from sam2_gradio.media.atomic import atomic_path
from sam2_gradio.media.mask_files import MaskSet, load_mask_set
from sam2_gradio.media.video import VideoInfo, probe_video

if TYPE_CHECKING:
    from sam2_gradio.app.holdout_actions import HoldoutClicks
    from sam2_gradio.engine.store.project import Project
    from sam2_gradio.engine.tracking.interactive import InteractiveSession
    from sam2_gradio.engine.tracking.pipeline import SegmentResult
    from sam2_gradio.engine.tracking.prompts import PromptState


_FRAMES_SERVED = 16  # frame files kept per session: the page has fetched older ones


def check_video_upload(path: str | Path, what: str = "video") -> VideoInfo:
    """Probe an uploaded video and check it against the size, frame rate, frame count, duration and
    resolution limits.

    `what` names the upload in the message ("video", "background video"). Raises `UploadRejected`.
    """
    path = Path(path)
    if not path.is_file():
        raise UploadRejected(f"The {what} file {path.name} was not found.")
    size_mb = path.stat().st_size / 2**20
    if size_mb > config.MAX_UPLOAD_MB:
        raise UploadRejected(f"The {what} is {size_mb:.1f} MB; the limit is {config.MAX_UPLOAD_MB} MB.")
    try:
        _check_probed(probe_video(path, exact=False), what)  # from the header and packets: nothing decoded
        info = probe_video(path)
    except NoVideoStream:
        raise UploadRejected(
            f"The {what} file {path.name} has no video stream (only sound?): give a video with picture."
        ) from None
    except VideoReadError:
        raise UploadRejected(f"The {what} could not be read as a video; try an MP4 (H.264) file.") from None
    _check_probed(info, what)
    return info


def _check_probed(info: VideoInfo, what: str) -> None:
    _check_frame_rate_and_count(info, what)
    if info.duration > config.MAX_VIDEO_SECONDS:
        raise UploadRejected(
            f"The {what} lasts {info.duration:.1f} s; the limit is {config.MAX_VIDEO_SECONDS:g} s."
        )
    if max(info.width, info.height) > config.MAX_VIDEO_SIDE:
        raise UploadRejected(
            f"The {what} is {info.width}x{info.height}; its longer side may be at most "
            f"{config.MAX_VIDEO_SIDE} pixels."
        )


def _check_frame_rate_and_count(info: VideoInfo, what: str) -> None:
    if info.fps > config.MAX_VIDEO_FPS:
        raise UploadRejected(
            f"The {what} runs at {info.fps:g} frames per second; the limit is {config.MAX_VIDEO_FPS:g}."
        )
    if info.num_frames > config.MAX_VIDEO_FRAMES:
        raise UploadRejected(
            f"The {what} has {info.num_frames} frames; the limit is {config.MAX_VIDEO_FRAMES}."
        )


@dataclass(frozen=True)
class BoxCorner:
    """The first corner of a box the user is drawing on the Segment tab's frame."""

    frame: int
    obj_id: int
    x: float  # video pixels
    y: float


@dataclass
class BrowserSession:
    """The working folder and state of one browser session."""

    session_id: str  # gradio's session hash
    folder: Path  # private working folder, deleted with the session
    segment: InteractiveSession | None = None  # the video being segmented, with its clicks
    video_path: Path | None = None  # the file of that video
    project: Project | None = None  # its store: prompts with their history, tracked masks, runs
    project_id: str | None = None  # the project's id in the app's `ProjectLibrary` (None: a temporary one)
    segment_result: SegmentResult | None = None  # the Segment tab's last propagation
    segment_prompts: PromptState | None = None  # the prompts that propagation ran with
    compose_offered_project: str | None = None  # the Segment tab's project when Compose last offered it
    running_prompts: PromptState | None = None  # the prompts of the propagation running now, if any
    running_tracked: dict[int, range] | None = None  # per object, the frames that propagation has tracked
    navigations: int = 0  # frames the user chose so far (a running propagation then stops moving the view)
    viewed_frame: int = 0  # the frame the user chose last
    frame_to_encode: int | None = None  # the frame to encode ahead of a click (`encode_ahead`)
    box_corner: BoxCorner | None = None  # the first corner of a box being drawn, until its second click
    holdouts: HoldoutClicks | None = None  # the Compose tab's holdouts clicked on its background
    refused_upload: Path | None = None  # the Segment tab's latest refused video upload, taken out of its box
    shown_video: Path | None = None  # a reopened project's video, as served into the Segment tab's video box
    lock: threading.RLock = field(default_factory=threading.RLock)  # guards `segment` between events
    last_used: float = field(default_factory=time.monotonic)  # clock reading of the latest event
    running_jobs: int = 0  # jobs running now; a busy session is never reclaimed
    _cancel_flags: dict[str, threading.Event] = field(default_factory=dict)  # job kind -> flag
    _requested_at: dict[str, float] = field(default_factory=dict)  # job kind -> when one was queued
    _cancelled_at: dict[str, float] = field(default_factory=dict)  # job kind -> the latest Cancel
    _finished_jobs: dict[str, deque[Path]] = field(default_factory=dict)  # job kind -> kept folders
    _job_bytes: dict[Path, int] = field(default_factory=dict)  # kept folder -> its size, oldest first
    _mask_set: MaskSet | None = None  # the masks the Compose tab shows, loaded once
    _uploads: dict[str, tuple[Path, int]] = field(default_factory=dict)  # role -> upload in gradio's cache
    _served_frames: deque[Path] = field(default_factory=deque)  # the latest frames served, oldest first
    store: SessionStore | None = field(
        default=None, repr=False
    )  # the live sessions (global budget, shared uploads)

    @property
    def disk_bytes(self) -> int:
        """Bytes the session's kept job folders and its uploads in gradio's cache take."""
        return sum(self._job_bytes.values()) + sum(size for _, size in self._uploads.values())

    @property
    def served_dir(self) -> Path:
        """This session's folder in gradio's cache, where its results are served from (`serve`)."""
        return gradio_cache_dir() / "sam2_gradio_served" / self.folder.name

    @property
    def uploads(self) -> list[Path]:
        """The uploads (files in gradio's cache) this session uses now (`adopt_upload`)."""
        return [path for path, _ in self._uploads.values()]

    def adopt_upload(self, path: str | Path, role: str) -> None:
        """Count an uploaded file against this session's disk, and delete it when the session closes or
        when another upload takes its `role` ("video", "masks", ...). Files outside gradio's cache (an
        example, a server path) are left alone.

        Raises `UploadRejected` when it would take the session past `config.MAX_SESSION_DISK_MB`, or
        every session past `config.MAX_TOTAL_DISK_MB`.
        """
        path = Path(path).resolve()
        previous = self._uploads.get(role)
        cache = gradio_cache_dir()
        if (previous is not None and previous[0] == path) or not path.is_relative_to(cache):
            return
        if path.is_relative_to(self.served_dir.parent):  # a result served back as an input
            return
        size = path.stat().st_size
        kept = self.disk_bytes - (previous[1] if previous else 0) + size
        if kept > config.MAX_SESSION_DISK_MB * 2**20:
            raise UploadRejected(
                f"The upload would take this session past its {config.MAX_SESSION_DISK_MB} MB of disk."
            )
        if self._over_global_budget(size):
            raise UploadRejected("The server's disk for all sessions is full; try again later.")
        self._uploads[role] = (path, size)
        in_use = set(self.uploads) | (
            self.store.uploads_in_use(but=self) if self.store is not None else set()
        )
        if previous is not None and previous[0] not in in_use:
            previous[0].unlink(missing_ok=True)

    def serve(self, path: str | Path, name: str | None = None) -> str:
        """`path`, a file of this session's folder, as gradio should serve it: hard-linked into gradio's
        cache under this session's own folder (gradio then serves it in place: no copy of the result, no
        content-named cache file shared with other sessions) and deleted with its job or the session.
        `name` names the served file (default: `path`'s name)."""
        path = Path(path)
        served = self._served_path(path, name)
        try:
            os.link(path, served)
        except OSError:  # another file system: a copy
            shutil.copyfile(path, served)
        return str(served)

    def serve_linked(self, path: str | Path, name: str | None = None) -> str | None:
        """`serve` for a file too large to copy each time (a project's video): None, and nothing served,
        when it cannot be hard-linked (gradio's cache is on another file system)."""
        path = Path(path)
        served = self._served_path(path, name)
        try:
            os.link(path, served)
        except OSError:
            shutil.rmtree(served.parent, ignore_errors=True)
            return None
        return str(served)

    def _served_path(self, path: Path, name: str | None) -> Path:
        """A new place for `path` in this session's served folder (its folder made), named `name`."""
        job = path.relative_to(self.folder).parts[0] if path.is_relative_to(self.folder) else "other"
        served = self.served_dir / job / uuid.uuid4().hex[:8] / (name or path.name)
        served.parent.mkdir(parents=True)
        return served

    def serve_frame(self, image: np.ndarray) -> str:
        """A frame (``uint8`` (H, W, 3) RGB) as a JPEG file of this session's own in gradio's cache, for an
        image output. (Given the array, gradio writes a file named by its content alone, in place, while
        another session showing the same frame may be reading it.) Named by its content within the
        session, so the page's cache still serves a frame shown again; written atomically; the latest
        `_FRAMES_SERVED` are kept."""
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="jpeg")
        data = buffer.getvalue()
        path = self.served_dir / "frames" / f"frame-{hashlib.sha256(data).hexdigest()[:16]}.jpeg"
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as temp:
            temp.write_bytes(data)
        with self.lock:
            if path in self._served_frames:
                self._served_frames.remove(path)
            self._served_frames.append(path)
            while len(self._served_frames) > _FRAMES_SERVED:
                self._served_frames.popleft().unlink(missing_ok=True)
        return str(path)

    def _over_global_budget(self, extra: int) -> bool:
        total = self.store.disk_bytes() if self.store is not None else self.disk_bytes
        return total + extra > config.MAX_TOTAL_DISK_MB * 2**20

    def cancel_flag(self, kind: str) -> threading.Event:
        """The flag that cancels this session's running job of `kind` ("segment", "compose", ...)."""
        return self._cancel_flags.setdefault(kind, threading.Event())

    def request_job(self, kind: str) -> None:
        """Note that a job of `kind` was asked for and may wait in the queue: a `cancel` between now and
        its start stops it as it starts (its first check of the flag)."""
        self._requested_at[kind] = time.monotonic()

    def cancel(self, kind: str) -> None:
        """Stop the running job of `kind` at its next check, and a requested one still waiting."""
        self._cancelled_at[kind] = time.monotonic()
        self.cancel_flag(kind).set()

    @contextlib.contextmanager
    def job(self, kind: str) -> Iterator[Path]:
        """A fresh folder for one job of `kind`, with the kind's cancel flag cleared, unless the job was
        cancelled while it waited (`request_job`, then `cancel`): its flag then stays set.

        A job that raises leaves nothing behind; a finished one is kept with the last
        `config.JOBS_KEPT_PER_KIND - 1` finished folders of its kind, older ones are deleted, and so are the
        oldest of any kind while the session takes more than `config.MAX_SESSION_DISK_MB`. A result larger
        than that on its own is deleted too (`DiskLimitReached`).
        """
        folder = self.folder / f"{kind}-{uuid.uuid4().hex[:12]}"
        folder.mkdir(parents=True)
        requested = self._requested_at.pop(kind, None)
        if requested is None or self._cancelled_at.get(kind, -1.0) < requested:
            self.cancel_flag(kind).clear()
        self.running_jobs += 1
        try:
            yield folder
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        finally:
            self.running_jobs -= 1
        self._keep(kind, folder)

    def _keep(self, kind: str, folder: Path) -> None:
        kept = self._finished_jobs.setdefault(kind, deque())
        kept.append(folder)
        self._job_bytes[folder] = folder_bytes(folder)
        while len(kept) > config.JOBS_KEPT_PER_KIND:
            self._delete_job(kept[0])
        limit = config.MAX_SESSION_DISK_MB * 2**20
        while self.disk_bytes > limit and next(iter(self._job_bytes)) != folder:
            self._delete_job(next(iter(self._job_bytes)))
        if self.disk_bytes > limit:
            size = self._job_bytes[folder]
            self._delete_job(folder)
            raise DiskLimitReached(
                f"The result takes {size / 2**20:.0f} MB of disk, more than the "
                f"{config.MAX_SESSION_DISK_MB} MB a session may keep; try a shorter or smaller video."
            )
        if self._over_global_budget(0):
            self._delete_job(folder)
            raise DiskLimitReached(
                f"The server's disk for all sessions ({config.MAX_TOTAL_DISK_MB} MB) is full; try later."
            )

    def _delete_job(self, folder: Path) -> None:
        self._job_bytes.pop(folder, None)
        for kept in self._finished_jobs.values():
            if folder in kept:
                kept.remove(folder)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(self.served_dir / folder.name, ignore_errors=True)

    def mask_set(self, source: str | Path) -> MaskSet:
        """The mask set of a folder or zip, indexed once (a zip is read in place) and kept until another
        source is asked for. A replaced set is not closed: a preview still reading it finishes, and its
        zip closes when the last user lets go of it."""
        with self.lock:
            if self._mask_set is None or self._mask_set.source != str(source):
                self._mask_set = load_mask_set(source)
            return self._mask_set

    def close_mask_set(self) -> None:
        """Forget the loaded mask set and close its zip."""
        if self._mask_set is not None:
            self._mask_set.close()
            self._mask_set = None

    def close(self, shared: Collection[Path] = ()) -> None:
        """Cancel every job of the session, drop its video (with its clicks and image features, the
        memory it took) and delete its folder, the files it served and its uploads (but those in
        `shared`, which other live sessions use)."""
        for flag in self._cancel_flags.values():
            flag.set()
        with self.lock:
            self.segment, self.project = None, None  # a project stays on disk; a running job keeps its own
            self.holdouts = None
        self.close_mask_set()
        shutil.rmtree(self.folder, ignore_errors=True)
        shutil.rmtree(self.served_dir, ignore_errors=True)
        for path in self.uploads:
            if path not in shared:
                path.unlink(missing_ok=True)
        self._uploads.clear()


def gradio_cache_dir() -> Path:
    """Gradio's folder of uploads and served files (``GRADIO_TEMP_DIR``, else ``<temp>/gradio``)."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()


def folder_name(session_id: str) -> str:
    """The folder name of a session: a hash, so no session id can name a path or another session."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()[:32]


def folder_bytes(folder: Path) -> int:
    """Bytes the files under `folder` take (0 when it is gone)."""
    total = 0
    for parent, _, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(parent, name)).st_size
    return total


def remove_stale_folders(root: Path, max_age_hours: float, keep: Collection[Path] = ()) -> list[Path]:
    """Delete the folders of `root` not modified for `max_age_hours`, except `keep`; return them."""
    cutoff = time.time() - max_age_hours * 3600
    removed = []
    for folder in root.iterdir():
        if folder.is_dir() and folder not in keep and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def is_partial_name(name: str) -> bool:
    """Whether `name` is one of the hidden partial files or folders outputs are written to first
    (``.masks.partial-1a2b3c4d``, ``.preview.partial-1a2b3c4d.mp4``, ``.composite.1a2b3c4d.partial.mp4``)."""
    return name.startswith(".") and (".partial-" in name or ".partial." in name)


def sweep_leftovers(root: Path, temp_dir: Path | None = None) -> list[Path]:
    """Delete the partial outputs inside the session folders of `root`, and the mask folders older
    versions extracted into `temp_dir` (default: the system temp folder); return what was deleted.

    Only for start-up: a killed process leaves these behind, a live one may be writing them."""
    temp_dir = Path(tempfile.gettempdir()) if temp_dir is None else temp_dir
    found = [path for session in root.iterdir() if session.is_dir() for path in _partials_in(session)]
    found += list(temp_dir.glob("sam2-gradio-masks-*"))
    for path in found:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return found


def _partials_in(session_folder: Path) -> list[Path]:
    partials = []
    for parent, folders, names in os.walk(session_folder):
        for name in [*folders, *names]:
            if is_partial_name(name):
                partials.append(Path(parent) / name)
        folders[:] = [name for name in folders if not is_partial_name(name)]  # deleted whole
    return partials


class SessionStore:
    """Every live `BrowserSession` of the app, keyed by gradio's session hash."""

    def __init__(
        self,
        root: Path = config.SESSION_DIR,
        *,
        stale_hours: float = config.STALE_SESSION_HOURS,
        idle_minutes: float = config.SESSION_IDLE_MINUTES,
        max_sessions: int = config.MAX_LIVE_SESSIONS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.root = Path(root)  # parent of every session folder
        self.stale_hours = stale_hours  # age at which a folder counts as abandoned
        self.idle_seconds = idle_minutes * 60  # idle time after which a session is closed
        self.max_sessions = max_sessions  # live sessions at most
        self.clock = clock  # monotonic seconds, for idle times
        self._sessions: dict[str, BrowserSession] = {}
        self._lock = threading.Lock()  # guards `_sessions`
        self.root.mkdir(parents=True, exist_ok=True)
        remove_stale_folders(self.root, self.stale_hours)
        sweep_leftovers(self.root)

    def get(self, session_id: str) -> BrowserSession:
        """The session of `session_id`, created (with its folder) on first use.

        Idle sessions are closed first; a new session beyond `max_sessions` closes the longest-idle one,
        or raises `ServerBusy` when every live session is running a job.
        """
        with self._lock:
            now = self.clock()
            reclaimed = self._pop_idle(now)
            session = self._sessions.get(session_id)
            if session is None:
                if len(self._sessions) >= self.max_sessions:
                    reclaimed.append(self._pop_longest_idle())
                live = {known.folder for known in self._sessions.values()}
                remove_stale_folders(self.root, self.stale_hours, keep=live)
                session = BrowserSession(session_id, self.root / folder_name(session_id))
                session.store = self
                session.folder.mkdir(parents=True, exist_ok=True)
                self._sessions[session_id] = session
            session.last_used = now
        for old in reclaimed:
            old.close(shared=self.uploads_in_use())
        return session

    def disk_bytes(self) -> int:
        """Bytes every live session takes (`BrowserSession.disk_bytes`), for `config.MAX_TOTAL_DISK_MB`."""
        return sum(session.disk_bytes for session in list(self._sessions.values()))

    def uploads_in_use(self, but: BrowserSession | None = None) -> set[Path]:
        """The uploads live sessions (all `but` one) use, which no other session may delete."""
        return {
            path
            for session in list(self._sessions.values())
            if session is not but
            for path in session.uploads
        }

    def _pop_idle(self, now: float) -> list[BrowserSession]:
        idle = [
            key
            for key, session in self._sessions.items()
            if not session.running_jobs and now - session.last_used >= self.idle_seconds
        ]
        return [self._sessions.pop(key) for key in idle]

    def _pop_longest_idle(self) -> BrowserSession:
        resting = [session for session in self._sessions.values() if not session.running_jobs]
        if not resting:
            raise ServerBusy(
                f"The server is busy with {len(self._sessions)} sessions, the most it takes; try again soon."
            )
        oldest = min(resting, key=lambda session: session.last_used)
        return self._sessions.pop(oldest.session_id)

    def close(self, session_id: str) -> None:
        """End a session: cancel its jobs and delete its folder (a no-op for unknown ids)."""
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is not None:
            session.close(shared=self.uploads_in_use())

    def __len__(self) -> int:
        return len(self._sessions)
