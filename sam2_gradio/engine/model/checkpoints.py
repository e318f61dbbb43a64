"""SAM 2.1 model sizes, their configs and weight files, and where the weights are found or fetched.

`resolve_checkpoint` looks, in order, at an explicit path (argument or ``SAM2_CHECKPOINT``), at
``config.CHECKPOINT_DIR/<file>``, and at the Hugging Face hub (download into ``CHECKPOINT_DIR``).
Run `python -m sam2_gradio.checkpoints --model-size tiny` to download ahead of time.
Imports neither torch nor sam2, so the CLIs can resolve weights before loading the model.
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from sam2_gradio import config
from sam2_gradio.errors import BadInput, CheckpointNotFound, CheckpointUnavailable, UserError

HUB_HOST = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"


@dataclass(frozen=True)
class ModelSpec:
    """One SAM 2.1 model size: how SAM 2 names its config and where its weights live."""

    size: str  # canonical size name: tiny, small, base+ or large
    config_name: str  # Hydra config name as `sam2.build_sam.build_sam2_video_predictor` takes it
    file_name: str  # weight file name, the same in CHECKPOINT_DIR and on the hub
    repo_id: str  # Hugging Face hub repository holding `file_name`
    approx_mb: int  # approximate download size, megabytes


_SPECS = (
    ModelSpec(
        size="tiny",
        config_name="configs/sam2.1/sam2.1_hiera_t.yaml",
        file_name="sam2.1_hiera_tiny.pt",
        repo_id="facebook/sam2.1-hiera-tiny",
        approx_mb=156,
    ),
    ModelSpec(
        size="small",
        config_name="configs/sam2.1/sam2.1_hiera_s.yaml",
        file_name="sam2.1_hiera_small.pt",
        repo_id="facebook/sam2.1-hiera-small",
        approx_mb=184,
    ),
    ModelSpec(
        size="base+",
        config_name="configs/sam2.1/sam2.1_hiera_b+.yaml",
        file_name="sam2.1_hiera_base_plus.pt",
        repo_id="facebook/sam2.1-hiera-base-plus",
        approx_mb=324,
    ),
    ModelSpec(
        size="large",
        config_name="configs/sam2.1/sam2.1_hiera_l.yaml",
        file_name="sam2.1_hiera_large.pt",
        repo_id="facebook/sam2.1-hiera-large",
        approx_mb=898,
    ),
)
# The one table of model sizes, keyed by canonical size name.
MODELS: dict[str, ModelSpec] = {spec.size: spec for spec in _SPECS}

SIZE_ALIASES = {
    "t": "tiny",
    "s": "small",
    "b+": "base+",
    "base_plus": "base+",
    "base-plus": "base+",
    "l": "large",
}


def model_spec(size: str) -> ModelSpec:
    """The `ModelSpec` of a size name or alias (`SIZE_ALIASES`), e.g. ``b+`` -> base+; case-insensitive."""
    name = size.strip().lower()
    name = SIZE_ALIASES.get(name, name)
    if name not in MODELS:
        choices = ", ".join([*MODELS, *SIZE_ALIASES])
        raise BadInput(f"unknown model size {size!r}; choose one of: {choices}")
    return MODELS[name]


def size_from_config(config_name: str) -> str:
    """The model size of a SAM 2.1 config name, e.g. ``configs/sam2.1/sam2.1_hiera_t.yaml`` -> ``tiny``.

    A bare file name (``sam2.1_hiera_t.yaml``) is accepted too.
    """
    for spec in MODELS.values():
        if config_name in (spec.config_name, Path(spec.config_name).name):
            return spec.size
    choices = ", ".join(spec.config_name for spec in MODELS.values())
    raise BadInput(f"unknown SAM 2.1 config {config_name!r}; choose one of: {choices}")


def fetch_command(size: str) -> str:
    """The shell command that downloads the weights of `size` into the checkpoint folder."""
    return f"python -m sam2_gradio.checkpoints --model-size {model_spec(size).size}"


def explicit_checkpoint(path: str | os.PathLike[str] | None) -> Path | None:
    """The checkpoint given as argument or by ``SAM2_CHECKPOINT``; raises if it names a missing file."""
    chosen = path if path is not None else os.environ.get(config.CHECKPOINT_ENV) or None
    if chosen is None:
        return None
    checkpoint = Path(chosen).expanduser()
    if not checkpoint.is_file():
        source = "checkpoint path" if path is not None else config.CHECKPOINT_ENV
        raise CheckpointNotFound(f"{source} {str(checkpoint)!r} does not exist or is not a file")
    return checkpoint


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers on port 443 (huggingface_hub itself retries for ~20 s)."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    try:
        socket.create_connection((HUB_HOST, 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def download_checkpoint(size: str) -> Path:
    """Download the weights of `size` from the Hugging Face hub into ``config.CHECKPOINT_DIR``.

    Raises `CheckpointUnavailable` naming the fetch command when the hub cannot be reached.
    """
    spec = model_spec(size)
    try:
        from huggingface_hub import hf_hub_download

        if not hub_reachable():
            raise OSError(f"{HUB_HOST} cannot be reached (offline?)")
        downloaded = hf_hub_download(spec.repo_id, spec.file_name, local_dir=config.CHECKPOINT_DIR)
    except Exception as error:  # offline, hub error, disk full: all end in the same advice
        raise CheckpointUnavailable(
            f"SAM 2.1 {spec.size} weights {spec.file_name} (~{spec.approx_mb} MB) are not in "
            f"{config.CHECKPOINT_DIR} and could not be downloaded from {spec.repo_id} ({error}). "
            f"Fetch them with `{fetch_command(spec.size)}` on a machine with internet access, "
            f"or pass a checkpoint path (or set {config.CHECKPOINT_ENV})."
        ) from error
    return Path(downloaded)


def resolve_checkpoint(
    size: str = config.DEFAULT_MODEL_SIZE,
    *,
    path: str | os.PathLike[str] | None = None,
    allow_download: bool = True,
) -> Path:
    """Path of the weight file for `size`: explicit path, then the checkpoint folder, then the hub.

    Raises `FileNotFoundError` for an explicit path that does not exist (no download is tried), and
    `CheckpointUnavailable` when the weights are missing and cannot (or may not) be downloaded.
    """
    spec = model_spec(size)
    explicit = explicit_checkpoint(path)
    if explicit is not None:
        return explicit
    local = Path(config.CHECKPOINT_DIR) / spec.file_name
    if local.is_file():
        return local
    if not allow_download:
        raise CheckpointUnavailable(
            f"SAM 2.1 {spec.size} weights {spec.file_name} are not in {config.CHECKPOINT_DIR} "
            f"and downloading is off. Fetch them with `{fetch_command(spec.size)}`."
        )
    return download_checkpoint(spec.size)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the model flags shared by the app and the segment CLI: which weights, at what size, where."""
    parser.add_argument("--checkpoint", help="SAM 2.1 weights file (default: checkpoints/ or download)")
    parser.add_argument(
        "--model-size",
        default=config.DEFAULT_MODEL_SIZE,
        help="tiny, small, base+ or large (the segment CLI's --config overrides it)",
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=config.DEFAULT_IMAGE_SIZE,
        help="model input size in pixels, a multiple of 16: smaller is faster and coarser",
    )
    parser.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    parser.add_argument(
        "--vos-optimized",
        action="store_true",
        help="use SAM 2's torch.compile'd video predictor (CUDA only; slow first frames, faster after)",
    )
    parser.add_argument(
        "--random-weights",
        action="store_true",
        help="seeded random weights instead of a checkpoint: the real architecture, meaningless masks",
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: download (or locate) the weights of one model size and print their path."""
    parser = argparse.ArgumentParser(description="Download SAM 2.1 weights into the checkpoint folder.")
    parser.add_argument(
        "--model-size",
        default=config.DEFAULT_MODEL_SIZE,
        help=f"one of {', '.join(MODELS)} (aliases: {', '.join(SIZE_ALIASES)}); default %(default)s",
    )
    args = parser.parse_args(argv)
    try:
        print(resolve_checkpoint(args.model_size))
    except UserError as error:
        parser.exit(1, f"error: {error}\n")


if __name__ == "__main__":
    main()
