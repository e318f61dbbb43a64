"""The one SAM 2 video model of a process: built in one factory, shared by every session and the CLIs.

`ModelSettings` says which model to build; `build_predictor` builds it (real weights or seeded random
weights); `SharedModel` owns the built predictor, the device, the autocast context and the lock that keeps
two jobs from using the model at once. `get_shared_model` returns the process-wide instance. Code that
runs the model takes any `PredictorLender` (`SharedModel`, or the app's `AppModel`).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import torch

from sam2_gradio import config
from sam2_gradio.engine.model import checkpoints
from sam2_gradio.engine.model.object_batch import batch_invariant_layouts
from sam2_gradio.errors import BadInput, WrongCheckpoint

if TYPE_CHECKING:
    from sam2.sam2_video_predictor import SAM2VideoPredictor

logger = logging.getLogger(__name__)


class PredictorLender(Protocol):
    """Anything that lends the SAM 2 predictor for one job, held exclusively: `SharedModel`, `AppModel`."""

    def use(self, device: torch.device | None = None) -> AbstractContextManager[SAM2VideoPredictor]:
        """The predictor (moved to `device` first when given), for as long as the `with` block lasts."""
        ...


@dataclass(frozen=True)
class ModelSettings:
    """Which SAM 2 model to build and where to run it."""

    model_size: str = config.DEFAULT_MODEL_SIZE  # tiny, small, base+ or large
    checkpoint: str | None = None  # explicit weights file; None resolves checkpoints/ or the hub
    image_size: int = config.DEFAULT_IMAGE_SIZE  # encoder input size (hydra ++model.image_size)
    device: str | None = None  # "cuda", "mps" or "cpu"; None picks the best available
    random_weights: bool = False  # seeded random weights: the real architecture, no download
    vos_optimized: bool = False  # SAM 2's torch.compile'd SAM2VideoPredictorVOS (CUDA only)


def settings_from_args(args: argparse.Namespace, *, model_size: str | None = None) -> ModelSettings:
    """`ModelSettings` from the flags of `checkpoints.add_model_arguments` (`model_size` overrides its own).

    Raises ValueError for an unknown model size.
    """
    return ModelSettings(
        model_size=checkpoints.model_spec(model_size or args.model_size).size,
        checkpoint=args.checkpoint,
        image_size=args.image_size,
        device=args.device,
        random_weights=args.random_weights,
        vos_optimized=args.vos_optimized,
    )


def choose_device(preferred: str | None = None) -> torch.device:
    """Return `preferred` if given, else the first available of cuda, mps and cpu."""
    if preferred:
        device = torch.device(preferred)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise BadInput(f"device {preferred!r} was asked for but CUDA is not available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _hydra_overrides(image_size: int) -> list[str]:
    if image_size % 16:
        raise BadInput(f"image_size must be a multiple of 16, got {image_size}")
    return [f"++model.image_size={image_size}"]


def _load_weights(model: torch.nn.Module, checkpoint: Path, model_size: str) -> None:
    """Load a SAM 2 checkpoint into `model`, failing loudly when it does not fit."""
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)["model"]
    except Exception as error:  # torch raises many types for a file that is not a checkpoint
        raise WrongCheckpoint(f"{checkpoint} is not a SAM 2 checkpoint ({error})") from error
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise WrongCheckpoint(
            f"{checkpoint} does not fit the SAM 2.1 {model_size} model: {len(missing)} missing and "
            f"{len(unexpected)} unexpected weights; pass the checkpoint of the right --model-size"
        )


def _quiet(predictor: SAM2VideoPredictor, device: torch.device) -> None:
    """Keep SAM 2 from flooding the log: no per-frame tqdm bar (callers report progress themselves;
    `TQDM_DISABLE` is read when tqdm is first imported, usually before us), and no hole filling where its
    CUDA extension cannot run (it would fail and warn on every frame, leaving the masks unchanged)."""
    import sam2.sam2_video_predictor as video_predictor_module
    from tqdm import tqdm

    video_predictor_module.tqdm = functools.partial(tqdm, disable=True)
    if predictor.fill_hole_area > 0 and (
        device.type != "cuda" or importlib.util.find_spec("sam2._C") is None
    ):
        predictor.fill_hole_area = 0


def _memory_in_float32_without_autocast(
    module: torch.nn.Module, args: tuple, kwargs: dict[str, Any]
) -> tuple[tuple, dict[str, Any]]:
    """Forward pre-hook of SAM 2's memory attention: without autocast, give it its memory in float32.

    SAM 2 stores each frame's memory features in bf16 (`_run_single_frame_inference`). With object
    pointers (float32) among the memory, concatenation promotes it to float32; a frame whose memory holds
    no pointer (the first frames of a backward pass) would reach the float32 layers in bf16 and fail.
    Casting it up gives every frame the float32 arithmetic the others get. Under autocast it does nothing.
    """
    memory = kwargs.get("memory")
    if memory is not None and not torch.is_autocast_enabled(memory.device.type):
        kwargs["memory"] = memory.float()
        kwargs["memory_pos"] = kwargs["memory_pos"].float()
    return args, kwargs


def build_predictor(settings: ModelSettings) -> SAM2VideoPredictor:
    """Build a `SAM2VideoPredictor` (or its VOS-optimised subclass) as `settings` describe.

    Weights come from `checkpoints.resolve_checkpoint` (explicit path, checkpoints/, then the hub),
    or are seeded random ones when `settings.random_weights` is set. Raises
    `errors.CheckpointUnavailable` when no weights can be found.
    """
    from sam2.build_sam import build_sam2_video_predictor

    spec = checkpoints.model_spec(settings.model_size)
    weights = (
        None
        if settings.random_weights
        else checkpoints.resolve_checkpoint(settings.model_size, path=settings.checkpoint)
    )
    device = choose_device(settings.device)
    torch.manual_seed(config.RANDOM_WEIGHTS_SEED)
    predictor = build_sam2_video_predictor(
        spec.config_name,
        ckpt_path=None,
        device="cpu",
        hydra_overrides_extra=_hydra_overrides(settings.image_size),
        vos_optimized=settings.vos_optimized,
    )
    if weights is not None:
        _load_weights(predictor, Path(weights), settings.model_size)
    _quiet(predictor, device)
    predictor.memory_attention.register_forward_pre_hook(
        _memory_in_float32_without_autocast, with_kwargs=True
    )
    batch_invariant_layouts(predictor)
    logger.info(
        "SAM 2.1 %s on %s at %d px (%s)",
        settings.model_size,
        device,
        settings.image_size,
        "random weights" if weights is None else weights,
    )
    return predictor.to(device).eval()


class FairLock:
    """A lock granted in the order it was asked for (`threading.Lock` promises no order).

    A propagation takes it once per step, so a click from another session that arrives during a step is
    served right after that step, and two propagations alternate step by step (round robin).
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._next_ticket = 0  # the ticket the next caller of `acquire` gets
        self._serving = 0  # the ticket that holds the lock (or gets it next)

    def acquire(self) -> None:
        """Wait until every earlier caller has had and released the lock, then hold it."""
        with self._condition:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._condition.wait_for(lambda: self._serving == ticket)

    def release(self) -> None:
        """Hand the lock to the longest waiting caller."""
        with self._condition:
            self._serving += 1
            self._condition.notify_all()

    @property
    def waiting(self) -> int:
        """How many callers wait for the lock now."""
        with self._condition:
            return max(0, self._next_ticket - self._serving - 1)

    @property
    def idle(self) -> bool:
        """Whether nobody holds the lock or waits for it now."""
        with self._condition:
            return self._serving == self._next_ticket

    def __enter__(self) -> FairLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _same_device(first: torch.device, second: torch.device) -> bool:
    """Whether two devices are the same one ("cuda" is "cuda:0")."""
    return (first.type, first.index or 0) == (second.type, second.index or 0)


def autocast_context(device: torch.device) -> AbstractContextManager:
    """bf16 autocast on CUDA (and on the CPU with `config.CPU_BF16`), else no autocast (float32)."""
    if device.type == "cuda" or (device.type == "cpu" and config.CPU_BF16):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _allow_tf32_on(device: torch.device) -> None:
    """Let CUDA matrix products and convolutions use TF32 when the model runs on `device` (a GPU)."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


class SharedModel:
    """A built predictor plus the lock and numeric context every use of it must go through."""

    def __init__(self, predictor: SAM2VideoPredictor, settings: ModelSettings) -> None:
        self.predictor = predictor  # shared by every session
        self.settings = settings  # how it was built (shown in the UI and logs)
        self.device: torch.device = predictor.device
        self._lock = FairLock()  # one use at a time, in arrival order
        _allow_tf32_on(self.device)

    @contextlib.contextmanager
    def use(self, device: torch.device | None = None) -> Iterator[SAM2VideoPredictor]:
        """Hold the model exclusively, in inference mode, under bf16 autocast on CUDA.

        Callers are served in arrival order (`FairLock`); long jobs take it per step, not per run.
        `device` moves the model there first (and it stays there): a ZeroGPU worker moves the model,
        built on the CPU, to the GPU it was lent.

        On the CPU the model runs in float32, as SAM 2's own examples run it there (autocast only on
        CUDA): bf16 matrix products are up to 60 times slower than float32 on CPUs without native bf16
        (AVX2 ones, e.g. most AMD EPYC hosts). `config.CPU_BF16` turns bf16 on for CPUs that have it.
        """
        with self._lock:
            if device is not None and not _same_device(device, self.device):
                self._move(device)
            with torch.inference_mode(), autocast_context(self.device):
                yield self.predictor

    @property
    def idle(self) -> bool:
        """Whether nobody uses the model or waits for it now (background work can go ahead)."""
        return self._lock.idle

    def _move(self, device: torch.device) -> None:
        logger.info("Moving SAM 2 to %s", device)
        self.predictor = self.predictor.to(device)
        self.device = self.predictor.device
        _allow_tf32_on(self.device)

    @property
    def description(self) -> str:
        """One line saying which model runs where, e.g. for the UI header."""
        weights = "random weights (no checkpoint)" if self.settings.random_weights else "SAM 2.1 weights"
        return (
            f"SAM 2.1 {self.settings.model_size} at {self.settings.image_size} px on "
            f"{self.device.type}, {weights}"
        )


_shared: dict[ModelSettings, SharedModel] = {}
_shared_lock = threading.Lock()


def get_shared_model(settings: ModelSettings) -> SharedModel:
    """Return the process-wide model for `settings`, building it on first use."""
    with _shared_lock:
        if settings not in _shared:
            _shared[settings] = SharedModel(build_predictor(settings), settings)
        return _shared[settings]
