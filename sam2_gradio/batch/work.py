"""One project of a batch: what it is to do (`ProjectJob`), where it stands (`ProjectStatus`), and the
call that does it (`track_job`), the same in process and in a Ray actor.

Jobs and statuses are plain picklable data: a job names its project folder by absolute path (on a
cluster, a folder every node reads), and a recipe job also carries its video and the prompt state to
give it. `track_job` never raises for a project's own failure: a bad video, a broken project or a full
disk comes back as a "failed" status with its reason, so one project never stops the others.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sam2_gradio.engine.options import SegmentOptions
from sam2_gradio.errors import BadInput, UserError
from sam2_gradio.jobs import Progress

if TYPE_CHECKING:
    from sam2_gradio.engine.model.predictor import PredictorLender
    from sam2_gradio.engine.store.project import Project
    from sam2_gradio.engine.tracking.prompts import PromptState
    from sam2_gradio.media.frames import VideoMeta

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".webm", ".avi", ".mkv")  # what `--videos DIR` picks up
FINAL_STATES = ("done", "current", "failed")  # a status in one of these is the project's last


@dataclass(frozen=True)
class ProjectJob:
    """One project to propagate."""

    folder: str  # the project folder, absolute
    video: str | None = None  # recipe: the video to make (or reopen) the project for; None: it exists
    prompts: dict[str, Any] | None = None  # recipe: the prompt state to give it (interactive_state.json)

    @property
    def name(self) -> str:
        """The project's name as the progress view shows it (its folder's name)."""
        return Path(self.folder).name


@dataclass(frozen=True)
class ProjectStatus:
    """Where one project stands; the last one a job reports is in `FINAL_STATES`."""

    folder: str  # the job's project folder
    state: str  # "waiting", "tracking", or one of FINAL_STATES ("current": nothing was left to track)
    frames_done: int = 0  # frames of the run tracked so far, by every attempt
    total: int = 0  # frames of the whole run (0: not known yet)
    fps: float = 0.0  # frames per second lately
    frames_tracked: int = 0  # frames this attempt tracked
    resumed_at: int | None = None  # the frame a stopped run was continued from (None: a new run)
    reason: str = ""  # why it failed, in one sentence
    worker: str = ""  # "host:pid" of the process that tracked it
    pid: int | None = None  # that process's id

    @property
    def final(self) -> bool:
        """Whether the job is over (done, already current, or failed)."""
        return self.state in FINAL_STATES


StatusCallback = Callable[[ProjectStatus], None]


def jobs_for_folders(folders: Sequence[str | Path]) -> list[ProjectJob]:
    """A job for each existing project folder, in the order given (each folder once)."""
    absolute = dict.fromkeys(str(Path(folder).absolute()) for folder in folders)
    return [ProjectJob(folder) for folder in absolute]


def jobs_for_videos(
    videos_dir: str | Path, state_file: str | Path, projects_dir: str | Path
) -> list[ProjectJob]:
    """The recipe: a job for every video of `videos_dir` (by name), making the project
    `projects_dir/<video name without suffix>` with the prompts of `state_file`.

    Raises `BadInput` when the folder holds no video, two videos would share a project, or the state file
    cannot be read.
    """
    from sam2_gradio.engine.tracking.prompts import load_prompt_state

    videos_dir, projects_dir = Path(videos_dir), Path(projects_dir).absolute()
    if not videos_dir.is_dir():
        raise BadInput(f"--videos {videos_dir} is not a folder")
    videos = sorted(p for p in videos_dir.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        raise BadInput(f"{videos_dir} holds no video ({', '.join(VIDEO_SUFFIXES)})")
    stems = [video.stem for video in videos]
    shared = sorted({stem for stem in stems if stems.count(stem) > 1})
    if shared:
        raise BadInput(f"videos {', '.join(shared)} have the same name with different suffixes: rename one")
    prompts = load_prompt_state(state_file).to_dict()
    return [
        ProjectJob(str(projects_dir / video.stem), video=str(video.absolute()), prompts=prompts)
        for video in videos
    ]


def recipe_prompts(data: dict[str, Any], meta: VideoMeta) -> PromptState:
    """The prompts of a recipe's state `data` for a video of `meta`: the same clicks, boxes and names.

    The videos of a folder may differ in length; their frame size must be the state's (clicks are pixel
    coordinates), else `BadInput`.
    """
    from sam2_gradio.engine.tracking.prompts import prompt_state_from_dict

    saved = data.get("video")
    if saved is not None and (saved["width"], saved["height"]) != (meta.width, meta.height):
        raise BadInput(
            f"the state file was made on a {saved['width']}x{saved['height']} video, this one is "
            f"{meta.width}x{meta.height}: its clicks would land elsewhere"
        )
    return prompt_state_from_dict({key: value for key, value in data.items() if key != "video"}, meta)


def track_job(
    model: PredictorLender,
    job: ProjectJob,
    options: SegmentOptions,
    report: StatusCallback | None = None,
) -> ProjectStatus:
    """Propagate `job`'s project with `model` unless its masks are current; returns its final status.

    A stopped run (a lost worker, a crash) is continued from its checkpoint (`track_project`). `report`
    gets a "tracking" status after every step.
    """
    here = f"{socket.gethostname()}:{os.getpid()}"
    tracking = ProjectStatus(job.folder, "tracking", worker=here, pid=os.getpid())
    try:
        with _open_project(job) as project:
            return _track(model, project, options, tracking, report)
    except UserError as error:
        return replace(tracking, state="failed", reason=" ".join(str(error).split()))
    except OSError as error:  # a file of the project or its video cannot be read or written
        reason = f"{error.strerror}: {error.filename}" if error.filename and error.strerror else str(error)
        return replace(tracking, state="failed", reason=reason)
    except Exception as error:  # a bug or a failure of torch: this project fails, the others go on
        logger.exception("project %s failed", job.folder)
        reason = f"internal error ({type(error).__name__}: {error})"
        return replace(tracking, state="failed", reason=reason)


def _open_project(job: ProjectJob) -> Project:
    """The job's project: opened, or for a recipe job made (or reopened) with the recipe's prompts."""
    from sam2_gradio.engine.store.project import Project, adopt_prompts

    if job.video is None:
        return Project.open(job.folder)
    project = Project.open_or_create(job.folder, job.video)
    try:
        adopt_prompts(project, recipe_prompts(job.prompts or {}, project.meta))
    except BaseException:
        project.close()
        raise
    return project


def _track(
    model: PredictorLender,
    project: Project,
    options: SegmentOptions,
    status: ProjectStatus,
    report: StatusCallback | None,
) -> ProjectStatus:
    from sam2_gradio.engine.tracking.track_project import track_project

    if project.is_current(options.direction):
        total = project.latest_run().total
        return replace(status, state="current", frames_done=total, total=total)

    def progress(step: Progress) -> None:
        if report is not None:
            report(replace(status, frames_done=step.frames_done, total=step.total, fps=step.fps))

    if report is not None:
        report(status)
    result = track_project(model, project, **asdict(options), preview=False, progress=progress)
    done = replace(
        status, frames_done=result.frames_done, total=result.total, fps=result.fps,
        frames_tracked=result.frames_tracked, resumed_at=result.resumed_at,
    )  # fmt: skip
    if not result.finished:
        return replace(done, state="failed", reason=f"the run stopped: {result.stopped}")
    return replace(done, state="done")
