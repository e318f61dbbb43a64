"""Every default, limit and environment variable of sam2-gradio, declared once, and how a user-facing
option is declared.

Each setting reads an environment variable (``SAM2_GRADIO_*``) when present, so a hosted demo can tighten
limits without code changes. The CLIs and the app take their defaults from here.

A user-facing option (``ComposeOptions``, ``SegmentOptions``) is a dataclass field made by ``option()``:
its default, its choices or range and its help text sit on the field, and the CLI flags
(``cli.common.add_option_arguments``) and the app's controls (``app.option_controls``) are built from it.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from sam2_gradio.errors import BadInput


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


# --- Paths -------------------------------------------------------------------------------------
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Where model weights are looked for and downloaded to (SAM2_GRADIO_CHECKPOINT_DIR overrides).
CHECKPOINT_DIR = Path(os.environ.get("SAM2_GRADIO_CHECKPOINT_DIR", PROJECT_ROOT / "checkpoints"))
# Name of the variable that points at one weight file, overriding the lookup by model size.
CHECKPOINT_ENV = "SAM2_CHECKPOINT"
EXAMPLES_DIR = PROJECT_ROOT / "examples"

# --- Model -------------------------------------------------------------------------------------
# Model size used when none is given: tiny, small, base+ or large.
DEFAULT_MODEL_SIZE = os.environ.get("SAM2_GRADIO_MODEL_SIZE", "tiny")
# Input resolution of the image encoder; SAM 2.1 is trained at 1024. Smaller is faster and coarser.
DEFAULT_IMAGE_SIZE = _env_int("SAM2_GRADIO_IMAGE_SIZE", 1024)
# Seed of the random-weights model (offline UI work and tests).
RANDOM_WEIGHTS_SEED = 0

# --- Segmentation ------------------------------------------------------------------------------
# Frames decoded and handed to the model at a time during propagation.
DEFAULT_BATCH_SIZE = _env_int("SAM2_GRADIO_BATCH_SIZE", 32)
MAX_BATCH_SIZE = 1024  # the largest batch size accepted (frames held decoded at once)
# bf16 autocast on the CPU: faster only on CPUs with native bf16 (AVX512-BF16, AMX), 5-50x slower than
# float32 elsewhere; off by default, as in SAM 2's own CPU examples (CUDA always runs under bf16 autocast).
CPU_BF16 = _env_int("SAM2_GRADIO_CPU_BF16", 0) != 0
# Propagation advances in steps of about this many seconds, between which other work may use the model.
STEP_SECONDS = _env_float("SAM2_GRADIO_STEP_SECONDS", 1.0)
# CPU memory (MiB) each video's image features may take (`engine.model.features.FeatureStore`): clicks and
# propagating again after a correction skip the image encoder on every kept frame, least recently used
# dropped first. A frame takes 16 MiB at 1024 px in float32 (the CPU's dtype; 8 MiB under CUDA's bf16),
# 1 MiB at 256 px. The store is dropped with its video (a new video, a closed session).
FEATURE_STORE_MB = _env_float("SAM2_GRADIO_FEATURE_STORE_MB", 1024.0)
# Objects whose memories hold the same frames are tracked in batches of up to this many per SAM 2 call
# (`engine.model.object_batch`), with the masks of SAM 2's one-object-at-a-time loop; 1 runs them one by one.
# One by one on the CPU, where a batch does the same arithmetic at the same rate (memory attention runs
# near the CPU's peak already; measured 0.89x to 1.17x at 256 to 1024 px, `benchmarks/bench_object_batch.py`).
OBJECT_BATCH_CPU = _env_int("SAM2_GRADIO_OBJECT_BATCH_CPU", 1)
OBJECT_BATCH_CUDA = _env_int("SAM2_GRADIO_OBJECT_BATCH_CUDA", 16)
# The frame shown in the Segment tab is encoded in the background while the model is idle, so that the
# first click on it is as quick as the next ones (not on ZeroGPU: each encode would spend GPU quota).
ENCODE_SHOWN_FRAME = _env_int("SAM2_GRADIO_ENCODE_SHOWN_FRAME", 1) != 0
# Frames of smaller videos are shown enlarged by a whole factor, to at least this many pixels on their
# longer side where it fits (a 320x240 video is shown at 960x720); clicks are mapped back exactly.
MIN_SHOWN_SIDE = _env_int("SAM2_GRADIO_MIN_SHOWN_SIDE", 960)
# Edits (clicks, boxes, masks, clears, objects, resets, loaded states) that Undo can take back.
UNDO_STEPS = _env_int("SAM2_GRADIO_UNDO_STEPS", 100)
# The Segment tab's brush: radius in video pixels (a stroke is twice as wide), the default before a video
# is open (a video sets it to 2% of its shorter side, `strokes.default_brush_radius`) and the largest.
DEFAULT_BRUSH_RADIUS = 8
MAX_BRUSH_RADIUS = 64
MAX_STROKE_POINTS = 4096  # points of one brush stroke the app takes (the page sends one per pointer move)

# --- Compositing -------------------------------------------------------------------------------
DEFAULT_OBJECT_SIZE = 256  # longer side of the relocated object, pixels
DEFAULT_FEATHER = 2  # mask edge feather, pixels
MAX_FEATHER = 256  # the widest feather accepted (compositor and alpha video), pixels
EDGE_MODES = ("hard", "refine", "matte")  # edge of cut-outs (see sam2_gradio.compositor.edges)
DEFAULT_EDGE = "refine"
DEFAULT_EDGE_BAND = 8  # pixels on either side of the mask's edge that refine and matte may change
MIN_MASK_AREA = 16  # masks with fewer foreground pixels are treated as empty
# Brightness matching gain is clamped to this range (see sam2_gradio.compositor.blend.match_brightness).
BRIGHTNESS_GAIN_RANGE = (0.5, 2.0)
# Colour matching scales each Lab channel's spread by at most this range (compositor.blend.match_colour).
COLOUR_SPREAD_RANGE = (0.5, 2.0)
# The follow placement averages the object's path over this many frames each side (symmetric at the ends).
FOLLOW_SMOOTH_RADIUS = _env_int("SAM2_GRADIO_FOLLOW_SMOOTH_RADIUS", 2)
X264_PRESET = "veryfast"
X264_CRF = 18
AAC_BITRATE = "160k"  # audio carried from the background video is re-encoded to AAC at this rate
# Quality of VP9 videos with alpha (.webm): 0 (best) .. 63; colour and alpha planes alike.
VP9_ALPHA_CRF = 20
# libvpx's speed for them (-deadline realtime -cpu-used N, 0..8): 8 encodes 720p about 7x faster than
# the default "good" deadline for about 0.6 dB less and 1.7x the (small) size (README, bench_outputs).
VP9_ALPHA_SPEED = 8
# ProRes 4444 (.mov) quantiser (prores_ks -qscale:v, 1 = best): 5 gives about 106 Mbit/s and 49.5 dB on
# opaque 720p30 footage, near Apple's 110 Mbit/s for 4444 at that size, and encodes 5x faster than the
# rate-controlled default (239 Mbit/s there). Transparent areas cost almost nothing.
PRORES_QSCALE = 5

# --- Limits (uploads, job size and zips) -------------------------------------------------------
MAX_UPLOAD_MB = _env_int("SAM2_GRADIO_MAX_UPLOAD_MB", 500)
MAX_VIDEO_SECONDS = _env_float("SAM2_GRADIO_MAX_VIDEO_SECONDS", 600.0)
MAX_VIDEO_SIDE = _env_int("SAM2_GRADIO_MAX_VIDEO_SIDE", 3840)
# Largest object size (compose --size, longer side in pixels); only the part inside the frame is resampled.
MAX_OBJECT_SIZE = _env_int("SAM2_GRADIO_MAX_OBJECT_SIZE", 2 * MAX_VIDEO_SIDE)
# Frame rate and frame count of an uploaded video (600 s at 30 fps; a 60 fps video may last 300 s).
MAX_VIDEO_FPS = _env_float("SAM2_GRADIO_MAX_VIDEO_FPS", 120.0)
MAX_VIDEO_FRAMES = _env_int("SAM2_GRADIO_MAX_VIDEO_FRAMES", 18_000)
# Objects and clicks of one video (in the page, a state file or the API), and the largest object id.
MAX_OBJECTS = _env_int("SAM2_GRADIO_MAX_OBJECTS", 10)
MAX_CLICKS = _env_int("SAM2_GRADIO_MAX_CLICKS", 1000)
MAX_OBJECT_ID = 2**31 - 1
# Total uncompressed size and entry count accepted from a masks zip (zip bomb guard). The entry limit
# lets in the zip of the longest video with the most objects: one PNG per frame and object, plus the union.
MAX_ZIP_UNCOMPRESSED_MB = _env_int("SAM2_GRADIO_MAX_ZIP_MB", 2048)
MAX_ZIP_ENTRIES = _env_int("SAM2_GRADIO_MAX_ZIP_ENTRIES", MAX_VIDEO_FRAMES * (MAX_OBJECTS + 1))
# Larger single entries of a masks zip are refused.
MAX_MASK_PNG_MB = _env_int("SAM2_GRADIO_MAX_MASK_PNG_MB", 64)
# Mask PNGs declaring a wider or taller image are refused from their header, before any decoding
# (a decompression-bomb guard): no object video may be larger.
MAX_MASK_SIDE = _env_int("SAM2_GRADIO_MAX_MASK_SIDE", MAX_VIDEO_SIDE)
# Pixels (by the PNG headers, summed) that indexing a folder or zip of DAVIS-style indexed masks may decode
# to find the objects they hold, checked before any is decoded (some 7 s on one core; 480 frames at 1080p,
# 1000 at 720p). Per-object and union masks are only decoded when a frame is rendered, one frame at a time.
MAX_MASK_INDEX_PIXELS = _env_int("SAM2_GRADIO_MAX_MASK_INDEX_PIXELS", 1_000_000_000)
# Longest object name ("dog") a prompt state accepts, in characters.
MAX_OBJECT_NAME_LENGTH = 40
# Largest prompt state file (interactive_state.json) read, and the longest COCO RLE counts string of one
# painted mask in it (a mask of a few objects at 4K takes some 10 000 characters; a string is also refused
# when longer than its declared size can need).
MAX_STATE_FILE_MB = _env_int("SAM2_GRADIO_MAX_STATE_FILE_MB", 32)
MAX_RLE_CHARS = _env_int("SAM2_GRADIO_MAX_RLE_CHARS", 4_000_000)
# CPU seconds that reading one untrusted input may take (a state file with its RLE masks, a masks zip or
# folder, an objects file with its keyframe files), counted on the reading thread and checked at each RLE
# string, zip entry, PNG and JSON item (`cpu_budget`): the largest inputs the limits above let in take
# up to some 10 s (a masks zip of MAX_ZIP_ENTRIES entries; benchmarks/bench_parse_budget.py), so this only
# stops an input that is slow for a reason no limit foresaw.
MAX_PARSE_CPU_SECONDS = _env_float("SAM2_GRADIO_MAX_PARSE_CPU_SECONDS", 30.0)
# Wall seconds that ffmpeg may take to probe a video: to read its header (or find its first frame's time),
# and to count its frames (by decoding them all for an upload: the longest, largest video the limits let
# in, MAX_VIDEO_FRAMES frames at MAX_VIDEO_SIDE, takes some minutes on two cores). Past them the video is
# refused in one sentence and ffmpeg is killed.
MAX_VIDEO_HEADER_SECONDS = _env_float("SAM2_GRADIO_MAX_VIDEO_HEADER_SECONDS", 30.0)
MAX_FRAME_COUNT_SECONDS = _env_float("SAM2_GRADIO_MAX_FRAME_COUNT_SECONDS", 900.0)

# --- Setup ------------------------------------------------------------------------------------
# sam2_gradio/cli/bootstrap.py runs before .venv exists, so it keeps its own settings; it reads
# SAM2_GRADIO_SKIP_BOOTSTRAP=1 (app.py then runs in the current interpreter as it is).

# --- App ---------------------------------------------------------------------------------------
# Address and port the app serves on; gradio's own variables (set by Hugging Face Spaces) are honoured too.
DEFAULT_HOST = os.environ.get("SAM2_GRADIO_HOST") or os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
DEFAULT_PORT = _env_int("SAM2_GRADIO_PORT", _env_int("GRADIO_SERVER_PORT", 7860))
# Session folders untouched for this long are deleted at start-up.
STALE_SESSION_HOURS = _env_float("SAM2_GRADIO_STALE_SESSION_HOURS", 24.0)
# Root of the per-browser-session working folders. Keep it inside the system temp dir or the working
# directory (where gradio may take results from) and never in launch(allowed_paths=...), so no URL reaches it.
SESSION_DIR = Path(
    os.environ.get("SAM2_GRADIO_SESSION_DIR", Path(tempfile.gettempdir()) / "sam2_gradio_sessions")
)
# Finished job folders (propagations, renders, snapshots) kept per session and kind; older ones are deleted.
JOBS_KEPT_PER_KIND = 3
# Sessions idle this long are closed with their folder (API clients never send the unload a tab sends).
SESSION_IDLE_MINUTES = _env_float("SAM2_GRADIO_SESSION_IDLE_MINUTES", 60.0)
# Live sessions at most: a new one first closes the longest-idle session, and is refused if all are busy.
MAX_LIVE_SESSIONS = _env_int("SAM2_GRADIO_MAX_SESSIONS", 32)
# Disk a session's finished jobs and uploads may take: the oldest jobs are deleted first; a larger result
# or upload is refused.
MAX_SESSION_DISK_MB = _env_int("SAM2_GRADIO_MAX_SESSION_DISK_MB", 4096)
# Disk all live sessions may take together (their kept jobs and uploads): past it, uploads and results
# are refused until sessions close.
MAX_TOTAL_DISK_MB = _env_int("SAM2_GRADIO_MAX_TOTAL_DISK_MB", 32768)
# Partial files and folders that a killed process left (".masks.partial-*", ".composite.*.partial.mp4",
# "sam2-gradio-masks-*" in the temp folder) are deleted at start-up: one app process per SESSION_DIR.
# Compose renders that run at once, beside the one SAM 2 job at a time (segment events share one slot).
COMPOSE_CONCURRENCY = _env_int("SAM2_GRADIO_COMPOSE_CONCURRENCY", 2)
# Quick events (frame browsing, compose previews) that run at once.
PREVIEW_CONCURRENCY = _env_int("SAM2_GRADIO_PREVIEW_CONCURRENCY", 4)
# Propagations running at once (each holds the model one step at a time, so they advance in turn).
PROPAGATE_CONCURRENCY = _env_int("SAM2_GRADIO_PROPAGATE_CONCURRENCY", 4)
# Seconds between two redraws of the frame view while a propagation runs.
LIVE_VIEW_SECONDS = _env_float("SAM2_GRADIO_LIVE_VIEW_SECONDS", 0.4)
# "USER:PASSWORD" that the app asks for (gradio's login page) when --auth-file names no file holding it;
# never logged, never a command-line argument (ps shows those to every user of the machine).
AUTH_ENV = "SAM2_GRADIO_AUTH"
# Largest --auth-file read (a login file is one short USER:PASSWORD line); larger files are refused unread.
MAX_LOGIN_FILE_BYTES = 4096
# Wrong logins in a row answered at once; each further one waits twice as long as the one before, from
# half a second up to LOGIN_MAX_DELAY_SECONDS, and logins are answered one at a time.
LOGIN_FREE_FAILURES = 3
LOGIN_MAX_DELAY_SECONDS = _env_float("SAM2_GRADIO_LOGIN_MAX_DELAY_SECONDS", 8.0)
# Hugging Face ZeroGPU: each SAM 2 call asks `spaces.GPU` for a duration (seconds of GPU; a call past it is
# aborted, and a user's daily quota must hold it). A click asks for SPACES_CLICK_SECONDS; a propagation is a
# chain of calls, each asking for the frames it will do at the measured speed plus SPACES_MARGIN_SECONDS
# (moving the model to the GPU, pickling), at most SPACES_GPU_SECONDS (the whole of it for the first call).
SPACES_GPU_SECONDS = _env_int("SAM2_GRADIO_SPACES_GPU_SECONDS", 60)
SPACES_CLICK_SECONDS = _env_int("SAM2_GRADIO_SPACES_CLICK_SECONDS", 15)
SPACES_MARGIN_SECONDS = _env_float("SAM2_GRADIO_SPACES_MARGIN_SECONDS", 5.0)


# --- How a user-facing option is declared -------------------------------------------------------
OptionsT = TypeVar("OptionsT")


@dataclasses.dataclass(frozen=True)
class OptionSpec:
    """What the CLIs and the app need to offer one option field (see ``option``)."""

    help: str  # one line, for --help
    label: str  # the app control's label
    choices: tuple[str, ...] = ()  # the allowed values of a text option (of each, for a tuple of texts)
    minimum: float | None = None  # the smallest allowed value of a number option
    maximum: float | None = None  # the largest allowed value of a number option
    slider: tuple[float, float] | None = None  # the app slider's range of a number option
    ids: bool = False  # a set of object ids: None (all) or at least one id
    file: bool = False  # a path to a file the user gives (None: no file)
    file_types: tuple[str, ...] = ()  # the suffixes the app's upload box accepts for a file option
    control_id: str = ""  # the app control's elem_id after its tab's prefix (default: the field's name)

    def kind(self, default: Any) -> str:
        """ "choice", "choices" (several of the choices: a tuple), "flag", "ids", "file", "text", "real"
        (a float) or "number" (a whole number): how the CLIs and the app offer the option."""
        if self.choices:
            return "choices" if isinstance(default, tuple) else "choice"
        if isinstance(default, bool):
            return "flag"
        if self.ids:
            return "ids"
        if self.file:
            return "file"
        if isinstance(default, str):
            return "text"
        return "real" if isinstance(default, float) else "number"


def option(default: Any, *, help: str, label: str, **spec: Any) -> Any:
    """A dataclass field for a user-facing option: ``default`` plus an ``OptionSpec(help, label, **spec)``."""
    return dataclasses.field(default=default, metadata={"option": OptionSpec(help, label, **spec)})


def option_fields(options_class: type) -> list[tuple[dataclasses.Field, OptionSpec]]:
    """The option fields of a dataclass, in order, each with its spec."""
    return [(field, field.metadata["option"]) for field in dataclasses.fields(options_class)]


def check_options(options: Any) -> None:
    """Raise ``errors.BadInput`` naming the first option of ``options`` of the wrong type, or outside its
    choices or range.

    Called by the options' ``__post_init__``; ids become a tuple of ints (an empty set is refused).
    """
    for field, spec in option_fields(type(options)):
        value, name = getattr(options, field.name), field.name.replace("_", " ")
        kind = spec.kind(field.default)
        if kind == "choices":
            known = isinstance(value, tuple) and all(isinstance(v, str) and v in spec.choices for v in value)
            if not known:
                raise BadInput(
                    f"{name} must be some of {', '.join(spec.choices)}, got {shown_value(value)}"
                )
        elif spec.choices and (not isinstance(value, str) or value not in spec.choices):
            raise BadInput(f"{name} must be one of {', '.join(spec.choices)}, got {shown_value(value)}")
        if kind == "number" and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
            raise BadInput(f"{name} must be a whole number, got {shown_value(value)}")
        if spec.minimum is not None and value < spec.minimum:
            raise BadInput(f"{name} must be at least {spec.minimum}, got {shown_value(value)}")
        if spec.maximum is not None and value > spec.maximum:
            raise BadInput(f"{name} must be at most {spec.maximum}, got {shown_value(value)}")
        if spec.ids and value is not None:
            object.__setattr__(options, field.name, _object_ids(value, name))
            if not getattr(options, field.name):
                raise BadInput(f"{name} must name at least one object id, or be None for all")


def shown_value(value: Any) -> str:
    """`value` as a message shows it: short, and never the 4301-digit integer `repr` refuses to write."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        return "a number of more than 15 digits"
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:50]}..."


def _object_ids(value: Any, name: str) -> tuple[int, ...]:
    """Object ids as a tuple of ints from 0 to `MAX_OBJECT_ID`; `BadInput` for anything else."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise BadInput(f"{name} must be a list of object ids, got {shown_value(value)}")
    ids = tuple(_whole(obj_id, name) for obj_id in value)
    if any(not 0 <= obj_id <= MAX_OBJECT_ID for obj_id in ids):
        raise BadInput(f"{name} must be object ids from 0 to {MAX_OBJECT_ID}")
    return ids


def _whole(value: Any, name: str) -> int:
    """A control's number as an int; `BadInput` for text, NaN and infinities (`int` raises on those)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, numbers.Integral)):
        raise BadInput(f"{name} must be a whole number, got {shown_value(value)}")
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise BadInput(f"{name} must be a whole number, got {shown_value(value)}") from None


def _real(value: Any, name: str) -> float:
    """A control's real number as a float; `BadInput` for text, NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, numbers.Real)):
        raise BadInput(f"{name} must be a number, got {shown_value(value)}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise BadInput(f"{name} must be a number, got {shown_value(value)}") from None
    if not math.isfinite(number):
        raise BadInput(f"{name} must be a finite number, got {shown_value(value)}")
    return number


def options_from_values(options_class: type[OptionsT], values: Mapping[str, Any]) -> OptionsT:
    """``options_class`` from loosely typed values, e.g. the app's controls (sliders give floats).

    Keys that are not option fields are ignored, missing ones keep their default; whole numbers become
    ints, real ones floats, flags bools, files and texts strings (empty: the default), and an empty set
    of ids means all (None).
    """
    given = {}
    for field, spec in option_fields(options_class):
        if field.name in values:
            value, kind = values[field.name], spec.kind(field.default)
            if kind == "number":
                value = _whole(value, field.name.replace("_", " "))
            elif kind == "real":
                value = _real(value, field.name.replace("_", " "))
            elif kind in ("file", "text"):
                value = str(value) if value else field.default
            elif kind == "flag":
                value = bool(value)
            elif kind == "ids":
                value = _object_ids(value, field.name.replace("_", " ")) if value else None
            elif kind == "choices":  # a list of choices; one choice alone, or "none", as API clients say it
                value = (value,) if isinstance(value, str) else tuple(value or ())
                value = tuple(dict.fromkeys(v for v in value if v not in ("", "none")))
            given[field.name] = value
    return options_class(**given)


# --- Projects ----------------------------------------------------------------------------------
# A propagation stores its parked state every this many frames, so a run stopped in any way (a crash,
# kill -9) continues exactly, tracking again at most this many frames.
CHECKPOINT_FRAMES = _env_int("SAM2_GRADIO_CHECKPOINT_FRAMES", 8)
# Frames of masks waiting for the preview encoder while tracking (memory stays bounded).
PREVIEW_QUEUE_FRAMES = 16
# Where the app keeps its projects (one folder per uploaded video; `python app.py --projects-dir`).
PROJECTS_DIR = Path(
    os.environ.get(
        "SAM2_GRADIO_PROJECTS_DIR",
        Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "sam2-gradio" / "projects",
    )
)
# A public app (a share link, Hugging Face Spaces) deletes, at start-up, projects nobody opened for this
# long; a local one keeps them until deleted.
PUBLIC_PROJECT_IDLE_HOURS = _env_float("SAM2_GRADIO_PUBLIC_PROJECT_IDLE_HOURS", 24.0)
# On a public app, the most disk one project's folder may take (its video, store and written outputs):
# tracking and exports stop with a message there, keeping what was tracked. A local app has no cap.
PUBLIC_PROJECT_DISK_MB = _env_int("SAM2_GRADIO_PUBLIC_PROJECT_DISK_MB", 2048)
# Projects a browser lists at most (the most recent first).
PROJECTS_LISTED = 20

# --- Batch (python -m sam2_gradio.batch) ---------------------------------------------------------
# How many times a project is given again to a Ray worker whose process was lost while tracking it
# (it continues from its checkpoint each time); after that the project fails and the others go on.
BATCH_TASK_RETRIES = _env_int("SAM2_GRADIO_BATCH_TASK_RETRIES", 3)
