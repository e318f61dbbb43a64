"""Every default, limit and environment variable of sam2-gradio, declared once.

Each setting reads an environment variable (``SAM2_GRADIO_*``) when present, so a hosted demo can tighten
limits without code changes. The CLIs and the app take their defaults from here.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


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
# Propagation advances in steps of about this many seconds, between which other work may use the model.
STEP_SECONDS = _env_float("SAM2_GRADIO_STEP_SECONDS", 1.0)
# Image features of this many recently clicked frames are cached for instant click feedback.
FEATURE_CACHE_FRAMES = _env_int("SAM2_GRADIO_FEATURE_CACHE_FRAMES", 4)

# --- Compositing -------------------------------------------------------------------------------
DEFAULT_OBJECT_SIZE = 256  # longer side of the relocated object, pixels
DEFAULT_FEATHER = 2  # mask edge feather, pixels
MIN_MASK_AREA = 16  # masks with fewer foreground pixels are treated as empty
# Brightness matching gain is clamped to this range (see sam2_gradio.compositor.blend.match_brightness).
BRIGHTNESS_GAIN_RANGE = (0.5, 2.0)
X264_PRESET = "veryfast"
X264_CRF = 18
AAC_BITRATE = "160k"  # audio carried from the background video is re-encoded to AAC at this rate

# --- Limits (uploads and zips) -----------------------------------------------------------------
MAX_UPLOAD_MB = _env_int("SAM2_GRADIO_MAX_UPLOAD_MB", 500)
MAX_VIDEO_SECONDS = _env_float("SAM2_GRADIO_MAX_VIDEO_SECONDS", 600.0)
MAX_VIDEO_SIDE = _env_int("SAM2_GRADIO_MAX_VIDEO_SIDE", 3840)
# Total uncompressed size and entry count accepted from a masks zip (zip bomb guard).
MAX_ZIP_UNCOMPRESSED_MB = _env_int("SAM2_GRADIO_MAX_ZIP_MB", 2048)
MAX_ZIP_ENTRIES = _env_int("SAM2_GRADIO_MAX_ZIP_ENTRIES", 200_000)
# Larger single entries of a masks zip are refused.
MAX_MASK_PNG_MB = _env_int("SAM2_GRADIO_MAX_MASK_PNG_MB", 64)

# --- Setup ------------------------------------------------------------------------------------
# sam2_gradio/bootstrap.py runs before .venv exists, so it keeps its own settings; it reads
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
# Compose renders that run at once, beside the one SAM 2 job at a time (segment events share one slot).
COMPOSE_CONCURRENCY = _env_int("SAM2_GRADIO_COMPOSE_CONCURRENCY", 2)
# Quick events (frame browsing, compose previews) that run at once.
PREVIEW_CONCURRENCY = _env_int("SAM2_GRADIO_PREVIEW_CONCURRENCY", 4)
# GPU seconds a Hugging Face ZeroGPU Space grants one segment call (`spaces.GPU(duration=...)`).
SPACES_GPU_SECONDS = _env_int("SAM2_GRADIO_SPACES_GPU_SECONDS", 120)
