"""The app's edge, shared by both tabs: library errors become one sentence, a cancelled job keeps what
the page showed, long jobs move a gradio progress bar, and each event takes one of three queue slots.

No handler runs under `spaces.GPU`: on Hugging Face ZeroGPU only the SAM 2 calls of
`engine.tracking.gpu_tasks.ModelTasks` do (plain values in and out), so the session state a handler
changes, and the `gr.SelectData` / `gr.Request` it takes, stay in the main process.

Events that run SAM 2 share one slot ("gpu", limit 1); renders and previews have their own
(`config.COMPOSE_CONCURRENCY`, `config.PREVIEW_CONCURRENCY`), so a quick preview never waits on a render.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import inspect
import logging
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from sam2_gradio import config
from sam2_gradio.errors import UserError
from sam2_gradio.jobs import Cancelled, Progress, ProgressCallback, format_progress

logger = logging.getLogger(__name__)

# Queue slots: SAM 2 runs one job at a time; renders and quick previews run beside it.
GPU_QUEUE = {"concurrency_id": "gpu", "concurrency_limit": 1}
# Propagations hold the model per step (`FairLock`), not per run: clicks in GPU_QUEUE never wait for one.
PROPAGATE_QUEUE = {"concurrency_id": "propagate", "concurrency_limit": config.PROPAGATE_CONCURRENCY}
COMPOSE_QUEUE = {"concurrency_id": "compose", "concurrency_limit": config.COMPOSE_CONCURRENCY}
# The frame sliders accept any frame up to this (`FrameSlider.preprocess`), whatever maximum the page shows,
# so an API call can name any frame before the page has updated them (handlers check it against the video).
FRAME_SLIDER_MAX = max(config.MAX_VIDEO_FRAMES, int(config.MAX_VIDEO_SECONDS * config.MAX_VIDEO_FPS))
PREVIEW_QUEUE = {"concurrency_id": "preview", "concurrency_limit": config.PREVIEW_CONCURRENCY}


INTERNAL_ERROR = "An internal error happened; the server log has the details."


def user_errors(handler: Callable) -> Callable:
    """Wrap a handler so exceptions reach the user as one sentence, never as a traceback.

    A `errors.UserError` (`UploadRejected`, `PromptStateError`, `NoVideo`, `ModelUnavailable`, ...), a
    `Cancelled` job or an `OSError` (a full disk, say) becomes one sentence; the session is left as the
    library left it (unchanged, for a bad input). Anything else is a bug or a failure of torch: its
    traceback goes to the log and the user reads `INTERNAL_ERROR`. The sentence is a `gr.Error` for API
    clients (gradio_client), direct calls and live jobs (generators); for a plain handler called by the
    app's own page it is a warning toast and every output keeps what it showed (an error would mark each
    output "Error" and blank it).
    """

    @contextlib.contextmanager
    def one_sentence() -> Iterator[None]:
        try:
            yield
        except gr.Error:
            raise
        except (UserError, Cancelled, OSError) as error:
            logger.warning("%s: %s", handler.__name__, error, exc_info=logger.isEnabledFor(logging.DEBUG))
            raise gr.Error(_sentence(error), print_exception=False) from None
        except Exception:
            logger.exception("%s failed", handler.__name__)
            raise gr.Error(INTERNAL_ERROR, print_exception=False) from None

    if inspect.isgeneratorfunction(handler):  # a live job: its errors come while it is iterated

        @functools.wraps(handler)
        def generator_wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            with one_sentence():
                yield from handler(*args, **kwargs)

        return generator_wrapper

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with one_sentence():
                return handler(*args, **kwargs)
        except gr.Error as error:
            return _shown(error, args, kwargs)

    return wrapper


def _shown(error: gr.Error, args: tuple, kwargs: dict) -> Any:
    """Raise `error`, unless the event came from the page: then warn and leave every output as it was."""
    if not any(from_page(value) for value in (*args, *kwargs.values())):
        raise error from None
    gr.Warning(error.message)
    return gr.skip()


def from_page(value: Any) -> bool:
    """True when `value` is the request of an event the app's own page sent (not an API client's)."""
    if not isinstance(value, gr.Request):
        return False
    headers = getattr(value, "headers", None)
    return headers is not None and headers.get("x-gradio-user") == "app"


def keep_outputs_when_cancelled(outputs: int) -> Callable[[Callable], Callable]:
    """Wrap a job's handler so that `jobs.Cancelled` shows a warning and leaves its `outputs` as they were."""

    def decorate(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return handler(*args, **kwargs)
            except Cancelled as cancelled:
                gr.Warning(_sentence(cancelled))
                return gr.skip() if outputs == 1 else (gr.skip(),) * outputs

        return wrapper

    return decorate


def _sentence(error: BaseException) -> str:
    """One sentence for the user; system errors (a full disk, say) say what failed, never a server path."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return "The server's disk is full; nothing was kept. Try again later, or with a smaller file."
    if isinstance(error, OSError) and error.strerror:
        text = f"the server could not finish: {error.strerror.lower()}"
    else:
        text = str(error).strip() or type(error).__name__
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


# What the status line calls each stage of a propagation's `Progress` reports (others: "Writing <stage>").
PHASES = {
    "tracking": "Tracking",
    "preview": "Writing the preview",
    "masks": "Writing the masks",
    "alpha video": "Writing exports: the alpha video",
    "coco": "Writing exports: COCO JSON",
    "davis": "Writing exports: DAVIS PNGs",
}


def progress_line(update: Progress, *, resumed_from: int | None = None) -> str:
    """One line on where a propagation stands, its phase named, with that phase's frames, speed and time
    left, e.g. "Tracking 120/300 frames · 6.2 frames/s · 29 s left" or "Writing the preview 40/300 frames
    · 31.0 frames/s · 8 s left"; a resumed run says where it resumed ("Continued from frame 34 · ...")."""
    phase = PHASES.get(update.stage, f"Writing {update.stage}" if update.stage else "Working")
    if update.total <= 0:  # a step without frames to count (`segment_actions._starting`)
        return phase + "…" if resumed_from is None else f"Continued from frame {resumed_from} · {phase}…"
    line = f"{phase} {update.frames_done}/{update.total} frames"
    if update.fps > 0:
        line += f" · {update.fps:.1f} frames/s"
    remaining = update.total - update.frames_done
    left = update.eta_seconds  # at the phase's average speed, else at the latest
    if left is None and update.fps > 0:
        left = remaining / update.fps
    if remaining > 0 and left is not None:
        line += f" · {_duration(left)} left"
    return line if resumed_from is None else f"Continued from frame {resumed_from} · {line}"


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def segment_progress(progress: gr.Progress) -> ProgressCallback:
    """A `jobs.ProgressCallback` that moves a gradio progress bar through each phase of a propagation
    (tracking, then the preview, the masks and the exports, each from 0), its text `progress_line`."""

    def report(update: Progress) -> None:
        progress((update.frames_done, max(update.total, 1)), desc=progress_line(update), unit="frames")

    return report


def render_progress(progress: gr.Progress) -> ProgressCallback:
    """A `jobs.ProgressCallback` that moves a gradio progress bar by rendered frames (`format_progress`)."""

    def report(update: Progress) -> None:
        progress((update.frames_done, update.total), desc=format_progress(update), unit="frames")

    return report
