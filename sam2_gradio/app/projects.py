"""The app's projects: one per uploaded video, in `config.PROJECTS_DIR`, found again by the id that the
browser keeps (`gr.BrowserState`), so a reload, a closed tab or a restarted server brings the work back.

A project id is 32 random hex digits: a browser lists only the ids it holds, and no id it sends can
name another folder. The project owns a copy of its video (hard-linked where the file system allows),
since gradio's upload cache is cleaned; a public app (share link, Spaces) deletes projects idle for
`config.PUBLIC_PROJECT_IDLE_HOURS` and caps each project's disk (`ProjectLibrary.disk_cap_mb`,
`config.PUBLIC_PROJECT_DISK_MB`).
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2

from sam2_gradio import config
from sam2_gradio.engine.store.project import PROJECT_FILE, Project
from sam2_gradio.errors import BadInput
from sam2_gradio.media.frames import read_frame

PROJECT_ID = re.compile(r"[0-9a-f]{32}")
THUMBNAIL_FILE = "thumbnail.jpg"
THUMBNAIL_SIDE = 160  # pixels, the longer side
UPLOAD_NAME = "upload_name"  # the project setting holding the uploaded video's file name


def upload_name(project: Project) -> str:
    """The file name the project's video was uploaded with (``dog.mp4``; the project keeps a copy named
    ``video.mp4``)."""
    return project.setting(UPLOAD_NAME) or project.video.name


@dataclass(frozen=True)
class ProjectEntry:
    """One line of the Projects list."""

    project_id: str
    name: str  # the uploaded video's file name
    frames: int
    frames_tracked: int  # frames whose masks are current for the prompts
    has_masks: bool  # some run tracked frames (current for the prompts or not): Compose can use them
    updated: float  # last change, seconds since the epoch
    thumbnail: Path | None  # the first frame, small


class ProjectLibrary:
    """Every project of the app, one folder each under `root`."""

    def __init__(self, root: str | Path | None = None, *, disk_cap_mb: float | None = None) -> None:
        self.root = Path(root if root is not None else config.PROJECTS_DIR)  # one folder per project
        self.disk_cap_mb = disk_cap_mb  # the most disk a project may take (None: no cap), see `capped`

    def capped(self, project: Project) -> Project:
        """`project` with the library's disk cap (`Project.disk_cap_bytes`) set."""
        if self.disk_cap_mb is not None:
            project.disk_cap_bytes = int(self.disk_cap_mb * 2**20)
        return project

    def create(self, video: str | Path) -> tuple[str, Project]:
        """A new project for the video at `video` (copied into it); returns its id and the project."""
        project_id = uuid.uuid4().hex
        folder = self.root / project_id
        folder.mkdir(parents=True)
        copied = folder / f"video{Path(video).suffix.lower()}"
        try:
            os.link(video, copied)
        except OSError:
            shutil.copyfile(video, copied)
        try:
            project = Project.create(folder, copied)
            project.set_setting(UPLOAD_NAME, Path(video).name)
            _write_thumbnail(project, folder / THUMBNAIL_FILE)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return project_id, self.capped(project)

    def open(self, project_id: str) -> Project:
        """The project `project_id` (`BadInput` when there is none, e.g. it expired or was deleted)."""
        folder = self.folder(project_id)
        if not (folder / PROJECT_FILE).is_file():
            raise BadInput(
                "That project is gone (deleted, or expired on a public server); upload the video again."
            )
        os.utime(folder)  # opened: a public app keeps it for another idle period
        return self.capped(Project.open(folder))

    def folder(self, project_id: str) -> Path:
        """The folder of `project_id` (`BadInput` for an id that is not one)."""
        if not isinstance(project_id, str) or not PROJECT_ID.fullmatch(project_id):
            raise BadInput("That is not a project id.")
        return self.root / project_id

    def entries(self, project_ids: Iterable[str]) -> list[ProjectEntry]:
        """The projects among `project_ids` that still exist, the most recently changed first."""
        found = []
        for project_id in dict.fromkeys(project_ids):
            try:
                folder = self.folder(project_id)
                with Project.open(folder) as project:
                    summary = project.summary()
                    name = upload_name(project)
            except BadInput:
                continue
            thumbnail = folder / THUMBNAIL_FILE
            found.append(
                ProjectEntry(
                    project_id, name, summary["video"]["frames"],
                    summary["frames_tracked"], any(run["frames_tracked"] for run in summary["runs"]),
                    (folder / PROJECT_FILE).stat().st_mtime, thumbnail if thumbnail.is_file() else None,
                )
            )  # fmt: skip
        return sorted(found, key=lambda entry: entry.updated, reverse=True)[: config.PROJECTS_LISTED]

    def delete(self, project_id: str) -> None:
        """Delete the project `project_id` with everything in it."""
        shutil.rmtree(self.folder(project_id), ignore_errors=True)

    def expire(self, idle_hours: float) -> int:
        """Delete the projects nobody opened or changed for `idle_hours`; returns how many went."""
        if not self.root.is_dir():
            return 0
        cutoff, gone = time.time() - idle_hours * 3600, 0
        for folder in self.root.iterdir():
            if PROJECT_ID.fullmatch(folder.name) and _last_touched(folder) < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                gone += 1
        return gone


def _last_touched(folder: Path) -> float:
    return max([folder.stat().st_mtime, *(path.stat().st_mtime for path in folder.glob(f"{PROJECT_FILE}*"))])


def _write_thumbnail(project: Project, path: Path) -> None:
    frame = read_frame(project.frames(), 0)
    height, width = frame.shape[:2]
    scale = THUMBNAIL_SIDE / max(height, width)
    small = cv2.resize(
        frame, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
    )
    cv2.imwrite(str(path), cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
