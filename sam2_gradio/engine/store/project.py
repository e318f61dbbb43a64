"""A project: one video's prompts, tracked masks, runs and propagation checkpoint in one SQLite file.

    project = Project.open_or_create("projects/dog", "dog.mp4")
    project.save_prompts(prompts)            # every edit, with its undo history
    ...                                       # engine.tracking.track_project fills the masks
    project.masks().mask(12, 1)               # bool (H, W): object 1 on frame 12
    project.summary()                         # what the `project` CLI prints

Layout of a project folder: ``project.sqlite`` (the store; WAL files beside it while open) and
``outputs/`` (exports written from the store and cached against its masks version). A project may be
given a disk cap (`Project.disk_cap_bytes`, set by a public app): tracking and exports then stop with
`DiskLimitReached` once its folder takes more, keeping what was committed. Every change is one
transaction, so a reader never sees half a frame and a process killed at any point loses nothing
committed. Masks are those of the latest run: frames another run tracked earlier are not shown until the
latest one tracks them again, and are dropped when it finishes.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sam2_gradio.engine.exports.export_formats import TrackedMasks
from sam2_gradio.engine.exports.overlay import color_hex
from sam2_gradio.engine.store import schema
from sam2_gradio.engine.tracking.prompts import PromptState, prompt_state_from_dict, prompts_key
from sam2_gradio.errors import BadInput, DiskFull, DiskLimitReached
from sam2_gradio.media.frames import FrameSource, VideoMeta, open_frames
from sam2_gradio.media.mask_code import MaskCode

PROJECT_FILE = "project.sqlite"
OUTPUTS_DIR = "outputs"
HASH_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class VideoRecord:
    """The video a project belongs to."""

    name: str  # file (or folder) name
    path: Path  # where it was when the project was made (or last relinked)
    sha256: str  # content hash
    size_bytes: int
    meta: VideoMeta


@dataclass(frozen=True)
class RunRecord:
    """One propagation into the project."""

    id: int
    direction: str
    prompts_key: str  # `prompts.prompts_key` of the clicks it tracked
    total: int  # frames it yields when finished
    frames_tracked: int  # frames it has tracked (counted again when re-tracked after a crash)
    finished: bool
    stopped: str | None  # why it stopped early (None: finished, or still running)
    started: float
    ended: float | None


def video_fingerprint(path: str | Path) -> tuple[str, int]:
    """(sha256, bytes) of a video file, or of a folder of frames (its file names and contents)."""
    path = Path(path)
    digest, size = hashlib.sha256(), 0
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(file.name.encode() + b"\0")
        with file.open("rb") as stream:
            while chunk := stream.read(HASH_CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
    return digest.hexdigest(), size


class Project:
    """The store of one video's work (see the module docstring). Thread-safe; use as a context manager
    or `close()` it."""

    def __init__(self, folder: Path, connection: sqlite3.Connection) -> None:
        self.folder = folder  # the project folder
        self._db = connection  # autocommit mode: every change below opens its own transaction
        self._lock = threading.RLock()  # one statement sequence at a time per connection
        self.disk_cap_bytes: int | None = None  # the most bytes the folder may take (None: no cap)
        self._beside_store_bytes: int | None = None  # bytes of the folder but the store, last measured

    # --- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, folder: str | Path) -> Project:
        """Open an existing project folder (`BadInput` when it holds no project)."""
        folder = Path(folder)
        if not (folder / PROJECT_FILE).is_file():
            raise BadInput(f"{folder} is not a project folder (it has no {PROJECT_FILE})")
        project = cls(folder, schema.connect(folder / PROJECT_FILE))
        if project._row("SELECT 1 FROM video") is None:
            project.close()
            raise BadInput(f"the project in {folder} has no video: track into it again to make it")
        return project

    @classmethod
    def create(cls, folder: str | Path, video_path: str | Path, *, meta: VideoMeta | None = None) -> Project:
        """Make a project for the video at `video_path` in `folder` (created when missing)."""
        folder, video_path = Path(folder), Path(video_path).absolute()
        if (folder / PROJECT_FILE).exists():
            raise BadInput(f"{folder} already holds a project: open it instead")
        meta = meta or open_frames(video_path).meta
        sha256, size = video_fingerprint(video_path)
        _make_folder(folder)
        project = cls(folder, schema.connect(folder / PROJECT_FILE, create=True))
        with project._transaction():
            project._db.execute(
                "INSERT INTO video VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (video_path.name, str(video_path), sha256, size, meta.num_frames, meta.width,
                 meta.height, meta.fps, time.time()),
            )  # fmt: skip
            empty = PromptState(video=meta)
            project._db.execute(
                "INSERT INTO prompts VALUES (1, 0, ?, ?, ?)",
                (json.dumps(empty.to_dict()), json.dumps({"undo": [], "redo": []}), time.time()),
            )
        return project

    @classmethod
    def open_or_create(cls, folder: str | Path, video_path: str | Path) -> Project:
        """The project in `folder` for the video at `video_path`: opened (after checking that it is the
        same video, and pointing it at `video_path` if the file moved) or made."""
        if not (Path(folder) / PROJECT_FILE).exists():
            return cls.create(folder, video_path)
        project = cls.open(folder)
        try:
            project.check_video(video_path)
        except BaseException:
            project.close()
            raise
        return project

    def check_video(self, video_path: str | Path) -> None:
        """Make sure `video_path` holds this project's video (same content) and remember where it is."""
        video_path = Path(video_path).absolute()
        record = self.video
        sha256, _ = video_fingerprint(video_path)
        if sha256 != record.sha256:
            raise BadInput(
                f"{self.folder} is the project of another video ({record.name}, different content): "
                "give another project folder for this one"
            )
        if video_path != record.path:
            with self._transaction():
                self._db.execute("UPDATE video SET path = ?, name = ?", (str(video_path), video_path.name))

    def close(self) -> None:
        """Close the database (committed work is on disk already)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the video -----------------------------------------------------------------------------
    @property
    def video(self) -> VideoRecord:
        """The project's video."""
        name, path, sha256, size, frames, width, height, fps = self._row(
            "SELECT name, path, sha256, size_bytes, num_frames, width, height, fps FROM video"
        )
        return VideoRecord(name, Path(path), sha256, size, VideoMeta(frames, width, height, fps))

    @property
    def meta(self) -> VideoMeta:
        """Frame count, size and fps of the project's video."""
        return self.video.meta

    def frames(self) -> FrameSource:
        """The video's frames (`BadInput` when the file is gone or changed since the project was made)."""
        record = self.video
        if not record.path.exists():
            raise BadInput(
                f"the project's video {record.name} is no longer at {record.path}: give it again "
                "(--video) to relink it"
            )
        source = open_frames(record.path, fps=record.meta.fps)
        if source.meta != record.meta:
            raise BadInput(f"the video at {record.path} changed since the project was made")
        return source

    # --- prompts -------------------------------------------------------------------------------
    def prompts(self) -> PromptState:
        """The prompt state now, with its undo and redo history."""
        version, state, history = self._row("SELECT version, state, history FROM prompts")
        meta = self.meta
        prompts = prompt_state_from_dict(json.loads(state), meta)
        steps = json.loads(history)
        prompts.history.undo_steps = [prompt_state_from_dict(s, meta).snapshot() for s in steps["undo"]]
        prompts.history.redo_steps = [prompt_state_from_dict(s, meta).snapshot() for s in steps["redo"]]
        return prompts

    @property
    def prompts_version(self) -> int:
        """How many times the prompts were saved (0: never)."""
        return self._row("SELECT version FROM prompts")[0]

    def save_prompts(self, prompts: PromptState) -> int:
        """Store `prompts` and their history (one transaction); returns the new prompts version."""
        meta = self.meta
        history = {
            "undo": [_snapshot_dict(step, meta) for step in prompts.history.undo_steps],
            "redo": [_snapshot_dict(step, meta) for step in prompts.history.redo_steps],
        }
        with self._transaction():
            self._db.execute(
                "UPDATE prompts SET version = version + 1, state = ?, history = ?, updated = ?",
                (json.dumps(prompts.to_dict()), json.dumps(history), time.time()),
            )
            self._db.execute("DELETE FROM objects")
            self._db.executemany(
                "INSERT INTO objects VALUES (?, ?, ?)",
                [(obj, prompts.names.get(obj, ""), color_hex(obj)) for obj in prompts.object_ids],
            )
        return self.prompts_version

    def objects(self) -> list[tuple[int, str]]:
        """(id, name) of every object, by id (the name is empty when the user gave none)."""
        with self._lock:
            return [tuple(row) for row in self._db.execute("SELECT id, name FROM objects ORDER BY id")]

    # --- runs and masks ------------------------------------------------------------------------
    def runs(self) -> list[RunRecord]:
        """Every run, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, direction, prompts_key, total, frames_tracked, finished, stopped, started, "
                "ended FROM runs ORDER BY id"
            ).fetchall()
        return [RunRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7], r[8]) for r in rows]

    def latest_run(self) -> RunRecord | None:
        """The newest run, whose masks the project shows."""
        runs = self.runs()
        return runs[-1] if runs else None

    def run_prompts(self, run_id: int) -> PromptState:
        """The prompts run `run_id` tracked."""
        (state,) = self._row("SELECT prompts FROM runs WHERE id = ?", (run_id,))
        return prompt_state_from_dict(json.loads(state), self.meta)

    def begin_run(self, prompts: PromptState, direction: str, total: int) -> int:
        """Record a new run of `prompts` in `direction` (`total` frames); older unfinished runs are
        marked stopped. Returns its id."""
        with self._transaction():
            self._db.execute(
                "UPDATE runs SET stopped = coalesce(stopped, 'replaced by a newer run'), "
                "ended = coalesce(ended, ?) WHERE finished = 0",
                (time.time(),),
            )
            self._db.execute("DELETE FROM checkpoint")
            cursor = self._db.execute(
                "INSERT INTO runs (prompts_key, prompts, direction, total, started) VALUES (?, ?, ?, ?, ?)",
                (prompts_key(prompts), json.dumps(prompts.to_dict()), direction, total, time.time()),
            )
        return int(cursor.lastrowid)

    def commit_frame(
        self,
        run_id: int,
        frame: int,
        obj_ids: Sequence[int],
        masks: np.ndarray,
        *,
        checkpoint: tuple[int, bytes] | None = None,
    ) -> None:
        """Store the bool (objects, H, W) `masks` of `frame` tracked by run `run_id`, in one transaction
        with the run's count and, when given, its checkpoint `(frames_done, state)`.

        Raises `DiskFull` when the disk is full, `DiskLimitReached` when the folder takes more than
        `disk_cap_bytes` (the store's files measured each frame, the rest of the folder as `check_disk_cap`
        last measured it); nothing of this frame is stored then.
        """
        if masks.shape[0] != len(obj_ids):
            raise ValueError(f"{masks.shape[0]} masks for {len(obj_ids)} objects on frame {frame}")
        if self.disk_cap_bytes is not None:
            if self._beside_store_bytes is None:
                self.check_disk_cap()
            self._refuse_past_cap(self._beside_store_bytes + self._store_bytes())
        rows = [
            (frame, int(obj), MaskCode.from_mask(mask).data, int(mask.sum()))
            for obj, mask in zip(obj_ids, masks, strict=True)
            if mask.any()
        ]
        with self._transaction():
            self._db.execute("DELETE FROM masks WHERE frame = ?", (frame,))
            self._db.execute("INSERT OR REPLACE INTO frames VALUES (?, ?)", (frame, run_id))
            self._db.executemany("INSERT INTO masks (frame, obj_id, code, area) VALUES (?, ?, ?, ?)", rows)
            self._db.execute("UPDATE runs SET frames_tracked = frames_tracked + 1 WHERE id = ?", (run_id,))
            self._bump_masks_version()
            if checkpoint is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO checkpoint VALUES (?, ?, ?, ?)",
                    (run_id, checkpoint[0], checkpoint[1], time.time()),
                )

    def save_checkpoint(self, run_id: int, frames_done: int, state: bytes) -> None:
        """Store the parked state of run `run_id` after `frames_done` frames (replacing the last one)."""
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO checkpoint VALUES (?, ?, ?, ?)",
                (run_id, frames_done, state, time.time()),
            )

    def checkpoint(self, run_id: int) -> tuple[int, bytes] | None:
        """`(frames_done, state)` of the last checkpoint of run `run_id`, or None."""
        row = self._row("SELECT frames_done, state FROM checkpoint WHERE run_id = ?", (run_id,))
        return None if row is None else (int(row[0]), bytes(row[1]))

    def end_run(self, run_id: int, *, finished: bool, stopped: str | None = None) -> None:
        """Mark run `run_id` finished (dropping its checkpoint and older runs' masks) or stopped."""
        with self._transaction():
            self._db.execute(
                "UPDATE runs SET finished = ?, stopped = ?, ended = ? WHERE id = ?",
                (int(finished), None if finished else stopped, time.time(), run_id),
            )
            if finished:
                self._db.execute("DELETE FROM checkpoint WHERE run_id = ?", (run_id,))
                stale = "SELECT frame FROM frames WHERE run_id != ?"
                self._db.execute(f"DELETE FROM masks WHERE frame IN ({stale})", (run_id,))
                self._db.execute("DELETE FROM frames WHERE run_id != ?", (run_id,))
                self._bump_masks_version()

    def tracked_frames(self, run_id: int | None = None) -> list[int]:
        """The frames run `run_id` (default: the latest run) has masks for, ascending."""
        run_id = self._latest_id() if run_id is None else run_id
        with self._lock:
            rows = self._db.execute("SELECT frame FROM frames WHERE run_id = ? ORDER BY frame", (run_id,))
            return [frame for (frame,) in rows]

    @property
    def masks_version(self) -> int:
        """A number that changes whenever the masks change (outputs are cached against it)."""
        row = self._row("SELECT value FROM settings WHERE key = 'masks_version'")
        return int(row[0]) if row else 0

    def masks(self, obj_ids: Sequence[int] | None = None) -> TrackedMasks:
        """The latest run's masks (frames it has not tracked are empty) as `TrackedMasks`, which every
        mask export reads; `obj_ids` (default: every object with prompts or masks) in export order."""
        run_id = self._latest_id()
        with self._lock:
            rows = self._db.execute(
                "SELECT m.frame, m.obj_id, m.code FROM masks m JOIN frames f ON f.frame = m.frame "
                "WHERE f.run_id = ? ORDER BY m.frame",
                (run_id,),
            ).fetchall()
        meta = self.meta
        ids = list(obj_ids) if obj_ids is not None else self.mask_objects()
        tracked = TrackedMasks(meta, ids)
        by_frame: dict[int, dict[int, MaskCode]] = {}
        for frame, obj, code in rows:
            if obj in ids:
                by_frame.setdefault(frame, {})[obj] = MaskCode(meta.height, meta.width, bytes(code))
        for frame, rles in by_frame.items():
            tracked.put(frame, rles)
        return tracked

    def mask_area(self, obj_ids: Sequence[int] | None = None) -> int:
        """Pixels the latest run's masks of `obj_ids` (default: every object) cover, summed over frames
        and objects (from the stored areas: nothing is decoded)."""
        sql = "SELECT m.obj_id, sum(m.area) FROM masks m JOIN frames f ON f.frame = m.frame "
        with self._lock:
            rows = self._db.execute(sql + "WHERE f.run_id = ? GROUP BY m.obj_id", (self._latest_id(),))
            return sum(int(area) for obj, area in rows if obj_ids is None or obj in obj_ids)

    def mask_objects(self) -> list[int]:
        """Every object with prompts or with masks, by id."""
        with self._lock:
            rows = self._db.execute("SELECT id FROM objects UNION SELECT DISTINCT obj_id FROM masks")
            return sorted(obj for (obj,) in rows)

    def frame_masks(self, frame: int) -> dict[int, np.ndarray]:
        """The latest run's bool (H, W) mask of each object on `frame` (absent objects left out)."""
        meta = self.meta
        with self._lock:
            rows = self._db.execute(
                "SELECT m.obj_id, m.code FROM masks m JOIN frames f ON f.frame = m.frame "
                "WHERE m.frame = ? AND f.run_id = ?",
                (frame, self._latest_id()),
            ).fetchall()
        return {obj: MaskCode(meta.height, meta.width, bytes(code)).to_mask() for obj, code in rows}

    def stored_mask_bytes(self) -> int:
        """Bytes the masks' codes take in the store (`media.mask_code`)."""
        return int(self._row("SELECT coalesce(sum(length(code)), 0) FROM masks")[0])

    def disk_bytes(self) -> int:
        """Bytes the project folder takes: the store, the video when it lives there, cached outputs."""
        total = 0
        for parent, _, names in os.walk(self.folder):
            for name in names:
                try:
                    total += os.lstat(os.path.join(parent, name)).st_size
                except OSError:  # deleted meanwhile (an old cached output)
                    continue
        return total

    def check_disk_cap(self) -> None:
        """Raise `DiskLimitReached` when the folder takes more than `disk_cap_bytes` (no-op without a
        cap); what is stored is kept. Measures the whole folder (`disk_bytes`)."""
        if self.disk_cap_bytes is None:
            return
        total = self.disk_bytes()
        self._beside_store_bytes = total - self._store_bytes()
        self._refuse_past_cap(total)

    def _store_bytes(self) -> int:
        """Bytes of the database and its WAL files."""
        total = 0
        for path in self.folder.glob(f"{PROJECT_FILE}*"):
            try:
                total += path.stat().st_size
            except OSError:  # a WAL file checkpointed away meanwhile
                continue
        return total

    def _refuse_past_cap(self, total: int) -> None:
        if self.disk_cap_bytes is not None and total > self.disk_cap_bytes:
            raise DiskLimitReached(
                f"This project reached the {self.disk_cap_bytes / 2**20:.0f} MB of disk a project may take "
                "on this server, so nothing more is written (what is tracked is kept): download what you "
                "need, or use a shorter or smaller video."
            )

    # --- settings ------------------------------------------------------------------------------
    def setting(self, key: str, default: str | None = None) -> str | None:
        """A small value kept with the project (e.g. the frame shown), or `default`."""
        row = self._row("SELECT value FROM settings WHERE key = ?", (key,))
        return default if row is None else row[0]

    def set_setting(self, key: str, value: str) -> None:
        """Keep `value` under `key` in the project."""
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, value))

    # --- summary -------------------------------------------------------------------------------
    def is_current(self, direction: str | None = None) -> bool:
        """Whether the latest run finished tracking the prompts as they are now (in `direction`)."""
        return _tracks(self.latest_run(), prompts_key(self.prompts()), direction)

    def summary(self) -> dict[str, Any]:
        """What the project holds, as the `project` CLI prints it (JSON-ready)."""
        record = self.video
        latest = self.latest_run()
        current_key = prompts_key(self.prompts())
        current_frames = (
            len(self.tracked_frames(latest.id)) if latest and latest.prompts_key == current_key else 0
        )
        return {
            "folder": str(self.folder),
            "video": {
                "name": record.name,
                "path": str(record.path),
                "frames": record.meta.num_frames,
                "fps": record.meta.fps,
                "width": record.meta.width,
                "height": record.meta.height,
                "sha256": record.sha256,
            },
            "objects": [{"id": obj, "name": name} for obj, name in self.objects()],
            "prompts_version": self.prompts_version,
            "frames_tracked": current_frames,
            "current": _tracks(latest, current_key),
            "runs": [
                {
                    "id": run.id,
                    "direction": run.direction,
                    "frames_tracked": run.frames_tracked,
                    "total": run.total,
                    "finished": run.finished,
                    "stopped": run.stopped,
                }
                for run in self.runs()
            ],
            "store_bytes": (self.folder / PROJECT_FILE).stat().st_size,
        }

    # --- internals -----------------------------------------------------------------------------
    def _latest_id(self) -> int:
        row = self._row("SELECT max(id) FROM runs")
        return -1 if row is None or row[0] is None else int(row[0])

    def _bump_masks_version(self) -> None:
        self._db.execute(
            "INSERT INTO settings VALUES ('masks_version', '1') ON CONFLICT(key) DO UPDATE SET "
            "value = CAST(value AS INTEGER) + 1"
        )

    def _row(self, sql: str, parameters: Sequence[Any] = ()) -> tuple | None:
        with self._lock:
            return self._db.execute(sql, parameters).fetchone()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction: all of it is committed, or none of it."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                raise _user_error(error, self.folder) from None
            try:
                yield
                self._db.execute("COMMIT")
            except sqlite3.Error as error:
                self._roll_back()
                raise _user_error(error, self.folder) from None
            except BaseException:
                self._roll_back()
                raise

    def _roll_back(self) -> None:
        """Undo the open transaction (SQLite has already undone one whose commit failed for a full disk)."""
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")


def _tracks(run: RunRecord | None, key: str, direction: str | None = None) -> bool:
    """Whether `run` finished tracking the prompts whose `prompts_key` is `key` (in `direction`)."""
    return (
        run is not None
        and run.finished
        and run.prompts_key == key
        and (direction is None or run.direction == direction)
    )


def _user_error(error: sqlite3.Error, folder: Path) -> Exception:
    """A database error in words a user can act on (the disk is full, the folder is read-only)."""
    text = str(error)
    if "full" in text:
        return DiskFull(f"the disk holding {folder} is full: free some space and run again (what was "
                        "tracked before is kept)")  # fmt: skip
    if "readonly" in text or "read-only" in text:
        return BadInput(f"the project folder {folder} is read-only: give a writable project folder")
    return error


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BadInput(f"the project folder {folder} cannot be made ({error.strerror})") from None


def _snapshot_dict(snapshot: Any, meta: VideoMeta) -> dict[str, Any]:
    """A `PromptSnapshot` in the interactive_state.json schema."""
    return PromptState.from_snapshot(snapshot, meta).to_dict()


def adopt_prompts(project: Project, prompts: PromptState) -> bool:
    """Make `prompts` (e.g. a loaded state file) the project's prompts, as one undoable edit, unless
    they hold the same prompts, objects and names already. Returns whether anything changed."""
    stored = project.prompts()
    if stored.snapshot() == prompts.snapshot():
        return False
    stored.replace_with(prompts)
    project.save_prompts(stored)
    return True
