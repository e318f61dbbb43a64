"""Projects on a Ray cluster: one actor per GPU (or CPU worker) holding one model, each project a task.

Ray's own recovery does the rest (Ray docs, "Fault tolerance: actors"): an actor whose process is lost
is restarted (`max_restarts`) and the project it was tracking is given to it again (`max_task_retries`);
`track_project` then continues that project's run from its last checkpoint in the store, so its masks
are those of an uninterrupted run. The package's code travels to the workers with the job
(`runtime_env` `py_modules`); the project folders must be on storage every node reads, and the nodes
need torch and sam2 installed. Statuses come back through a small actor the driver polls.

The only module of the package that imports Ray.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ray

import sam2_gradio
from sam2_gradio import config
from sam2_gradio.batch.work import ProjectJob, ProjectStatus, StatusCallback, track_job
from sam2_gradio.engine.options import SegmentOptions

if TYPE_CHECKING:
    from sam2_gradio.batch.runner import BatchSettings
    from sam2_gradio.engine.model.predictor import ModelSettings, PredictorLender

logger = logging.getLogger(__name__)

LOCAL_ADDRESS = "local"  # --ray-address local: a cluster started on this machine for the batch
POLL_SECONDS = 0.5  # how often the driver collects statuses while it waits for projects


def worker_runtime_env() -> dict[str, Any]:
    """The `runtime_env` that ships this package's code to every worker (the cluster's nodes need only
    its dependencies)."""
    return {"py_modules": [str(Path(sam2_gradio.__file__).parent)]}


def connect(address: str | None) -> bool:
    """Connect to the Ray cluster at `address` ("auto", "host:port", "ray://..."), or start one on this
    machine's CPUs and GPUs when it is None or "local"; nothing when this process is connected already.
    Returns whether it connected (and so should disconnect)."""
    if ray.is_initialized():
        return False
    if address in (None, LOCAL_ADDRESS):
        ray.init(runtime_env=worker_runtime_env(), log_to_driver=False, include_dashboard=False)
    else:
        ray.init(address=address, runtime_env=worker_runtime_env(), log_to_driver=False)
    return True


@ray.remote(num_cpus=0)
class StatusBoard:
    """Where workers post statuses and the driver collects them."""

    def __init__(self) -> None:
        self._statuses: list[ProjectStatus] = []

    def post(self, status: ProjectStatus) -> None:
        """Keep `status` until the next `take`."""
        self._statuses.append(status)

    def take(self) -> list[ProjectStatus]:
        """The statuses posted since the last call, oldest first."""
        statuses, self._statuses = self._statuses, []
        return statuses


@ray.remote
class ProjectWorker:
    """One model and the projects given to it, one at a time. Restarted by Ray when its process is lost
    (the model is built again on its next project)."""

    def __init__(
        self,
        model_settings: ModelSettings,
        model_factory: Callable[[ModelSettings], PredictorLender],
        threads: int | None,
        board: Any,
    ) -> None:
        self._settings, self._factory, self._board = model_settings, model_factory, board
        self._model: PredictorLender | None = None
        if threads is not None:
            import torch

            torch.set_num_threads(threads)

    def load(self) -> str:
        """Build the model now (errors such as missing weights surface here); returns "host:pid"."""
        self._loaded()
        import socket

        return f"{socket.gethostname()}:{os.getpid()}"

    def track(self, job: ProjectJob, options: SegmentOptions) -> ProjectStatus:
        """Propagate one project (see `work.track_job`)."""
        return track_job(self._loaded(), job, options, report=self._board.post.remote)

    def _loaded(self) -> PredictorLender:
        if self._model is None:
            self._model = self._factory(self._settings)
        return self._model


def run_on_ray(
    jobs: Sequence[ProjectJob],
    settings: BatchSettings,
    model_factory: Callable[[ModelSettings], PredictorLender],
    on_status: StatusCallback,
) -> list[ProjectStatus]:
    """Track `jobs` on the cluster `settings` name; returns their final statuses in job order.

    A project whose worker is lost more than `config.BATCH_TASK_RETRIES` times fails with that reason.
    """
    connected = connect(settings.ray_address)
    try:
        board = StatusBoard.remote()
        workers = _start_workers(settings, model_factory, board)
        for name in ray.get([worker.load.remote() for worker in workers]):
            logger.info("worker %s ready", name)
        return _dispatch(jobs, settings.options, workers, board, on_status)
    finally:
        if connected:
            ray.shutdown()


def _start_workers(
    settings: BatchSettings, model_factory: Callable[[ModelSettings], PredictorLender], board: Any
) -> list[Any]:
    """One actor per GPU of the cluster (or `settings.workers` of them), each holding one model."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0)) if settings.model.device in (None, "cuda") else 0
    count = settings.workers or max(gpus, 1)
    if gpus:  # more workers than GPUs share them
        placement: dict[str, Any] = {"num_gpus": min(1.0, gpus / count), "num_cpus": 1}
        threads = None
    else:
        threads = max(1, int(resources.get("CPU", 1)) // count)
        placement = {"num_cpus": threads}
    each = f"{placement['num_gpus']:g} GPU" if gpus else f"{threads} CPUs"
    logger.info("%d workers on the cluster (%s each)", count, each)
    options = ProjectWorker.options(max_restarts=-1, max_task_retries=config.BATCH_TASK_RETRIES, **placement)
    return [options.remote(settings.model, model_factory, threads, board) for _ in range(count)]


def _dispatch(
    jobs: Sequence[ProjectJob],
    options: SegmentOptions,
    workers: list[Any],
    board: Any,
    on_status: StatusCallback,
) -> list[ProjectStatus]:
    """Give each free worker the next project until every project has its final status."""
    waiting, free = deque(jobs), list(workers)
    running: dict[Any, tuple[Any, ProjectJob]] = {}  # task -> (worker, job)
    final: dict[str, ProjectStatus] = {}
    while waiting or running:
        while free and waiting:
            worker, job = free.pop(), waiting.popleft()
            running[worker.track.remote(job, options)] = (worker, job)
        ready, _ = ray.wait(list(running), num_returns=len(running), timeout=POLL_SECONDS)
        _relay(ray.get(board.take.remote()), final, on_status)
        for task in ready:
            worker, job = running.pop(task)
            final[job.folder] = _result(task, job)
            on_status(final[job.folder])
            free.append(worker)
    return [final[job.folder] for job in jobs]


def _relay(statuses: list[ProjectStatus], final: dict[str, ProjectStatus], on_status: StatusCallback) -> None:
    """Pass on the progress of projects still running (a late one of a finished project is dropped)."""
    for status in statuses:
        if status.folder not in final:
            on_status(status)


def _result(task: Any, job: ProjectJob) -> ProjectStatus:
    """The final status a finished task returned, or a failure when its worker was lost for good."""
    try:
        return ray.get(task)
    except ray.exceptions.RayError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        lost = f"its worker was lost {config.BATCH_TASK_RETRIES + 1} times"
        return ProjectStatus(job.folder, "failed", reason=f"{lost} ({type(error).__name__}: {reason})")
