"""Segmenting a whole video: mask layout and names, union, preview, zip, atomic outputs, the CLI."""

from __future__ import annotations

import json
import logging
import os
import threading
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from sam2_gradio.cli import segment
from sam2_gradio.engine.exports.mask_folder import zip_masks
from sam2_gradio.engine.exports.project_exports import OutputRequest
from sam2_gradio.engine.options import SegmentOptions
from sam2_gradio.engine.tracking.pipeline import segment_video
from sam2_gradio.engine.tracking.prompts import PromptState
from sam2_gradio.media.frames import JpegFolderFrames
from sam2_gradio.media.video import probe_video

pytestmark = pytest.mark.slow


def _prompts(meta) -> PromptState:
    prompts = PromptState(video=meta)
    prompts.add_click(4, 1, 40, 60, 1)
    prompts.add_click(4, 3, 120, 50, 1)
    return prompts


@pytest.fixture(scope="module")
def segmented(random_model, scene_jpegs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("segmented")
    source = JpegFolderFrames.open(scene_jpegs)
    outputs = OutputRequest(
        mask_dir=folder / "masks",
        preview_path=folder / "preview.mp4",
        zip_path=folder / "masks.zip",
        fps=12.0,
    )
    result = segment_video(
        random_model, scene_jpegs, _prompts(source.meta), outputs, options=SegmentOptions(batch_size=8)
    )
    return source, result


def _read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    return image


def test_masks_are_single_channel_0_255_pngs_named_per_frame_and_object(segmented):
    source, result = segmented
    per_object = sorted(path.name for path in (result.mask_dir / "per_object").iterdir())
    combined = sorted(path.name for path in (result.mask_dir / "combined").iterdir())
    assert per_object == sorted(f"mask_{f:05d}_obj_{o}.png" for f in range(24) for o in (1, 3))
    assert combined == [f"mask_{f:05d}.png" for f in range(24)]
    mask = _read(result.mask_dir / "per_object" / "mask_00012_obj_3.png")
    assert mask.shape == (120, 160) and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 255}
    assert result.obj_ids == [1, 3] and result.frames_tracked == 20


def test_combined_is_the_union_and_frames_before_the_first_click_are_empty(segmented):
    _, result = segmented
    non_empty = 0
    for frame in range(24):
        objects = [_read(result.mask_dir / "per_object" / f"mask_{frame:05d}_obj_{o}.png") for o in (1, 3)]
        union = _read(result.mask_dir / "combined" / f"mask_{frame:05d}.png")
        np.testing.assert_array_equal(union, np.maximum(*objects))
        if frame < 4:
            assert not union.any()
        non_empty += bool(union.any())
    assert non_empty == 20


def test_preview_is_a_browser_playable_video_of_every_frame(segmented):
    source, result = segmented
    info = probe_video(result.preview)
    assert (info.num_frames, info.width, info.height) == (24, 160, 120)
    assert info.fps == pytest.approx(12.0)


def test_zip_holds_both_mask_folders(segmented):
    _, result = segmented
    with zipfile.ZipFile(result.masks_zip) as archive:
        names = set(archive.namelist())
    assert "per_object/mask_00012_obj_3.png" in names and "combined/mask_00023.png" in names
    assert len(names) == 24 * 3


def test_zipping_the_same_masks_again_gives_the_same_bytes(segmented, tmp_path):
    _, result = segmented
    first = zip_masks(result.mask_dir, tmp_path / "first.zip")
    for path in result.mask_dir.rglob("*.png"):  # newer modification times must not show in the zip
        os.utime(path, (path.stat().st_atime + 3600, path.stat().st_mtime + 3600))
    second = zip_masks(result.mask_dir, tmp_path / "second.zip")
    assert first.read_bytes() == second.read_bytes()


def _mask_files(mask_dir: Path) -> dict[str, bytes]:
    return {path.relative_to(mask_dir).as_posix(): path.read_bytes() for path in mask_dir.rglob("*.png")}


def _cancel_after(cancel: threading.Event, frames: int):
    def on_progress(report) -> None:
        if report.stage == "tracking" and report.frames_done >= frames:
            cancel.set()

    return on_progress


@pytest.fixture(scope="module")
def cancelled(random_model, scene_jpegs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cancelled")
    source = JpegFolderFrames.open(scene_jpegs)
    cancel = threading.Event()
    outputs = OutputRequest(
        mask_dir=folder / "masks", preview_path=folder / "p.mp4", zip_path=folder / "m.zip"
    )
    result = segment_video(
        random_model, scene_jpegs, _prompts(source.meta), outputs,
        options=SegmentOptions(batch_size=4), project=folder / "project", progress=_cancel_after(cancel, 3),
        cancel=cancel,
    )  # fmt: skip
    return source, folder, result


def test_a_cancelled_run_writes_the_frames_it_tracked_and_says_partial(cancelled):
    source, folder, result = cancelled
    assert result.partial and 3 <= result.frames_tracked < 20 and result.stopped is None
    assert result.tracked == range(4, 4 + result.frames_tracked)  # the clicks are on frame 4
    tracked = list(result.tracked)
    assert sorted(_mask_files(result.mask_dir)) == sorted(
        [f"combined/mask_{f:05d}.png" for f in tracked]
        + [f"per_object/mask_{f:05d}_obj_{o}.png" for f in tracked for o in (1, 3)]
    )
    with zipfile.ZipFile(result.masks_zip) as archive:
        assert len(archive.namelist()) == 3 * len(tracked)
    assert probe_video(result.preview).num_frames == tracked[-1] + 1  # up to the last frame tracked


def test_the_same_call_again_continues_the_run_with_the_masks_of_an_uninterrupted_one(
    cancelled, segmented, random_model, scene_jpegs
):
    source, folder, partial = cancelled
    _, uninterrupted = segmented
    carried = list(partial.tracked)  # tracked before the cancel: kept in the project, not tracked again
    outputs = OutputRequest(
        mask_dir=folder / "masks", zip_path=folder / "masks.zip", coco_path=folder / "vis.json",
        davis_dir=folder / "davis",
    )  # fmt: skip
    resumed = segment_video(
        random_model, scene_jpegs, _prompts(source.meta), outputs, options=SegmentOptions(batch_size=4),
        project=folder / "project",
    )  # fmt: skip
    assert not resumed.partial and resumed.resumed_at is not None and resumed.resumed_at <= carried[-1] + 1
    assert resumed.frames_tracked == 20 and resumed.tracked == range(4, 24)
    assert _mask_files(resumed.mask_dir) == _mask_files(uninterrupted.mask_dir)
    _assert_exports_hold_every_frame(resumed.mask_dir, folder, carried)

    def no_model():
        raise AssertionError("the masks are current: no model is needed")

    again = segment_video(no_model, scene_jpegs, _prompts(source.meta), outputs, project=folder / "project")
    assert again.already_current and not again.partial
    assert _mask_files(again.mask_dir) == _mask_files(uninterrupted.mask_dir)


def _assert_exports_hold_every_frame(mask_dir: Path, folder: Path, carried: list[int]) -> None:
    """The COCO JSON (through pycocotools) and the DAVIS PNGs of a resumed run equal its mask PNGs on
    every frame, the frames carried over from the cancelled part included."""
    from PIL import Image
    from pycocotools import mask as coco_mask

    annotations = json.loads((folder / "vis.json").read_text())["annotations"]
    carried_area = 0
    for annotation in annotations:
        for frame, segmentation in enumerate(annotation["segmentations"]):
            png = _read(mask_dir / "per_object" / f"mask_{frame:05d}_obj_{annotation['id']}.png") > 0
            decoded = np.zeros_like(png)
            if segmentation is not None:
                rle = {"size": segmentation["size"], "counts": segmentation["counts"].encode()}
                decoded = coco_mask.decode(rle).astype(bool)
            assert np.array_equal(decoded, png), (annotation["id"], frame)
            carried_area += int(png.sum()) if frame in carried else 0
    assert carried_area > 0  # the carried frames have masks to lose
    for frame in range(24):
        labels = np.asarray(Image.open(folder / "davis" / f"{frame:05d}.png"))
        assert np.array_equal(labels > 0, _read(mask_dir / "combined" / f"mask_{frame:05d}.png") > 0), frame


def test_other_prompts_in_the_same_project_start_a_new_run(random_model, scene_jpegs, tmp_path):
    source = JpegFolderFrames.open(scene_jpegs)
    cancel = threading.Event()
    options, outputs = SegmentOptions(batch_size=4), OutputRequest(mask_dir=tmp_path / "masks")
    partial = segment_video(
        random_model, scene_jpegs, _prompts(source.meta), outputs, options=options, project=tmp_path / "p",
        progress=_cancel_after(cancel, 1), cancel=cancel,
    )  # fmt: skip
    assert partial.partial
    changed = _prompts(source.meta)
    changed.add_click(8, 1, 60, 60, 0)
    cancel.clear()
    again = segment_video(
        random_model, scene_jpegs, changed, outputs, options=options, project=tmp_path / "p",
        progress=_cancel_after(cancel, 2), cancel=cancel,
    )  # fmt: skip
    assert again.partial and again.resumed_at is None and again.tracked.start == 4
    assert again.frames_tracked == len(again.tracked) >= 2


def test_segment_cli_runs_headless_from_a_state_file(scene_jpegs, tmp_path, capsys, caplog):
    caplog.set_level(logging.INFO, logger="sam2_gradio.cli.segment")
    state = tmp_path / "interactive_state.json"
    clicks = {"2": {"5": {"points": [[30, 60]], "labels": [1]}, "6": {"box": [98, 20, 142, 64]}}}
    state.write_text(json.dumps({"version": 1, "clicks": clicks, "names": {"6": "green box"}}))
    code = segment.main(
        [
            "--frame-dir",
            str(scene_jpegs),
            "--state-file",
            str(state),
            "--mask-dir",
            str(tmp_path / "m"),
            "--output",
            str(tmp_path / "preview.mp4"),
            "--random-weights",
            "--model-size",
            "tiny",
            "--image-size",
            "256",
            "--batch-size",
            "10",
            "--fps",
            "8",
            "--coco",
            str(tmp_path / "vis.json"),
            "--davis-dir",
            str(tmp_path / "davis"),
            "--alpha-video",
            str(tmp_path / "cutout.webm"),
            "--alpha-objects",
            "6",
        ]
    )
    assert code == 0
    assert len(list((tmp_path / "m" / "per_object").glob("mask_*_obj_5.png"))) == 24
    steps = [r.message for r in caplog.records if r.message.startswith("Tracking ")]
    assert len(steps) >= 2 and steps[-1].startswith("Tracking 22/22 frames (100%)")  # frames 2 to 23
    assert all(" fps | " in line and line.endswith(" left") for line in steps)
    assert probe_video(tmp_path / "preview.mp4").fps == pytest.approx(8.0)
    _assert_exports_match_the_mask_pngs(tmp_path, obj_ids=[5, 6])
    assert probe_video(tmp_path / "cutout.webm").num_frames == 24


def _assert_exports_match_the_mask_pngs(folder: Path, obj_ids: list[int]) -> None:
    """COCO JSON (through pycocotools) and DAVIS PNGs (through load_mask_set) equal the per-object PNGs."""
    from pycocotools import mask as coco_mask

    from sam2_gradio.media.mask_files import load_mask_set

    data = json.loads((folder / "vis.json").read_text())
    assert [category["name"] for category in data["categories"]] == ["object", "green box"]
    davis = load_mask_set(folder / "davis")
    assert davis.object_ids == tuple(obj_ids)
    for annotation in data["annotations"]:
        for frame, segmentation in enumerate(annotation["segmentations"]):
            png = _read(folder / "m" / "per_object" / f"mask_{frame:05d}_obj_{annotation['id']}.png") > 0
            if segmentation is None:
                assert not png.any()
                continue
            rle = {"size": segmentation["size"], "counts": segmentation["counts"].encode()}
            assert np.array_equal(coco_mask.decode(rle).astype(bool), png), (annotation["id"], frame)
            files = davis.files_for(frame)
            assert annotation["id"] in files
            lower_ids = [obj for obj in obj_ids if obj < annotation["id"] and obj in files]
            covered = np.zeros_like(png)
            for other in lower_ids:
                covered |= files[other].coverage() > 0
            assert np.array_equal(files[annotation["id"]].coverage() > 0, png & ~covered)
    assert any(segmentation is None for segmentation in data["annotations"][0]["segmentations"][:2])
    davis.close()


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda d: ["--video", str(d / "missing.mp4")], "missing.mp4"),
        (lambda d: ["--video", str(d / "state.json")], "not a readable video"),
        (
            lambda d: ["--frame-dir", str(d / "frames"), "--config", "configs/sam2.1/nope.yaml"],
            "unknown SAM 2.1 config",
        ),
        (
            lambda d: ["--frame-dir", str(d / "frames"), "--batch-size", "0"],
            "argument --batch-size: must be at least 1, got 0",
        ),
    ],
)
def test_segment_cli_bad_input_is_one_line_and_exit_2(scene_jpegs, tmp_path, capsys, make_args, message):
    (tmp_path / "frames").symlink_to(scene_jpegs)
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"version": 1, "clicks": {"0": {"1": {"points": [[3, 3]], "labels": [1]}}}}))
    code = segment.main([*make_args(tmp_path), "--state-file", str(state), "--random-weights"])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert message in error and len(error.splitlines()) == 1 and "Traceback" not in error


def test_segment_cli_without_weights_names_the_fetch_command(scene_jpegs, tmp_path, capsys, monkeypatch):
    from sam2_gradio import config

    monkeypatch.setattr(config, "CHECKPOINT_DIR", tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"version": 1, "clicks": {"0": {"1": {"points": [[3, 3]], "labels": [1]}}}}))
    code = segment.main(
        ["--frame-dir", str(scene_jpegs), "--state-file", str(state), "--model-size", "small"]
    )
    assert code == 2
    assert "python -m sam2_gradio.checkpoints --model-size small" in capsys.readouterr().err
