"""Exports other tools read: YouTube-VIS JSON through pycocotools, DAVIS PNGs through load_mask_set and PIL,
and videos with alpha whose decoded alpha plane is the mask, in both containers."""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as coco_mask

from sam2_gradio.compositor.blend import feather_alpha
from sam2_gradio.engine.exports.export_formats import (
    ExportFormats,
    TrackedMasks,
    alpha_frame,
    indexed_labels,
    write_alpha_pngs,
    write_alpha_video,
    write_alpha_videos,
    write_davis_pngs,
    write_youtube_vis,
)
from sam2_gradio.errors import BadInput
from sam2_gradio.media.frames import JpegFolderFrames, VideoMeta
from sam2_gradio.media.mask_files import DAVIS_PALETTE, load_mask_set
from sam2_gradio.media.video import estimate_alpha_video_bytes, ffmpeg_exe

WIDTH, HEIGHT, FRAMES = 64, 48, 6


def _disc(cx: int, cy: int, radius: int) -> np.ndarray:
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= radius**2


def _object_masks(frame: int) -> dict[int, np.ndarray]:
    """Object 1: a disc moving right (absent on frame 5); object 4: a bar overlapping it; 7: frame 0 only."""
    bar = np.zeros((HEIGHT, WIDTH), bool)
    bar[20:30, 10 + 4 * frame : 40 + 4 * frame] = True
    masks = {1: _disc(14 + 5 * frame, 24, 9) if frame != 5 else np.zeros((HEIGHT, WIDTH), bool), 4: bar}
    masks[7] = _disc(55, 8, 5) if frame == 0 else np.zeros((HEIGHT, WIDTH), bool)
    return masks


@pytest.fixture
def tracked() -> TrackedMasks:
    masks = TrackedMasks(VideoMeta(FRAMES, WIDTH, HEIGHT, 10.0), [1, 4, 7])
    for frame in range(FRAMES):
        masks.add(frame, _object_masks(frame))
    return masks


@pytest.fixture
def source(tmp_path: Path, numbered_frames) -> JpegFolderFrames:
    folder = tmp_path / "frames"
    folder.mkdir()
    for index, frame in enumerate(numbered_frames(FRAMES, HEIGHT, WIDTH)):
        Image.fromarray(frame).save(folder / f"{index:05d}.jpg", quality=95)
    return JpegFolderFrames.open(folder, fps=10.0)


# --- YouTube-VIS ------------------------------------------------------------------------------------


def test_youtube_vis_json_decodes_with_pycocotools_to_the_masks(tracked, tmp_path):
    path = write_youtube_vis(tmp_path / "masks.json", tracked, names={1: "dog", 4: "ball"}, video_name="clip")
    data = json.loads(path.read_text())
    assert data["videos"][0] | {"file_names": None} == {
        "id": 1,
        "width": WIDTH,
        "height": HEIGHT,
        "length": FRAMES,
        "fps": 10.0,
        "file_names": None,
    }
    assert data["videos"][0]["file_names"][2] == "clip/00002.jpg"
    assert data["categories"] == [
        {"id": 1, "name": "dog", "supercategory": "object"},
        {"id": 2, "name": "ball", "supercategory": "object"},
        {"id": 3, "name": "object", "supercategory": "object"},
    ]
    by_id = {annotation["id"]: annotation for annotation in data["annotations"]}
    assert sorted(by_id) == [1, 4, 7] and by_id[7]["category_id"] == 3
    for obj_id, annotation in by_id.items():
        assert len(annotation["segmentations"]) == FRAMES
        for frame, segmentation in enumerate(annotation["segmentations"]):
            expected = _object_masks(frame)[obj_id]
            if not expected.any():
                assert segmentation is None and annotation["bboxes"][frame] is None
                assert annotation["areas"][frame] is None
                continue
            rle = {"size": segmentation["size"], "counts": segmentation["counts"].encode()}
            assert np.array_equal(coco_mask.decode(rle).astype(bool), expected)
            assert annotation["areas"][frame] == int(coco_mask.area(rle)) == int(expected.sum())
            assert annotation["bboxes"][frame] == coco_mask.toBbox(rle).tolist()
    assert by_id[1]["segmentations"][5] is None and by_id[7]["segmentations"][1] is None


def test_objects_with_the_same_name_share_a_category(tracked, tmp_path):
    data = json.loads(write_youtube_vis(tmp_path / "m.json", tracked, names={1: "dog", 7: "dog"}).read_text())
    assert [category["name"] for category in data["categories"]] == ["dog", "object"]
    assert [annotation["category_id"] for annotation in data["annotations"]] == [1, 2, 1]


# --- DAVIS ------------------------------------------------------------------------------------------


def test_davis_pngs_are_palette_images_of_object_ids(tracked, tmp_path):
    folder = write_davis_pngs(tmp_path / "davis", tracked)
    assert sorted(path.name for path in folder.iterdir()) == [f"{i:05d}.png" for i in range(FRAMES)]
    with Image.open(folder / "00000.png") as image:
        assert image.mode == "P"
        assert bytes(image.getpalette()[:9]) == bytes([0, 0, 0, 128, 0, 0, 0, 128, 0])
        labels = np.asarray(image)
    masks = _object_masks(0)
    assert set(np.unique(labels)) == {0, 1, 4, 7}
    assert np.array_equal(labels == 7, masks[7])
    assert np.array_equal(labels == 1, masks[1])  # where the disc and the bar overlap, the lower id wins
    assert np.array_equal(labels == 4, masks[4] & ~masks[1])
    assert DAVIS_PALETTE[3 * 4 : 3 * 5] == bytes([0, 0, 128])


def test_indexed_labels_refuse_ids_a_byte_cannot_hold():
    with pytest.raises(ValueError, match="object id 256"):
        indexed_labels({256: np.ones((2, 2), bool)}, 2, 2)


@pytest.mark.parametrize("as_zip", [False, True])
def test_compose_reads_davis_pngs_back_as_the_same_objects(tracked, tmp_path, as_zip):
    folder = write_davis_pngs(tmp_path / "davis", tracked)
    source = folder
    if as_zip:
        source = tmp_path / "davis.zip"
        with zipfile.ZipFile(source, "w") as archive:
            for path in sorted(folder.iterdir()):
                archive.write(path, f"Annotations/clip/{path.name}")
    mask_set = load_mask_set(source)
    try:
        assert mask_set.object_ids == (1, 4, 7)
        for frame in range(FRAMES):
            labels = indexed_labels(_object_masks(frame), HEIGHT, WIDTH)
            for obj_id in (1, 4, 7):
                expected = labels == obj_id
                found = mask_set.mask_for(frame, [obj_id], (WIDTH, HEIGHT))
                if expected.sum() < 16:  # config.MIN_MASK_AREA: too small to count
                    assert found is None
                    continue
                full = np.zeros((HEIGHT, WIDTH), np.float32)
                box = found.box
                full[box.y0 : box.y1, box.x0 : box.x1] = found.alpha
                assert np.array_equal(full >= 0.5, expected), (frame, obj_id)
        assert mask_set.mask_for(5, [1], (WIDTH, HEIGHT)) is None  # absent, not the previous frame's disc
    finally:
        mask_set.close()


def test_davis_pngs_that_are_not_indexed_or_hold_nothing_are_refused(tmp_path):
    rgb = tmp_path / "rgb"
    rgb.mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(rgb / "00000.png")
    with pytest.raises(ValueError, match="00000.png is a RGB PNG; .* must be indexed"):
        load_mask_set(rgb)
    empty = tmp_path / "empty"
    empty.mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(empty / "00000.png")
    with pytest.raises(ValueError, match="hold no object"):
        load_mask_set(empty)


# --- video with alpha -------------------------------------------------------------------------------


def _decoded(path: Path, filters: str, pixel_format: str, channels: int) -> np.ndarray:
    """Every frame of `path`, decoded by ffmpeg (VP9 by libvpx, which keeps the alpha plane)."""
    decoder = ["-c:v", "libvpx-vp9"] if path.suffix == ".webm" else []
    command = [ffmpeg_exe(), "-v", "error", *decoder, "-i", str(path), "-vf", filters]
    command += ["-f", "rawvideo", "-pix_fmt", pixel_format, "pipe:1"]
    raw = subprocess.run(command, capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, HEIGHT, WIDTH, channels)


def _decoded_alpha(path: Path) -> np.ndarray:
    return _decoded(path, "alphaextract", "gray", 1)[..., 0]


def _stream_description(path: Path) -> str:
    return subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    ).stderr


@pytest.mark.parametrize(("suffix", "codec"), [(".mov", "prores"), (".webm", "vp9")])
def test_alpha_video_alpha_plane_is_the_mask(tracked, source, tmp_path, suffix, codec):
    path = write_alpha_video(
        tmp_path / f"cutout{suffix}", source, tracked, obj_ids=[1, 7], feather=0, edge="hard"
    )
    description = _stream_description(path)
    assert codec in description and f"{WIDTH}x{HEIGHT}" in description and "10 fps" in description
    alpha = _decoded_alpha(path)
    assert alpha.shape == (FRAMES, HEIGHT, WIDTH)
    for frame in range(FRAMES):
        expected = _object_masks(frame)[1] | _object_masks(frame)[7]  # object 4 is not selected
        assert np.array_equal(alpha[frame] >= 128, expected), frame
        if suffix == ".mov":  # ProRes 4444 codes alpha losslessly
            assert set(np.unique(alpha[frame])) <= {0, 255}
    colour = _decoded(path, "null", "rgba", 4)
    original = np.stack(list(source.read(0, FRAMES)))
    opaque = alpha == 255
    error = np.abs(colour[..., :3].astype(int) - original.astype(int))[opaque]
    assert error.mean() < 6  # the object's own pixels, lossy-coded


def test_alpha_video_edges_are_feathered_as_the_compositor_does(tracked, source, tmp_path):
    path = write_alpha_video(tmp_path / "soft.mov", source, tracked, obj_ids=[4], feather=3, edge="hard")
    alpha = _decoded_alpha(path)
    for frame in range(FRAMES):
        expected = feather_alpha(_object_masks(frame)[4].astype(np.float32), 3) * 255
        # rounding to 8 bits (half a level), then one level through ProRes' 10-bit alpha and back
        assert np.abs(alpha[frame].astype(float) - expected).max() <= 1.5
    assert ((alpha[0] > 0) & (alpha[0] < 255)).any()


@pytest.mark.parametrize(
    ("formats", "message"),
    [
        (ExportFormats(alpha_video_path=Path("cut.mp4")), r"must be \.webm \(VP9\) or \.mov"),
        (
            ExportFormats(alpha_video_path=Path("cut.webm"), alpha_objects=(2,)),
            r"objects \[2\] are not among",
        ),
        (ExportFormats(alpha_video_path=Path("cut.webm"), feather=-1), "feather must be >= 0"),
        (ExportFormats(coco_path=Path("/no/such/folder/vis.json")), "folder /no/such/folder does not exist"),
    ],
)
def test_bad_export_options_are_refused_before_anything_runs(formats, message, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadInput, match=message):  # BadInput: one line from the CLIs, not a traceback
        formats.check([1, 4, 7])


@pytest.mark.parametrize("obj_ids", [[1, 300], [0, 2]])
def test_davis_export_refuses_object_ids_a_palette_png_cannot_hold(obj_ids):
    with pytest.raises(BadInput, match="object ids 1 to 255"):
        ExportFormats(davis_dir=Path("davis")).check(obj_ids)


@pytest.mark.parametrize("edge", ["hard", "refine"])
def test_alpha_pngs_are_the_alpha_video_frames_losslessly(tracked, source, tmp_path, edge):
    import cv2

    folder = write_alpha_pngs(tmp_path / "pngs", source, tracked, obj_ids=[1, 4], feather=2, edge=edge)
    names = sorted(path.name for path in folder.iterdir())
    assert names == [f"{frame:05d}.png" for frame in range(FRAMES)]
    for frame, rgb in enumerate(source.read(0, FRAMES)):
        rgba = cv2.cvtColor(cv2.imread(str(folder / names[frame]), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
        union = _object_masks(frame)[1] | _object_masks(frame)[4]
        if edge == "hard":  # the feathered mask and the frame's own pixels, bit for bit
            assert np.array_equal(rgba, alpha_frame(rgb, feather_alpha(union.astype(np.float32), 2)))
        else:  # soft near the edge only: the mask's inside opaque, far outside transparent
            assert np.all(rgba[..., 3][cv2.erode(union.astype(np.uint8), np.ones((19, 19))) > 0] == 255)
            assert np.all(rgba[cv2.dilate(union.astype(np.uint8), np.ones((19, 19))) == 0] == 0)


def test_webm_is_marked_as_carrying_alpha(tracked, source, tmp_path):
    path = write_alpha_video(tmp_path / "cutout.webm", source, tracked, obj_ids=[4], feather=0, edge="hard")
    assert re.search(r"alpha_mode\s*:\s*1", _stream_description(path))  # players look for it to show alpha


def _textured_opaque_video(tmp_path: Path, width: int = 320, height: int = 240, frames: int = 8):
    """A source of `frames` textured frames (gradients, a moving ramp, light grain) and masks covering
    every pixel: the whole frame is coded."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:height, :width]
    folder = tmp_path / "textured"
    folder.mkdir()
    for index in range(frames):
        base = np.stack([xx * 255 / width, yy * 255 / height, (xx + yy + 8 * index) % 256], -1)
        frame = np.clip(base + rng.normal(0, 1, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(frame).save(folder / f"{index:05d}.jpg", quality=98)
    full = TrackedMasks(VideoMeta(frames, width, height, 30.0), [1])
    for index in range(frames):
        full.add(index, {1: np.ones((height, width), bool)})
    return JpegFolderFrames.open(folder, fps=30.0), full


def test_prores_4444_stays_under_apples_data_rate_and_near_the_estimate(tmp_path):
    source, full = _textured_opaque_video(tmp_path)
    meta = source.meta
    path = write_alpha_video(tmp_path / "opaque.mov", source, full, feather=0, edge="hard")
    bits_per_pixel = path.stat().st_size * 8 / (meta.num_frames * meta.width * meta.height)
    # Apple's ProRes 4444 target, 330 Mbit/s at 1920x1080 and 29.97 fps, per pixel: 5.3 bits
    assert bits_per_pixel < 330e6 / (1920 * 1080 * 29.97)
    estimate = estimate_alpha_video_bytes(
        ".mov", width=meta.width, height=meta.height, frames=meta.num_frames, coverage=1.0
    )
    assert 0.5 < path.stat().st_size / estimate < 2.0


def test_alpha_video_estimates_grow_with_what_the_objects_cover():
    sizes = [
        estimate_alpha_video_bytes(suffix, width=1280, height=720, frames=90, coverage=coverage)
        for suffix in (".webm", ".mov")
        for coverage in (0.0, 0.5, 1.0)
    ]
    assert sizes[0] < sizes[1] < sizes[2] and sizes[3] < sizes[4] < sizes[5] and sizes[2] < sizes[5]
    with pytest.raises(ValueError, match="suffix"):
        estimate_alpha_video_bytes(".mp4", width=1, height=1, frames=1, coverage=0.5)


def test_several_alpha_videos_written_at_once_equal_those_written_alone(tracked, source, tmp_path):
    both = write_alpha_videos(
        [tmp_path / "both.webm", tmp_path / "both.mov"],
        source,
        tracked,
        obj_ids=[1, 4],
        feather=0,
        edge="hard",
    )
    alone = write_alpha_video(tmp_path / "alone.mov", source, tracked, obj_ids=[1, 4], feather=0, edge="hard")
    assert np.array_equal(_decoded(both[1], "null", "rgba", 4), _decoded(alone, "null", "rgba", 4))
    alpha = _decoded_alpha(both[0])
    for frame in range(FRAMES):
        union = _object_masks(frame)[1] | _object_masks(frame)[4]
        assert np.array_equal(alpha[frame] >= 128, union), frame
