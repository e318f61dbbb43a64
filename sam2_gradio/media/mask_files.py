"""Mask PNG files: names, reading and writing one PNG, and indexing a folder or zip of them.

Layout written by the segmentation engine and read by the compositor (single-channel 0/255 PNGs)::

    per_object/mask_00012_obj_2.png   object 2 on frame 12
    combined/mask_00012.png           the union of all objects on frame 12

``load_mask_set`` accepts such a folder, either sub-folder alone, a flat folder of either naming, a
folder of DAVIS-style indexed PNGs (``00012.png``, pixel value = object id, as SAM 2's
``tools/vos_inference.py``, Cutie and the DAVIS tools write them; see ``save_indexed_png``), or a
``.zip`` of any of these. Frames are the object video's frame indices. A frame without a mask file reuses
the masks of the nearest earlier frame that has files; frames before the first mask file have no mask.

A zip is read in place (nothing is extracted), and every PNG's declared size is read from its header
before it is decoded: masks wider or taller than ``config.MAX_MASK_SIDE`` are refused unread.
"""

from __future__ import annotations

import bisect
import io
import os
import re
import stat
import struct
import threading
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image

from sam2_gradio import config
from sam2_gradio.cpu_budget import check_parse_budget, parse_budget
from sam2_gradio.errors import BadInput
from sam2_gradio.media import png
from sam2_gradio.media.atomic import atomic_path

PER_OBJECT_DIR = "per_object"
COMBINED_DIR = "combined"
SINGLE_OBJECT_ID = 1  # object id given to masks named without one (mask_00012.png)
PER_OBJECT_PATTERN = re.compile(r"^mask_(\d+)_obj_(\d+)\.png$", re.IGNORECASE)
COMBINED_PATTERN = re.compile(r"^mask_(\d+)\.png$", re.IGNORECASE)
INDEXED_PATTERN = re.compile(r"^(\d+)\.png$", re.IGNORECASE)  # DAVIS: 00012.png holds every object
_INDEXED_MODES = ("P", "L")  # palette or grey PNGs whose pixel values are object ids
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_HEADER_BYTES = 24  # signature, IHDR chunk length and type, then width and height (big-endian)
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


def indexed_mask_name(frame: int) -> str:
    """File name of the DAVIS-style indexed mask of ``frame``: ``00012.png``."""
    return f"{frame:05d}.png"


def davis_palette() -> bytes:
    """The 256-colour DAVIS (PASCAL VOC) palette, 768 bytes RGB: 0 black, 1 dark red, 2 dark green, ..."""
    palette = bytearray()
    for index in range(256):
        red = green = blue = 0
        bits = index
        for shift in range(7, -1, -1):
            red |= (bits & 1) << shift
            green |= ((bits >> 1) & 1) << shift
            blue |= ((bits >> 2) & 1) << shift
            bits >>= 3
        palette += bytes((red, green, blue))
    return bytes(palette)


DAVIS_PALETTE = davis_palette()


def save_indexed_png(path: str | os.PathLike, labels: np.ndarray) -> None:
    """Write ``uint8`` (H, W) object ids as a palette PNG with the DAVIS palette, atomically.

    The format of ``save_ann_png`` in SAM 2's ``tools/vos_inference.py``: 0 is background, value k object k.
    """
    if labels.ndim != 2 or labels.dtype != np.uint8:
        raise ValueError(f"labels must be uint8 (H, W), got {labels.dtype} {labels.shape}")
    with atomic_path(Path(path)) as temp:
        temp.write_bytes(png.encode(labels, DAVIS_PALETTE))  # a palette PNG, as save_ann_png writes


def decode_labels(data: bytes, name: str) -> np.ndarray:
    """Decode an indexed (palette or grey 8-bit) PNG as ``uint8`` (H, W) object ids, header checked first."""
    if len(data) > config.MAX_MASK_PNG_MB * 2**20:
        raise BadInput(f"mask {name} is larger than {config.MAX_MASK_PNG_MB} MB")
    check_mask_header(data[:_PNG_HEADER_BYTES], name)
    decoded = png.decode(data)
    if decoded is not None:  # grey or palette: the values are the ids
        return decoded[0]
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.mode not in _INDEXED_MODES:
                raise BadInput(
                    f"mask {name} is a {image.mode} PNG; masks named like {indexed_mask_name(12)} must be "
                    "indexed (palette) PNGs whose pixel values are object ids"
                )
            return np.asarray(image, dtype=np.uint8)
    except (OSError, SyntaxError) as error:
        raise BadInput(f"mask {name} is not a readable PNG mask ({error})") from None


def save_mask_png(path: str | os.PathLike, mask: np.ndarray, *, make_folders: bool = True) -> None:
    """Write ``mask`` (H, W) as a single-channel 0/255 ``uint8`` PNG, atomically (temp file + rename).

    ``mask`` may be bool, 0/1 or 0/255 integers, or floats in [0, 1] (foreground where >= 0.5). Missing
    folders are created unless ``make_folders`` is False: then a folder deleted meanwhile (a session
    closed while its run writes) is an ``OSError``, not a folder made again and left behind.
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
    if make_folders:
        path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        temp.write_bytes(png.encode(foreground.astype(np.uint8) * 255))


def load_mask_png(path: str | os.PathLike) -> np.ndarray:
    """Read a mask PNG as ``float32`` (H, W) in [0, 1].

    Grey PNGs are read as coverage (0/1 or 0/255, 16-bit too); colour PNGs whose channels differ (such as
    palette masks) as foreground wherever a channel is non-zero; RGBA PNGs by their alpha when it is used.

    Raises:
        ValueError: the file is not a readable PNG, or is larger than ``config.MAX_MASK_SIDE``.
    """
    return read_coverage(path).astype(np.float32) * np.float32(1 / 255)


def read_coverage(path: str | os.PathLike) -> np.ndarray:
    """Read a mask PNG as ``uint8`` (H, W) coverage in 0..255, as ``load_mask_png`` interprets it."""
    path = Path(path)
    with open(path, "rb") as stream:
        data = stream.read(config.MAX_MASK_PNG_MB * 2**20 + 1)
    return decode_coverage(data, path.name)


def png_size(header: bytes) -> tuple[int, int] | None:
    """(width, height) a PNG declares in its first 24 bytes (the IHDR chunk), or None if not a PNG."""
    if len(header) < _PNG_HEADER_BYTES or not header.startswith(_PNG_SIGNATURE) or header[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def check_mask_header(header: bytes, name: str) -> tuple[int, int]:
    """The (width, height) of a mask PNG from its header, after checking it against ``config.MAX_MASK_SIDE``.

    ``name`` is how the message names the file (the user's file name, never a server path).

    Raises:
        ValueError: not a PNG, or a side larger than the largest object video accepted.
    """
    size = png_size(header)
    if size is None:
        raise BadInput(f"mask {name} is not a PNG image")
    if max(size) > config.MAX_MASK_SIDE or min(size) < 1:
        raise BadInput(
            f"mask {name} is {size[0]}x{size[1]} pixels; a mask may be at most {config.MAX_MASK_SIDE} pixels "
            "on a side, as the object video"
        )
    return size


def decode_coverage(data: bytes, name: str) -> np.ndarray:
    """Decode PNG bytes as ``uint8`` (H, W) coverage in 0..255 (see ``load_mask_png``).

    The declared size is checked before decoding, and 16-bit masks are scaled without a float copy.
    """
    if len(data) > config.MAX_MASK_PNG_MB * 2**20:
        raise BadInput(f"mask {name} is larger than {config.MAX_MASK_PNG_MB} MB")
    check_mask_header(data[:_PNG_HEADER_BYTES], name)
    decoded = png.decode(data)
    if decoded is not None and decoded[1] == png.GREY:  # the masks this project writes, read fast
        image = decoded[0]
    else:
        try:
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        except cv2.error:
            image = None
    if image is None:
        raise BadInput(f"mask {name} is not a readable PNG mask")
    coverage = _coverage_channel(image)
    if coverage.dtype == bool or coverage.max(initial=0) <= 1:
        return coverage.astype(np.uint8) * 255
    if coverage.dtype == np.uint16:
        return cv2.convertScaleAbs(coverage, alpha=1 / 257)  # rounds, in one uint8 pass
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


class _ZipReader:
    """An open masks zip that several threads read entries of (one at a time; decoding runs in parallel)."""

    def __init__(self, path: Path) -> None:
        self.name = path.name  # how messages name the zip
        self._archive = zipfile.ZipFile(path)
        self._lock = threading.Lock()

    def entries(self) -> list[zipfile.ZipInfo]:
        return self._archive.infolist()

    def read(self, entry: zipfile.ZipInfo, limit: int) -> bytes:
        """Up to ``limit`` bytes of ``entry`` (a larger entry is refused by the caller)."""
        with self._lock:
            if self._archive.fp is None:
                raise BadInput(f"masks zip {self.name} was closed; give it again")
            try:
                with self._archive.open(entry) as stream:
                    return stream.read(limit)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as error:
                raise BadInput(f"cannot read masks zip {self.name}: {_no_paths(error)}") from None

    def close(self) -> None:
        with self._lock:
            self._archive.close()


@dataclass(frozen=True)
class MaskFile:
    """One mask PNG: a file of a folder, or an entry of a zip read in place."""

    path: Path  # the PNG, or the zip holding it
    entry: str | None = None  # the zip entry's name, for a PNG inside a zip
    stamp: tuple[int, int] = (0, 0)  # (size, mtime_ns) of ``path`` when indexed, so a changed file is re-read
    _zip: tuple[_ZipReader, zipfile.ZipInfo] | None = field(default=None, repr=False, compare=False)
    label: int | None = None  # in an indexed (DAVIS) PNG holding several objects: this object's value

    @property
    def name(self) -> str:
        """The PNG's base name, as messages show it."""
        return PurePosixPath(self.entry).name if self.entry is not None else self.path.name

    def read_bytes(self, limit: int) -> bytes:
        """Up to ``limit`` bytes of the PNG."""
        if self._zip is not None:
            reader, info = self._zip
            return reader.read(info, limit)
        with open(self.path, "rb") as stream:
            return stream.read(limit)

    def coverage(self) -> np.ndarray:
        """The mask as ``uint8`` (H, W) coverage (see ``decode_coverage``; 0/255 for an indexed PNG)."""
        data = self.read_bytes(config.MAX_MASK_PNG_MB * 2**20 + 1)
        if self.label is None:
            return decode_coverage(data, self.name)
        return (decode_labels(data, self.name) == self.label).astype(np.uint8) * 255

    def labels(self) -> np.ndarray:
        """The object ids of an indexed PNG as ``uint8`` (H, W) (see ``decode_labels``)."""
        return decode_labels(self.read_bytes(config.MAX_MASK_PNG_MB * 2**20 + 1), self.name)


@dataclass(frozen=True)
class MaskSet:
    """Index of mask PNGs: frame -> {object id: file}. Build it with ``load_mask_set``."""

    source: str  # the folder or zip the masks came from
    frames: dict[int, dict[int, MaskFile]]  # frames that have files -> their files by object id
    object_ids: tuple[int, ...]  # every object id seen, sorted
    frame_order: tuple[int, ...] = field(default=(), repr=False)  # sorted keys of ``frames``
    _zip: _ZipReader | None = field(default=None, repr=False, compare=False)  # the open zip, if any

    @property
    def first_frame(self) -> int:
        """Index of the first frame that has a mask file."""
        return self.frame_order[0]

    def files_for(self, frame: int) -> dict[int, MaskFile]:
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
        wanted = set(self.object_ids if obj_ids is None else obj_ids)
        union = None
        for obj_id, file in self.files_for(frame).items():
            if obj_id not in wanted:
                continue
            mask = _load_resized(file, tuple(size))
            if _foreground_area(mask) < config.MIN_MASK_AREA:
                continue
            union = mask if union is None else np.maximum(union, mask)
        return None if union is None else tight_mask(union)

    def close(self) -> None:
        """Close the zip the masks are read from (a no-op for folders); also done when garbage-collected."""
        if self._zip is not None:
            self._zip.close()


@lru_cache(maxsize=_LOADED_MASKS_CACHED)
def _load_resized(file: MaskFile, size: tuple[int, int]) -> np.ndarray:
    mask = file.coverage()
    if (mask.shape[1], mask.shape[0]) != tuple(size):
        mask = cv2.resize(mask, tuple(size), interpolation=cv2.INTER_NEAREST)
    mask.setflags(write=False)  # shared by every caller through the cache
    return mask


def load_mask_set(source: str | os.PathLike) -> MaskSet:
    """Index a folder or ``.zip`` of mask PNGs (see the module docstring for the names accepted).

    Zips are checked (see ``zip_mask_files``) and read in place: indexing writes nothing to disk. The
    header of every PNG used is checked (a PNG signature and at most ``config.MAX_MASK_SIDE`` pixels a side).
    Indexing takes at most ``config.MAX_PARSE_CPU_SECONDS`` of CPU (``cpu_budget``), checked at each file.

    Raises:
        ValueError: the source is missing, holds no PNG, no PNG is named as a mask, or a mask is refused;
            messages name the user's file, never a server folder.
    """
    source = Path(source)
    with parse_budget(f"masks {source.name}"):
        return _load_mask_set(source)


def _load_mask_set(source: Path) -> MaskSet:
    if source.is_file() and zipfile.is_zipfile(source):
        try:
            reader = _ZipReader(source)
        except (zipfile.BadZipFile, OSError, RuntimeError) as error:
            raise BadInput(f"cannot read masks zip {source.name}: {_no_paths(error)}") from None
        try:
            return _index(str(source), zip_mask_files(source, reader), reader)
        except BaseException:
            reader.close()
            raise
    if source.is_dir():
        return _index(str(source), _folder_mask_files(source), None)
    if source.is_file():
        raise BadInput(f"masks {source.name} must be a folder or a .zip of PNG masks")
    raise BadInput(f"masks not found: {source.name}")


def _folder_mask_files(folder: Path) -> dict[str, MaskFile]:
    """The PNGs under ``folder`` keyed by relative name; a folder of more than ``config.MAX_ZIP_ENTRIES``
    files is refused as soon as the walk finds one more."""
    files = {}
    for count, path in enumerate(folder.rglob("*")):
        check_parse_budget()
        if count >= config.MAX_ZIP_ENTRIES:
            raise BadInput(f"masks folder {folder.name} holds more than {config.MAX_ZIP_ENTRIES} files")
        if _is_png_name(path.name):
            files[path.relative_to(folder).as_posix()] = _folder_file(path)
    return files


def _folder_file(path: Path) -> MaskFile:
    info = path.stat()
    return MaskFile(path, stamp=(info.st_size, info.st_mtime_ns))


def zip_mask_files(zip_path: Path, reader: _ZipReader) -> dict[str, MaskFile]:
    """The PNG entries of a zip as ``MaskFile``s read in place, keyed by entry name.

    Entries outside ``.png`` (and macOS ``__MACOSX``/``._`` metadata) are ignored. The whole zip is refused
    with ``ValueError`` when an entry is absolute or climbs with ``..``, is a symbolic link, or is larger
    than ``config.MAX_MASK_PNG_MB``, or when the zip exceeds ``config.MAX_ZIP_ENTRIES`` entries or
    ``config.MAX_ZIP_UNCOMPRESSED_MB`` in total. Nothing is written anywhere.
    """
    info = zip_path.stat()
    stamp = (info.st_size, info.st_mtime_ns)
    return {
        _entry_name(entry): MaskFile(zip_path, _entry_name(entry), stamp, (reader, entry))
        for entry in _checked_entries(zip_path, reader.entries())
        if _is_png_entry(entry)
    }


def _no_paths(error: BaseException) -> str:
    """An exception's message without the file paths some of them quote."""
    return re.sub(r"(?:[A-Za-z]:)?[\\/][^\s'\"]*[\\/]([^\s'\"/\\]+)", r"\1", str(error))


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
        check_parse_budget()
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


def _index(source: str, files: dict[str, MaskFile], archive: _ZipReader | None) -> MaskSet:
    """Build a MaskSet from relative names -> files: per-object names, else union names, else DAVIS."""
    if not files:
        raise BadInput(f"masks {Path(source).name} contain no PNG files")
    per_object = _match(files, PER_OBJECT_PATTERN)
    chosen = per_object or {
        (frame, SINGLE_OBJECT_ID): path for (frame,), path in _match(files, COMBINED_PATTERN).items()
    }
    if not chosen:
        return _index_indexed(source, files, archive)
    for file in chosen.values():
        _check_png_file(source, file)
    frames: dict[int, dict[int, MaskFile]] = {}
    for (frame, obj_id), path in sorted(chosen.items()):
        frames.setdefault(frame, {})[obj_id] = path
    object_ids = tuple(sorted({obj_id for _, obj_id in chosen}))
    return MaskSet(source, frames, object_ids, tuple(sorted(frames)), archive)


def _index_indexed(source: str, files: dict[str, MaskFile], archive: _ZipReader | None) -> MaskSet:
    """A MaskSet of DAVIS-style indexed PNGs; every PNG is decoded once to find the objects it holds.

    A frame whose PNG holds only background has no object (it does not reuse an earlier frame's masks).
    Every header is read first, and the set is refused unread when the pixels they declare add up to more
    than ``config.MAX_MASK_INDEX_PIXELS``.
    """
    indexed = _match(files, INDEXED_PATTERN)
    if not indexed:
        example = sorted(files)[0]
        raise BadInput(
            f"no PNG in masks {Path(source).name} is named like {combined_mask_name(12)}, "
            f"{per_object_mask_name(12, 2)} or {indexed_mask_name(12)} (found e.g. {example!r})"
        )
    _check_index_pixels(source, indexed.values())
    frames: dict[int, dict[int, MaskFile]] = {}
    for (frame,), file in sorted(indexed.items()):
        check_parse_budget()
        labels = np.unique(file.labels())
        frames[frame] = {int(label): replace(file, label=int(label)) for label in labels if label}
    object_ids = tuple(sorted({obj_id for objects in frames.values() for obj_id in objects}))
    if not object_ids:
        raise BadInput(f"the indexed masks in {Path(source).name} hold no object (every pixel is 0)")
    return MaskSet(source, frames, object_ids, tuple(sorted(frames)), archive)


def _match(files: dict[str, MaskFile], pattern: re.Pattern) -> dict[tuple[int, ...], MaskFile]:
    """Files whose base name matches ``pattern``, keyed by its integer groups; duplicates are an error."""
    found: dict[tuple[int, ...], MaskFile] = {}
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


def _check_png_file(source: str, file: MaskFile) -> None:
    check_parse_budget()
    check_mask_header(file.read_bytes(_PNG_HEADER_BYTES), f"{file.name} in {Path(source).name}")


def _check_index_pixels(source: str, files: Iterable[MaskFile]) -> None:
    """Refuse (``BadInput``) indexed masks whose headers declare more pixels than indexing may decode."""
    total = 0
    for file in files:
        check_parse_budget()
        width, height = check_mask_header(
            file.read_bytes(_PNG_HEADER_BYTES), f"{file.name} in {Path(source).name}"
        )
        total += width * height
    if total > config.MAX_MASK_INDEX_PIXELS:
        raise BadInput(
            f"the indexed masks in {Path(source).name} hold {total / 1e6:.0f} megapixels, more than the "
            f"{config.MAX_MASK_INDEX_PIXELS / 1e6:.0f} decoded to find their objects: give per-object PNGs "
            f"({per_object_mask_name(12, 2)}) or fewer frames"
        )
