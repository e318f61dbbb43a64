"""Tests of mask PNG reading/writing, naming detection, gap filling, hygiene and zip safety."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from sam2_gradio import config
from sam2_gradio.media.mask_files import (
    Box,
    combined_mask_name,
    load_mask_png,
    load_mask_set,
    per_object_mask_name,
    save_mask_png,
    tight_mask,
)


def rect_mask(height: int, width: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """uint8 0/255 mask with the half-open box (x0, y0, x1, y1) set."""
    mask = np.zeros((height, width), np.uint8)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = 255
    return mask


def png_bytes(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def test_names_are_zero_padded_and_stable():
    assert per_object_mask_name(12, 2) == "mask_00012_obj_2.png"
    assert combined_mask_name(7) == "mask_00007.png"


@pytest.mark.parametrize(
    "mask", [np.eye(6, dtype=bool), np.eye(6, dtype=np.uint8), np.eye(6) * 255, np.eye(6) * 0.9]
)
def test_save_writes_single_channel_0_255_png(tmp_path, mask):
    path = tmp_path / "sub" / "m.png"
    save_mask_png(path, mask)
    written = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert written.dtype == np.uint8 and written.shape == (6, 6)
    assert np.array_equal(written, np.eye(6, dtype=np.uint8) * 255)
    assert [p.name for p in path.parent.iterdir()] == ["m.png"]


@pytest.mark.parametrize(
    "stored",
    [
        np.array([[0, 255]], np.uint8),  # grey 0/255
        np.array([[0, 1]], np.uint8),  # grey 0/1
        np.array([[0, 65535]], np.uint16),  # 16-bit
        np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8),  # RGB white on black
        np.array([[[0, 0, 0], [0, 0, 128]]], np.uint8),  # palette-like colour: foreground where non-zero
        np.array([[[9, 9, 9, 0], [9, 9, 9, 255]]], np.uint8),  # RGBA: alpha used
    ],
    ids=["grey255", "grey01", "16bit", "rgb", "colour", "rgba"],
)
def test_load_normalises_any_png_to_unit_float(tmp_path, stored):
    path = tmp_path / "m.png"
    cv2.imwrite(str(path), stored)
    loaded = load_mask_png(path)
    assert loaded.dtype == np.float32 and loaded.shape == (1, 2)
    assert loaded.tolist() == [[0.0, 1.0]]


def test_load_keeps_soft_grey_values(tmp_path):
    path = tmp_path / "m.png"
    cv2.imwrite(str(path), np.array([[0, 51, 255]], np.uint8))
    assert load_mask_png(path) == pytest.approx(np.array([[0.0, 0.2, 1.0]], np.float32))


def test_load_rejects_non_png(tmp_path):
    path = tmp_path / "m.png"
    path.write_text("not an image")
    with pytest.raises(ValueError, match="m.png"):
        load_mask_png(path)


def test_tight_mask_crops_and_skips_tiny_masks():
    mask = rect_mask(20, 30, (5, 3, 12, 9)).astype(np.float32) / 255
    cropped = tight_mask(mask)
    assert cropped.box == Box(5, 3, 12, 9)
    assert cropped.alpha.shape == (6, 7) and cropped.alpha.min() == 1.0
    tiny = rect_mask(20, 30, (0, 0, 3, 3)).astype(np.float32) / 255  # 9 pixels < MIN_MASK_AREA
    assert config.MIN_MASK_AREA > 9
    assert tight_mask(tiny) is None


def write_masks(folder: Path, names_and_boxes: dict[str, tuple[int, int, int, int]], size=(64, 48)) -> Path:
    for name, box in names_and_boxes.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / name), rect_mask(size[1], size[0], box))
    return folder


def test_detects_per_object_naming_and_prefers_it_over_combined(tmp_path):
    folder = write_masks(
        tmp_path / "masks",
        {
            "per_object/mask_00000_obj_1.png": (0, 0, 10, 10),
            "per_object/mask_00000_obj_3.png": (20, 20, 30, 30),
            "combined/mask_00000.png": (0, 0, 64, 48),
        },
    )
    masks = load_mask_set(folder)
    assert masks.object_ids == (1, 3)
    assert masks.mask_for(0, [3], (64, 48)).box == Box(20, 20, 30, 30)
    assert masks.mask_for(0, None, (64, 48)).box == Box(0, 0, 30, 30)  # union of both objects


def test_detects_single_object_naming(tmp_path):
    folder = write_masks(tmp_path / "flat", {"mask_00002.png": (4, 5, 14, 15)})
    masks = load_mask_set(folder)
    assert masks.object_ids == (1,)
    assert masks.mask_for(2, None, (64, 48)).box == Box(4, 5, 14, 15)


def test_missing_frames_reuse_the_nearest_earlier_masks(tmp_path):
    folder = write_masks(
        tmp_path / "m", {"mask_00003.png": (0, 0, 10, 10), "mask_00006.png": (30, 30, 40, 40)}
    )
    masks = load_mask_set(folder)
    assert masks.first_frame == 3
    assert masks.mask_for(2, None, (64, 48)) is None  # nothing before the first mask
    assert masks.mask_for(5, None, (64, 48)).box == Box(0, 0, 10, 10)
    assert masks.mask_for(100, None, (64, 48)).box == Box(30, 30, 40, 40)


def test_masks_are_resized_nearest_to_the_object_video(tmp_path):
    folder = write_masks(tmp_path / "m", {"mask_00000.png": (8, 8, 16, 16)}, size=(32, 24))
    mask = load_mask_set(folder).mask_for(0, None, (64, 48))
    assert mask.box == Box(16, 16, 32, 32)
    assert set(np.unique(mask.alpha)) == {1.0}


def test_masks_below_min_area_count_as_absent(tmp_path):
    folder = write_masks(
        tmp_path / "m", {"mask_00000_obj_1.png": (0, 0, 3, 3), "mask_00000_obj_2.png": (9, 9, 19, 19)}
    )
    masks = load_mask_set(folder)
    assert masks.mask_for(0, [1], (64, 48)) is None
    assert masks.mask_for(0, None, (64, 48)).box == Box(9, 9, 19, 19)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "no PNG"),
        ({"frame1.png": b"png"}, "named like"),
        ({"mask_00001.png": b"GIF89a not a png"}, "not a PNG"),
    ],
    ids=["empty", "wrong-names", "not-png-content"],
)
def test_bad_mask_folders_raise_clear_errors(tmp_path, files, message):
    folder = tmp_path / "masks"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(png_bytes(np.zeros((4, 4), np.uint8)) if data == b"png" else data)
    with pytest.raises(ValueError, match=message):
        load_mask_set(folder)


def test_missing_source_raises(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_mask_set(tmp_path / "nope")


def make_zip(path: Path, entries: dict[str, bytes], *, symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if symlink is not None:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return path


def test_zip_of_masks_is_read_in_place_and_closed(tmp_path):
    mask = png_bytes(rect_mask(48, 64, (1, 2, 11, 12)))
    zip_path = make_zip(
        tmp_path / "m.zip",
        {"per_object/mask_00000_obj_2.png": mask, "combined/mask_00000.png": mask, "readme.txt": b"hi",
         "__MACOSX/per_object/._mask_00000_obj_2.png": b"junk"},
    )  # fmt: skip
    masks = load_mask_set(zip_path)
    assert masks.object_ids == (2,)
    assert masks.mask_for(0, None, (64, 48)).box == Box(1, 2, 11, 12)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["m.zip"]  # nothing extracted
    masks.close()
    with pytest.raises(ValueError, match="was closed"):
        masks.mask_for(0, None, (32, 24))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../evil/mask_00000.png", "unsafe"),
        ("/abs/mask_00000.png", "unsafe"),
        ("C:/x/mask_00000.png", "unsafe"),
    ],
)
def test_zip_with_escaping_paths_is_refused(tmp_path, name, message):
    zip_path = make_zip(tmp_path / "m.zip", {name: png_bytes(rect_mask(8, 8, (0, 0, 8, 8)))})
    with pytest.raises(ValueError, match=message):
        load_mask_set(zip_path)
    assert not (tmp_path / "evil").exists()


def test_zip_with_symlink_entry_is_refused(tmp_path):
    zip_path = make_zip(
        tmp_path / "m.zip",
        {"mask_00000.png": png_bytes(rect_mask(8, 8, (0, 0, 8, 8)))},
        symlink="mask_00001.png",
    )
    with pytest.raises(ValueError, match="symbolic link"):
        load_mask_set(zip_path)


def test_zip_bomb_is_refused_by_size_and_entry_limits(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "MAX_ZIP_UNCOMPRESSED_MB", 1)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mask_00000.png", b"\0" * (2 * 2**20))  # 2 MB of zeros, a few KB packed
    assert bomb.stat().st_size < 20_000
    with pytest.raises(ValueError, match="limit is 1 MB"):
        load_mask_set(bomb)
    monkeypatch.setattr(config, "MAX_ZIP_ENTRIES", 3)
    many = make_zip(tmp_path / "many.zip", {f"mask_{i:05d}.png": b"x" for i in range(4)})
    with pytest.raises(ValueError, match="4 entries; the limit is 3"):
        load_mask_set(many)


def test_zip_entry_over_the_per_file_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "MAX_MASK_PNG_MB", 1)
    zip_path = make_zip(tmp_path / "m.zip", {"mask_00000.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 2**21})
    with pytest.raises(ValueError, match="larger than 1 MB"):
        load_mask_set(zip_path)


def test_zip_entry_with_png_name_but_other_content_is_refused(tmp_path):
    zip_path = make_zip(tmp_path / "m.zip", {"mask_00000.png": b"<html>not a png</html>"})
    with pytest.raises(ValueError, match="not a PNG"):
        load_mask_set(zip_path)


def test_corrupt_zip_raises_value_error(tmp_path):
    zip_path = make_zip(tmp_path / "m.zip", {"mask_00000.png": png_bytes(rect_mask(8, 8, (0, 0, 8, 8)))})
    data = bytearray(zip_path.read_bytes())
    data[40:60] = b"\xff" * 20  # inside the first entry's data: CRC mismatch on read
    zip_path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="m.zip"):
        load_mask_set(zip_path)
