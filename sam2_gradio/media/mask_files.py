"""Mask PNG files: names, reading and writing one PNG, and indexing a folder or zip of them.

Layout written by the segmentation engine and read by the compositor (single-channel 0/255 PNGs)::

    per_object/mask_00012_obj_2.png   object 2 on frame 12
    combined/mask_00012.png           the union of all objects on frame 12

``load_mask_set`` accepts such a folder, either sub-folder alone, a flat folder of either naming, or a
``.zip`` of any of these. Frames are the object video's frame indices. A frame without a mask file reuses
the masks of the nearest earlier frame that has files; frames before the first mask file have no mask.
"""

from __future__ import annotations

import bisect
import os
import re
import stat
import tempfile
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import cv2
import numpy as np

from sam2_gradio import config
from sam2_gradio.jobs import BadInput

PER_OBJECT_DIR = "per_object"
COMBINED_DIR = "combined"
SINGLE_OBJECT_ID = 1  # object id given to masks named without one (mask_00012.png)
PER_OBJECT_PATTERN = re.compile(r"^mask_(\d+)_obj_(\d+)\.png$", re.IGNORECASE)
COMBINED_PATTERN = re.compile(r"^mask_(\d+)\.png$", re.IGNORECASE)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_LOADED_MASKS_CACHED = 16  # decoded PNGs kept, so frames that reuse an earlier mask decode it once


class Box(NamedTuple):
    """Pixel rectangle ``[x0, x1) x [y0, y1)``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


def per_object_mask_name(frame: int, obj_id: int) -> str:
    """File name of the mask of object ``obj_id`` on ``frame``: ``mask_00012_obj_2.png``."""
    return f"mask_{frame:05d}_obj_{obj_id}.png"


def combined_mask_name(frame: int) -> str:
    """File name of the union mask of all objects on ``frame``: ``mask_00012.png``."""
    return f"mask_{frame:05d}.png"


def save_mask_png(path: str | os.PathLike, mask: np.ndarray) -> None:
    """Write ``mask`` (H, W) as a single-channel 0/255 ``uint8`` PNG, atomically (temp file + rename).

    ``mask`` may be bool, 0/1 or 0/255 integers, or floats in [0, 1] (foreground where >= 0.5).
    """
    if mask.ndim != 2:
        raise ValueError(f"mask must have shape (H, W), got {mask.shape}")
    if mask.dtype == bool:
        foreground = mask
    elif np.issubdtype(mask.dtype, np.floating):
        foreground = mask >= 0.5
    else:
        foreground = mask >= (128 if mask.max(initial=0) > 1 else 1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.png")
    try:
        if not cv2.imwrite(str(temp), foreground.astype(np.uint8) * 255):
            raise OSError(f"could not write mask {path}")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def load_mask_png(path: str | os.PathLike) -> np.ndarray:
    """Read a mask PNG as ``float32`` (H, W) in [0, 1].

    Grey PNGs are read as coverage (0/1 or 0/255, 16-bit too); colour PNGs whose channels differ (such as
    palette masks) as foreground wherever a channel is non-zero; RGBA PNGs by their alpha when it is used.

    Raises:
        ValueError: the file is not a readable PNG.
    """
    return read_coverage(path).astype(np.float32) * np.float32(1 / 255)


def read_coverage(path: str | os.PathLike) -> np.ndarray:
    """Read a mask PNG as ``uint8`` (H, W) coverage in 0..255, as ``load_mask_png`` interprets it."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise BadInput(f"{path} is not a readable PNG mask")
    coverage = _coverage_channel(image)
    if coverage.dtype == bool or coverage.max(initial=0) <= 1:
        return coverage.astype(np.uint8) * 255
    if coverage.dtype == np.uint16:
        return np.round(coverage / 257).astype(np.uint8)
    return coverage


def _coverage_channel(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 4 and image[:, :, 3].min() < image[:, :, 3].max():
        return image[:, :, 3]
    colour = image[:, :, :3]
    is_grey = np.array_equal(colour[:, :, 0], colour[:, :, 1]) and np.array_equal(
        colour[:, :, 1], colour[:, :, 2]
    )
    return colour[:, :, 0] if is_grey else colour.max(axis=2) > 0


@dataclass(frozen=True)
class ObjectMask:
    """A mask cropped to its tight box: ``alpha`` is ``float32`` (box.height, box.width) in [0, 1]."""

    alpha: np.ndarray
    box: Box  # where ``alpha`` lies in the object video's frame


def tight_mask(mask: np.ndarray, *, min_area: int = config.MIN_MASK_AREA) -> ObjectMask | None:
    """Crop a mask to the box of its foreground (coverage of at least one half).

    Args:
        mask: (H, W) coverage, ``uint8`` in 0..255 or ``float32`` in [0, 1].
        min_area: fewer foreground pixels than this count as no mask.

    Returns:
        The cropped mask with ``float32`` alpha, or None.
    """
    if mask.ndim != 2:
        raise ValueError(f"mask must have shape (H, W), got {mask.shape}")
    coverage = mask if mask.dtype == np.uint8 else np.round(np.clip(mask, 0, 1) * 255).astype(np.uint8)
    if _foreground_area(coverage) < min_area:
        return None
    x, y, width, height = cv2.boundingRect(_foreground(coverage))
    crop = coverage[y : y + height, x : x + width]
    return ObjectMask(
        alpha=crop.astype(np.float32) * np.float32(1 / 255), box=Box(x, y, x + width, y + height)
    )


def _foreground(coverage: np.ndarray) -> np.ndarray:
    """``uint8`` 0/255 image of the pixels with coverage >= 128."""
    return cv2.threshold(coverage, 127, 255, cv2.THRESH_BINARY)[1]


def _foreground_area(coverage: np.ndarray) -> int:
    return cv2.countNonZero(_foreground(coverage))


@dataclass(frozen=True)
class MaskSet:
    """Index of mask PNGs: frame -> {object id: PNG path}. Build it with ``load_mask_set``."""

    source: str  # the folder or zip the masks came from
    frames: dict[int, dict[int, Path]]  # frames that have files -> their files by object id
    object_ids: tuple[int, ...]  # every object id seen, sorted
    frame_order: tuple[int, ...] = field(default=(), repr=False)  # sorted keys of ``frames``
    _extracted: tempfile.TemporaryDirectory | None = field(default=None, repr=False, compare=False)

    @property
    def first_frame(self) -> int:
        """Index of the first frame that has a mask file."""
        return self.frame_order[0]

    def paths_for(self, frame: int) -> dict[int, Path]:
        """Mask files that apply to ``frame``: its own, else those of the nearest earlier frame with files."""
        if frame in self.frames:
            return self.frames[frame]
        position = bisect.bisect_left(self.frame_order, frame)
        return self.frames[self.frame_order[position - 1]] if position else {}

    def mask_for(self, frame: int, obj_ids: Sequence[int] | None, size: tuple[int, int]) -> ObjectMask | None:
        """Union of the masks of ``obj_ids`` (all when None) on ``frame``, cropped to its tight box.

        Each PNG is resized (nearest) to ``size`` = (width, height) of the object video and normalised
        to [0, 1]; masks smaller than ``config.MIN_MASK_AREA`` pixels count as absent. Returns None when no
        selected object has a mask on this frame.
        """
        wanted = self.object_ids if obj_ids is None else obj_ids
        union = None
        for obj_id, path in self.paths_for(frame).items():
            if obj_id not in wanted:
                continue
            mask = _load_resized(path, size)
            if _foreground_area(mask) < config.MIN_MASK_AREA:
                continue
            union = mask if union is None else np.maximum(union, mask)
        return None if union is None else tight_mask(union)

    def close(self) -> None:
        """Delete the files extracted from a zip (a no-op for folders); also done when garbage-collected."""
        if self._extracted is not None:
            self._extracted.cleanup()


@lru_cache(maxsize=_LOADED_MASKS_CACHED)
def _load_resized(path: Path, size: tuple[int, int]) -> np.ndarray:
    mask = read_coverage(path)
    if (mask.shape[1], mask.shape[0]) != tuple(size):
        mask = cv2.resize(mask, tuple(size), interpolation=cv2.INTER_NEAREST)
    mask.setflags(write=False)  # shared by every caller through the cache
    return mask


def load_mask_set(source: str | os.PathLike, *, extract_to: str | os.PathLike | None = None) -> MaskSet:
    """Index a folder or ``.zip`` of mask PNGs (see the module docstring for the names accepted).

    Zips are checked before anything is extracted (see ``extract_mask_zip``) into a fresh folder inside
    ``extract_to`` (default: the system temp folder), deleted by ``MaskSet.close``.

    Raises:
        ValueError: the source is missing, holds no PNG, or no PNG is named as a mask.
    """
    source = Path(source)
    if source.is_file() and zipfile.is_zipfile(source):
        extracted = tempfile.TemporaryDirectory(prefix="sam2-gradio-masks-", dir=extract_to)
        try:
            files = extract_mask_zip(source, Path(extracted.name))
            return _index(str(source), files, extracted)
        except BaseException:
            extracted.cleanup()
            raise
    if source.is_dir():
        files = {
            path.relative_to(source).as_posix(): path for path in source.rglob("*") if _is_png_name(path.name)
        }
        return _index(str(source), files, None)
    if source.is_file():
        raise BadInput(f"masks {source} must be a folder or a .zip of PNG masks")
    raise BadInput(f"masks not found: {source}")


def extract_mask_zip(zip_path: Path, destination: Path) -> dict[str, Path]:
    """Copy the PNG entries of a zip into ``destination`` under generated names; return name -> file.

    Entries outside ``.png`` (and macOS ``__MACOSX``/``._`` metadata) are ignored. The whole zip is refused
    with ``ValueError`` when an entry is absolute or climbs with ``..``, is a symbolic link, is larger than
    ``config.MAX_MASK_PNG_MB``, or is not a PNG, or when the zip exceeds ``config.MAX_ZIP_ENTRIES`` entries
    or ``config.MAX_ZIP_UNCOMPRESSED_MB`` in total. Nothing is written outside ``destination``.
    """
    try:
        with zipfile.ZipFile(zip_path) as archive:
            entries = [
                entry for entry in _checked_entries(zip_path, archive.infolist()) if _is_png_entry(entry)
            ]
            return {
                _entry_name(entry): _copy_entry(zip_path, archive, entry, destination) for entry in entries
            }
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError) as error:  # corrupt, encrypted, odd codec
        raise BadInput(f"cannot read masks zip {zip_path.name}: {error}") from error


def _checked_entries(zip_path: Path, entries: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
    if len(entries) > config.MAX_ZIP_ENTRIES:
        raise BadInput(
            f"masks zip {zip_path.name} has {len(entries)} entries; the limit is {config.MAX_ZIP_ENTRIES}"
        )
    total = sum(entry.file_size for entry in entries)
    if total > config.MAX_ZIP_UNCOMPRESSED_MB * 2**20:
        raise BadInput(
            f"masks zip {zip_path.name} unpacks to {total / 2**20:.0f} MB; "
            f"the limit is {config.MAX_ZIP_UNCOMPRESSED_MB} MB"
        )
    for entry in entries:
        _check_entry(zip_path, entry)
    return entries


def _entry_name(entry: zipfile.ZipInfo) -> str:
    """The entry's path with "/" separators (zips made on Windows may use backslashes)."""
    return entry.filename.replace("\\", "/")


def _check_entry(zip_path: Path, entry: zipfile.ZipInfo) -> None:
    name = _entry_name(entry)
    parts = PurePosixPath(name).parts
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
        raise BadInput(f"masks zip {zip_path.name} has an unsafe entry path: {entry.filename!r}")
    if stat.S_ISLNK(entry.external_attr >> 16):
        raise BadInput(f"masks zip {zip_path.name} has a symbolic link entry: {entry.filename!r}")
    if entry.file_size > config.MAX_MASK_PNG_MB * 2**20:
        raise BadInput(
            f"masks zip {zip_path.name} entry {entry.filename!r} is larger than {config.MAX_MASK_PNG_MB} MB"
        )


def _is_png_entry(entry: zipfile.ZipInfo) -> bool:
    parts = PurePosixPath(_entry_name(entry)).parts
    return not entry.is_dir() and "__MACOSX" not in parts and _is_png_name(parts[-1])


def _is_png_name(name: str) -> bool:
    return name.lower().endswith(".png") and not name.startswith("._")


def _copy_entry(zip_path: Path, archive: zipfile.ZipFile, entry: zipfile.ZipInfo, destination: Path) -> Path:
    limit = config.MAX_MASK_PNG_MB * 2**20
    with archive.open(entry) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise BadInput(
            f"masks zip {zip_path.name} entry {entry.filename!r} is larger than {config.MAX_MASK_PNG_MB} MB"
        )
    if not data.startswith(_PNG_SIGNATURE):
        raise BadInput(f"masks zip {zip_path.name} entry {entry.filename!r} is not a PNG image")
    target = destination / f"{uuid.uuid4().hex}.png"
    target.write_bytes(data)
    return target


def _index(source: str, files: dict[str, Path], extracted: tempfile.TemporaryDirectory | None) -> MaskSet:
    """Build a MaskSet from relative names -> files, preferring per-object names over union names."""
    if not files:
        raise BadInput(f"masks {Path(source).name} contain no PNG files")
    per_object = _match(files, PER_OBJECT_PATTERN)
    chosen = per_object or {
        (frame, SINGLE_OBJECT_ID): path for (frame,), path in _match(files, COMBINED_PATTERN).items()
    }
    if not chosen:
        example = sorted(files)[0]
        raise BadInput(
            f"no PNG in masks {Path(source).name} is named like {combined_mask_name(12)} or "
            f"{per_object_mask_name(12, 2)} (found e.g. {example!r})"
        )
    for path in chosen.values():
        _check_png_file(source, path)
    frames: dict[int, dict[int, Path]] = {}
    for (frame, obj_id), path in sorted(chosen.items()):
        frames.setdefault(frame, {})[obj_id] = path
    object_ids = tuple(sorted({obj_id for _, obj_id in chosen}))
    return MaskSet(source, frames, object_ids, tuple(sorted(frames)), extracted)


def _match(files: dict[str, Path], pattern: re.Pattern) -> dict[tuple[int, ...], Path]:
    """Files whose base name matches ``pattern``, keyed by its integer groups; duplicates are an error."""
    found: dict[tuple[int, ...], Path] = {}
    origin: dict[tuple[int, ...], str] = {}
    for name in sorted(files):
        match = pattern.match(PurePosixPath(name).name)
        if match is None:
            continue
        key = tuple(int(group) for group in match.groups())
        if key in found:
            raise BadInput(f"mask {PurePosixPath(name).name} appears twice: {origin[key]!r} and {name!r}")
        found[key], origin[key] = files[name], name
    return found


def _check_png_file(source: str, path: Path) -> None:
    with open(path, "rb") as stream:
        if stream.read(len(_PNG_SIGNATURE)) != _PNG_SIGNATURE:
            raise BadInput(f"mask {path.name} in {Path(source).name} is not a PNG image")
