"""What the app keeps per browser session, and the limits every uploaded video must meet.

Each browser tab (gradio's `request.session_hash`) gets a `BrowserSession`: a private working folder under
`config.SESSION_DIR`, named by a hash of the session id so that no id a client sends can name another
session's folder or leave the root; the video being segmented; one cancel flag per kind of job; and the
mask set the Compose tab previews. `SessionStore` creates sessions on first use, deletes one with its
folder when its tab closes (`demo.unload`), and deletes folders left untouched for
`config.STALE_SESSION_HOURS` at start-up and whenever a new session begins (API clients never close).

Jobs write into a fresh folder each (`BrowserSession.job`); the last `config.JOBS_KEPT_PER_KIND` finished
folders of each kind are kept, so files gradio is still handing out are never deleted under it.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import threading
import time
import uuid
from collections import deque
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sam2_gradio import config
from sam2_gradio.jobs import BadInput
from sam2_gradio.media.mask_files import MaskSet, load_mask_set
from sam2_gradio.media.video import VideoInfo, VideoReadError, probe_video

if TYPE_CHECKING:
    from sam2_gradio.engine.interactive import InteractiveSession
    from sam2_gradio.engine.pipeline import SegmentResult


class UploadRejected(BadInput):
    """An uploaded video over the limits of `config`, or not a video; the message is one sentence."""


def check_video_upload(path: str | Path, what: str = "video") -> VideoInfo:
    """Probe an uploaded video and check it against the size, duration and resolution limits.

    `what` names the upload in the message ("video", "background video"). Raises `UploadRejected`.
    """
    path = Path(path)
    if not path.is_file():
        raise UploadRejected(f"The {what} file {path.name} was not found.")
    size_mb = path.stat().st_size / 2**20
    if size_mb > config.MAX_UPLOAD_MB:
        raise UploadRejected(f"The {what} is {size_mb:.1f} MB; the limit is {config.MAX_UPLOAD_MB} MB.")
    try:
        info = probe_video(path)
    except VideoReadError:
        raise UploadRejected(f"The {what} could not be read as a video; try an MP4 (H.264) file.") from None
    if info.duration > config.MAX_VIDEO_SECONDS:
        raise UploadRejected(
            f"The {what} lasts {info.duration:.1f} s; the limit is {config.MAX_VIDEO_SECONDS:g} s."
        )
    if max(info.width, info.height) > config.MAX_VIDEO_SIDE:
        raise UploadRejected(
            f"The {what} is {info.width}x{info.height}; its longer side may be at most "
            f"{config.MAX_VIDEO_SIDE} pixels."
        )
    return info


@dataclass
class BrowserSession:
    """The working folder and state of one browser session."""

    session_id: str  # gradio's session hash
    folder: Path  # private working folder, deleted with the session
    segment: InteractiveSession | None = None  # the video being segmented, with its clicks
    video_path: Path | None = None  # the file of that video
    segment_result: SegmentResult | None = None  # the Segment tab's last propagation
    lock: threading.RLock = field(default_factory=threading.RLock)  # guards `segment` between events
    _cancel_flags: dict[str, threading.Event] = field(default_factory=dict)  # job kind -> flag
    _finished_jobs: dict[str, deque[Path]] = field(default_factory=dict)  # job kind -> kept folders
    _mask_set: MaskSet | None = None  # the masks the Compose tab shows, loaded once

    def cancel_flag(self, kind: str) -> threading.Event:
        """The flag that cancels this session's running job of `kind` ("segment", "compose", ...)."""
        return self._cancel_flags.setdefault(kind, threading.Event())

    @contextlib.contextmanager
    def job(self, kind: str) -> Iterator[Path]:
        """A fresh folder for one job of `kind`, with the kind's cancel flag cleared.

        A job that raises leaves nothing behind; a finished one is kept with the last
        `config.JOBS_KEPT_PER_KIND - 1` finished folders of its kind, older ones are deleted.
        """
        folder = self.folder / f"{kind}-{uuid.uuid4().hex[:12]}"
        folder.mkdir(parents=True)
        self.cancel_flag(kind).clear()
        try:
            yield folder
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        kept = self._finished_jobs.setdefault(kind, deque())
        kept.append(folder)
        while len(kept) > config.JOBS_KEPT_PER_KIND:
            shutil.rmtree(kept.popleft(), ignore_errors=True)

    def mask_set(self, source: str | Path) -> MaskSet:
        """The mask set of a folder or zip, loaded once (a zip extracted into the session's folder) and
        kept until another source is asked for."""
        with self.lock:
            if self._mask_set is None or self._mask_set.source != str(source):
                loaded = load_mask_set(source, extract_to=self.folder)
                self.close_mask_set()
                self._mask_set = loaded
            return self._mask_set

    def close_mask_set(self) -> None:
        """Forget the loaded mask set and delete what it extracted."""
        if self._mask_set is not None:
            self._mask_set.close()
            self._mask_set = None

    def close(self) -> None:
        """Cancel every job of the session and delete its folder."""
        for flag in self._cancel_flags.values():
            flag.set()
        self.close_mask_set()
        shutil.rmtree(self.folder, ignore_errors=True)


def folder_name(session_id: str) -> str:
    """The folder name of a session: a hash, so no session id can name a path or another session."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()[:32]


def remove_stale_folders(root: Path, max_age_hours: float, keep: Collection[Path] = ()) -> list[Path]:
    """Delete the folders of `root` not modified for `max_age_hours`, except `keep`; return them."""
    cutoff = time.time() - max_age_hours * 3600
    removed = []
    for folder in root.iterdir():
        if folder.is_dir() and folder not in keep and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


class SessionStore:
    """Every live `BrowserSession` of the app, keyed by gradio's session hash."""

    def __init__(self, root: Path = config.SESSION_DIR, *, stale_hours: float = config.STALE_SESSION_HOURS):
        self.root = Path(root)  # parent of every session folder
        self.stale_hours = stale_hours  # age at which a folder counts as abandoned
        self._sessions: dict[str, BrowserSession] = {}
        self._lock = threading.Lock()  # guards `_sessions`
        self.root.mkdir(parents=True, exist_ok=True)
        remove_stale_folders(self.root, self.stale_hours)

    def get(self, session_id: str) -> BrowserSession:
        """The session of `session_id`, created (with its folder) on first use."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                live = {known.folder for known in self._sessions.values()}
                remove_stale_folders(self.root, self.stale_hours, keep=live)
                session = BrowserSession(session_id, self.root / folder_name(session_id))
                session.folder.mkdir(parents=True, exist_ok=True)
                self._sessions[session_id] = session
            return session

    def close(self, session_id: str) -> None:
        """End a session: cancel its jobs and delete its folder (a no-op for unknown ids)."""
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is not None:
            session.close()

    def __len__(self) -> int:
        return len(self._sessions)
