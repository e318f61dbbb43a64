"""Run a batch of project jobs: in this process (one model, one project after another), or on Ray.

    jobs = jobs_for_folders(["projects/dog", "projects/cat"])
    result = run_batch(jobs, BatchSettings(ModelSettings(model_size="tiny")))
    result.failed                                  # final statuses of the projects that failed

Either way each project is `work.track_job`: a project whose masks are current is left alone, a
stopped run continues from its checkpoint, a failure is that project's status and the others go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sam2_gradio.batch.work import ProjectJob, ProjectStatus, StatusCallback, track_job
from sam2_gradio.engine.options import SegmentOptions
from sam2_gradio.errors import BadInput

if TYPE_CHECKING:
    from sam2_gradio.engine.model.predictor import ModelSettings, PredictorLender

ModelFactory = Callable[["ModelSettings"], "PredictorLender"]


@dataclass(frozen=True)
class BatchSettings:
    """Where and how a batch runs."""

    model: ModelSettings  # the model every worker builds
    options: SegmentOptions = field(default_factory=SegmentOptions)  # direction and batch size
    workers: int | None = None  # workers (None: 1 in process; on a cluster, one per GPU)
    ray_address: str | None = None  # "auto", "host:port" or "ray://host:port"; None: this machine
    model_factory: ModelFactory | None = None  # builds a worker's model (None: `get_shared_model`)

    @property
    def uses_ray(self) -> bool:
        """Whether the batch runs on Ray: a cluster address was given, or more than one worker."""
        return self.ray_address is not None or (self.workers or 1) > 1


@dataclass(frozen=True)
class BatchResult:
    """The final status of every project, in job order, and the batch's wall time."""

    statuses: list[ProjectStatus]
    seconds: float

    def _in(self, state: str) -> list[ProjectStatus]:
        return [status for status in self.statuses if status.state == state]

    @property
    def done(self) -> list[ProjectStatus]:
        """Projects tracked to the end by this batch."""
        return self._in("done")

    @property
    def current(self) -> list[ProjectStatus]:
        """Projects whose masks were current already."""
        return self._in("current")

    @property
    def failed(self) -> list[ProjectStatus]:
        """Projects that failed, each with its reason."""
        return self._in("failed")


def run_batch(
    jobs: Sequence[ProjectJob], settings: BatchSettings, on_status: StatusCallback | None = None
) -> BatchResult:
    """Track every job as `settings` say; `on_status` gets each project's statuses as they change
    ("waiting" for all first, "tracking" after every step, then the final one)."""
    started = time.perf_counter()
    report = on_status or (lambda status: None)
    for job in jobs:
        report(ProjectStatus(job.folder, "waiting"))
    factory = settings.model_factory or _shared_model
    if settings.uses_ray:
        statuses = _ray_runner()(jobs, settings, factory, report)
    else:
        statuses = _run_in_process(jobs, settings, factory, report)
    return BatchResult(statuses, time.perf_counter() - started)


def _run_in_process(
    jobs: Sequence[ProjectJob], settings: BatchSettings, factory: ModelFactory, report: StatusCallback
) -> list[ProjectStatus]:
    model = factory(settings.model)
    statuses = []
    for job in jobs:
        statuses.append(track_job(model, job, settings.options, report))
        report(statuses[-1])
    return statuses


def _ray_runner() -> Callable[..., list[ProjectStatus]]:
    """`ray_pool.run_on_ray`, or `BadInput` saying how to install Ray when it is missing."""
    try:
        from sam2_gradio.batch.ray_pool import run_on_ray
    except ModuleNotFoundError as error:
        if error.name != "ray":
            raise
        raise BadInput("--ray-address and --workers need Ray: pip install .[cluster]") from None
    return run_on_ray


def _shared_model(settings: ModelSettings) -> PredictorLender:
    from sam2_gradio.engine.model.predictor import get_shared_model

    return get_shared_model(settings)
