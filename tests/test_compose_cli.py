"""The compose CLI end to end on tiny videos: renders, logs, --preview, --snapshot and one-line errors."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from sam2_gradio.cli.compose import main
from sam2_gradio.media.mask_files import combined_mask_name, per_object_mask_name, save_mask_png
from sam2_gradio.media.video import has_audio_stream, probe_video

PROJECT_ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 64, 48
OBJECT_BOX = (20, 12, 44, 36)  # x0, y0, x1, y1 of the object's square in the object video
BG_LEVEL = 50


def object_level(frame: int) -> int:
    """Grey level of the object on object frame ``frame`` (distinct per frame)."""
    return 30 + 6 * frame


def object_frames(count: int) -> list[np.ndarray]:
    frames = []
    for index in range(count):
        frame = np.full((HEIGHT, WIDTH, 3), (20, 150, 20), np.uint8)
        x0, y0, x1, y1 = OBJECT_BOX
        frame[y0:y1, x0:x1] = object_level(index)
        frames.append(frame)
    return frames


def write_mask(folder: Path, name: str, box=OBJECT_BOX) -> None:
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = 255
    save_mask_png(folder / name, mask)


@pytest.fixture
def clips(make_video, tmp_path) -> dict[str, Path]:
    """Background (35 frames with audio), object video (35 frames) and single-object masks, as paths."""
    background = make_video("bg.mp4", [np.full((HEIGHT, WIDTH, 3), BG_LEVEL, np.uint8)] * 35, audio=True)
    obj = make_video("obj.mp4", object_frames(35))
    for frame in range(35):
        write_mask(tmp_path / "masks", combined_mask_name(frame))
    return {"bg": background, "obj": obj, "mask": tmp_path / "masks", "out": tmp_path / "out" / "result.mp4"}


def cli_args(clips: dict[str, Path], *extra: str) -> list[str]:
    (clips["out"].parent).mkdir(exist_ok=True)
    paths = [item for key in ("bg", "obj", "mask", "out") for item in (f"--{key}", str(clips[key]))]
    return [*paths, "--feather", "0", *extra]


def read_png(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def object_mean(frame: np.ndarray) -> float:
    x0, y0, x1, y1 = OBJECT_BOX
    return float(frame[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2].mean())


def test_renders_video_and_logs_progress_and_summary(clips, caplog):
    caplog.set_level(logging.INFO, logger="sam2_gradio.cli.compose")
    assert main(cli_args(clips, "--placement", "original")) == 0
    info = probe_video(clips["out"])
    assert (info.width, info.height, info.num_frames, info.fps) == (WIDTH, HEIGHT, 35, 10)
    assert has_audio_stream(clips["out"])
    assert "Render 30/35 frames" in caplog.text and "Render 35/35 frames" in caplog.text
    assert "Render 29/35" not in caplog.text  # a line every 30 frames, not every frame
    assert "done: 35 frames" in caplog.text and str(clips["out"]) in caplog.text
    assert sorted(path.name for path in clips["out"].parent.iterdir()) == ["result.mp4"]


def test_several_objects_log_that_they_move_as_one_group_unless_an_objects_file_places_each(
    clips, caplog, tmp_path
):
    masks = tmp_path / "two"
    for frame in range(35):
        write_mask(masks, per_object_mask_name(frame, 1), (2, 2, 12, 12))
        write_mask(masks, per_object_mask_name(frame, 4), (40, 30, 60, 44))
    clips["mask"] = masks
    caplog.set_level(logging.INFO, logger="sam2_gradio.cli.compose")
    assert main(cli_args(clips, "--placement", "relocate", "--snapshot", "0")) == 0
    assert "objects (1, 4) are placed together as one group" in caplog.text
    caplog.clear()
    objects = tmp_path / "objects.json"
    objects.write_text('[{"id": 4, "pos": "bottom-right", "size": 20}, {"id": 1, "placement": "original"}]')
    assert main(cli_args(clips, "--objects-file", str(objects), "--snapshot", "0", "--edge", "hard")) == 0
    assert "one group" not in caplog.text
    image = read_png(clips["out"].parent / "result_frame_00000.png")
    # object 4 (its 20x14 green box) moved to the bottom-right corner, object 1 where it was
    assert image[40:42, 50:52, 1].min() > 120 and image[5:8, 5:8, 1].min() > 120
    assert abs(int(image[31:33, 41:43, 1].mean()) - BG_LEVEL) < 8  # where object 4 was: background
    bad = tmp_path / "bad.json"
    bad.write_text('[{"id": 9}]')
    assert main(cli_args(clips, "--objects-file", str(bad), "--snapshot", "0")) == 2


def test_preview_saves_pngs_and_writes_no_video(clips):
    assert main(cli_args(clips, "--preview", "--placement", "original")) == 0
    names = sorted(path.name for path in clips["out"].parent.iterdir())
    assert names == ["result_preview_00000.png", "result_preview_00017.png", "result_preview_00034.png"]
    for name, frame in zip(names, (0, 17, 34), strict=True):
        image = read_png(clips["out"].parent / name)
        assert image.shape == (HEIGHT, WIDTH, 3)
        assert abs(object_mean(image) - object_level(frame)) <= 2
        assert abs(float(image[:8, :8].mean()) - BG_LEVEL) <= 2


def test_snapshot_saves_one_frame(clips):
    assert main(cli_args(clips, "--snapshot", "9", "--size", "24", "--pos", "top-left")) == 0
    assert sorted(path.name for path in clips["out"].parent.iterdir()) == ["result_frame_00009.png"]
    image = read_png(clips["out"].parent / "result_frame_00009.png")
    # the 24x24 object relocated to the top-left corner at its size: pixels (0..24, 0..24)
    assert abs(float(image[2:22, 2:22].mean()) - object_level(9)) <= 2
    assert abs(float(image[30:, 30:].mean()) - BG_LEVEL) <= 2


def bad_inputs(clips: dict[str, Path], tmp_path: Path) -> dict[str, list[str]]:
    not_a_video = tmp_path / "notes.mp4"
    not_a_video.write_text("hello")
    empty = tmp_path / "empty_masks"
    empty.mkdir()
    return {
        "missing background": ["--bg", str(tmp_path / "nowhere.mp4")],
        "background not a video": ["--bg", str(not_a_video)],
        "masks missing": ["--mask", str(tmp_path / "no_masks")],
        "masks without PNGs": ["--mask", str(empty)],
        "unknown object id": ["--objects", "3"],
        "size zero": ["--size", "0"],
        "unknown anchor": ["--pos", "middle"],
        "not a number": ["--offset-x", "ten"],
        "snapshot past the end": ["--snapshot", "35"],
        "output folder missing": ["--out", str(tmp_path / "no_dir" / "x.mp4")],
        "output not a video name": ["--out", str(tmp_path / "out" / "x.gif")],
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing background",
        "background not a video",
        "masks missing",
        "masks without PNGs",
        "unknown object id",
        "size zero",
        "unknown anchor",
        "not a number",
        "snapshot past the end",
        "output folder missing",
        "output not a video name",
    ],
)
def test_bad_input_exits_2_with_one_line(clips, tmp_path, capsys, case):
    argv = cli_args(clips) + bad_inputs(clips, tmp_path)[case]  # later flags override earlier ones
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert list(clips["out"].parent.iterdir()) == []


def test_help_lists_every_flag(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--bg", "--obj", "--mask", "--out", "--placement", "--size", "--pos", "--offset-x"):
        assert flag in text
    for flag in ("--offset-y", "--blend-mode", "--brightness-match", "--loop", "--preview", "--feather"):
        assert flag in text
    assert "--objects" in text and "--snapshot" in text


def test_module_runs_as_a_script(clips):
    argv = cli_args(clips, "--size", "20")
    result = subprocess.run(
        [sys.executable, "-m", "sam2_gradio.compose", *argv],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert probe_video(clips["out"]).num_frames == 35
    assert "done: 35 frames" in result.stderr


def test_compose_path_never_imports_torch(clips):
    argv = cli_args(clips, "--snapshot", "3")
    code = (
        "import sys\n"
        "from sam2_gradio.cli.compose import main\n"
        f"assert main({argv!r}) == 0\n"
        "heavy = sorted(name for name in sys.modules if name.split('.')[0] in ('torch', 'sam2', 'gradio'))\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
