"""The mask PNG codec (media/png.py): files that other decoders read back exactly, and a reader of only
that layout that declines everything else and never inflates past the declared picture."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from sam2_gradio.media import png
from sam2_gradio.media.mask_files import DAVIS_PALETTE, decode_coverage, decode_labels


def _mask(height: int = 37, width: int = 53) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    cv2.ellipse(mask, (width // 2, height // 2), (width // 3, height // 4), 20, 0, 360, 255, -1)
    return mask


def test_grey_masks_read_back_exactly_by_opencv_pil_and_ourselves():
    rng = np.random.default_rng(3)
    for pixels in (_mask(), rng.integers(0, 256, (19, 7), dtype=np.uint8), np.full((1, 1), 255, np.uint8)):
        data = png.encode(pixels)
        assert np.array_equal(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED), pixels)
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), pixels)
        decoded, colour_type = png.decode(data)
        assert colour_type == png.GREY and np.array_equal(decoded, pixels)


def test_palette_pngs_keep_their_indices_and_colours():
    labels = (_mask() // 255) * 2 + (np.arange(53)[None, :] % 2).astype(np.uint8)
    data = png.encode(labels, DAVIS_PALETTE)
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "P"
        assert np.array_equal(np.asarray(image), labels)
        assert bytes(image.getpalette()[:768]) == DAVIS_PALETTE
    assert np.array_equal(decode_labels(data, "00000.png"), labels)
    decoded, colour_type = png.decode(data)
    assert colour_type == png.PALETTE and np.array_equal(decoded, labels)


def test_masks_are_smaller_than_opencvs():
    mask = _mask(360, 640)
    assert len(png.encode(mask)) < len(cv2.imencode(".png", mask)[1])


def test_other_layouts_are_declined_and_still_read_by_the_general_decoder():
    mask = _mask()
    filtered = cv2.imencode(".png", mask)[1].tobytes()  # OpenCV filters its rows
    deep = cv2.imencode(".png", mask.astype(np.uint16) * 257)[1].tobytes()
    colour = cv2.imencode(".png", np.dstack([mask] * 3))[1].tobytes()
    for data in (filtered, deep, colour):
        assert png.decode(data) is None
    assert np.array_equal(decode_coverage(filtered, "mask_00000.png"), mask)
    assert np.array_equal(decode_coverage(deep, "mask_00000.png"), mask)


def _with_idat(data: bytes, idat: bytes) -> bytes:
    """``data`` (an ``encode`` result) with its IDAT body replaced."""
    start = data.index(b"IDAT") - 4
    (length,) = struct.unpack_from(">I", data, start)
    chunk = struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
    return data[:start] + chunk + data[start + 12 + length :]


def test_damaged_files_are_declined():
    data = png.encode(_mask())
    header_end = len(png.SIGNATURE) + 8 + 13
    bad_header_crc = data[:header_end] + bytes([data[header_end] ^ 1]) + data[header_end + 1 :]
    too_long = _with_idat(data, zlib.compress(np.zeros(37 * 54 + 100, np.uint8).tobytes()))
    bomb = _with_idat(data, zlib.compress(bytes(50_000_000), 9))  # 50 MB of zeros for a 37x53 picture
    filtered_row = _with_idat(data, zlib.compress(b"\x01" + bytes(53) + bytes(36 * 54)))
    for damaged in (data[:-20], data[: len(data) // 2], bad_header_crc, too_long, bomb, filtered_row, b""):
        assert png.decode(damaged) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.integers(min_value=0, max_value=400))
def test_any_damage_is_declined(noise, where):
    data = png.encode(_mask())
    position = where % len(data)
    mutated = data[:position] + noise + data[position + len(noise) :]
    result = png.decode(mutated)  # chunk CRCs and zlib's Adler-32 catch every damage
    assert result is None or np.array_equal(result[0], _mask())


def test_encode_refuses_what_is_not_a_mask():
    with pytest.raises(ValueError, match="uint8"):
        png.encode(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="uint8"):
        png.encode(np.zeros((0, 4), np.uint8))
    with pytest.raises(ValueError, match="palette"):
        png.encode(np.zeros((4, 4), np.uint8), b"\x00" * 4)
