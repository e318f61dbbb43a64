"""Reliability (issue 6): bad input to both CLIs, damaged and odd-named files, atomic outputs, and the app
under concurrent sessions and a soak of back-to-back jobs through its API.

Damaged videos are made by cutting an H.264 MP4 (index at the front) short; the frames that still decode
are counted independently, from the raw bytes ffmpeg outputs. The API tests run the app in-process with
the random-weights model (the `random_model` fixture) and several `gradio_client.Client`s, one per session.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest

from sam2_gradio import config
from sam2_gradio.app import segment_actions
from sam2_gradio.app.model_holder import AppModel
from sam2_gradio.app.sessions import SessionStore
from sam2_gradio.cli import compose, segment
from sam2_gradio.engine.model import predictor
from sam2_gradio.errors import UploadRejected
from sam2_gradio.jobs import Progress
from sam2_gradio.media.mask_files import (
    combined_mask_name,
    load_mask_set,
    per_object_mask_name,
    save_mask_png,
)
from sam2_gradio.media.video import probe_video, read_frame, write_video

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
WIDTH, HEIGHT, FPS = 64, 48, 10
MASK_BOX = (8, 8, 40, 32)  # x0, y0, x1, y1 of the object's mask on every frame
BACKGROUND_LEVEL = 60
COLOR_TOLERANCE = 12  # x264 at CRF 18 keeps flat colours within a few levels
ONE_CLICK = {"0": {"1": {"points": [[20, 16]], "labels": [1]}}}


# --- files: damaged, odd and hostile ----------------------------------------------------------------
def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-v", "error", "-y", *args], check=True)


def decoded_frame_count(path: Path) -> int:
    """Frames ffmpeg decodes from `path`, counted from the raw RGB bytes it writes (not via probe_video)."""
    command = [FFMPEG, "-v", "quiet", "-i", str(path), "-map", "0:v:0", "-fps_mode", "passthrough"]
    output = subprocess.run([*command, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], capture_output=True)
    return len(output.stdout) // (WIDTH * HEIGHT * 3)


def cut_short(video: Path, path: Path, keep: float) -> Path:
    """A copy of `video` with its index moved to the front, cut `keep` of the way into the frame data."""
    indexed = path.with_name(f"indexed-{path.name}")
    ffmpeg("-i", str(video), "-c", "copy", "-movflags", "+faststart", str(indexed))
    data = indexed.read_bytes()
    frames_start = data.index(b"mdat") + 4
    path.write_bytes(data[: frames_start + int((len(data) - frames_start) * keep)])
    return path


@pytest.fixture
def truncated_video(make_video, tmp_path) -> Path:
    """A 12-frame video cut short: a few frames decode, the rest are gone."""
    path = cut_short(make_video("twelve.mp4", 12), tmp_path / "truncated.mp4", keep=0.6)
    assert 0 < decoded_frame_count(path) < 12  # precondition of every test that uses it
    return path


@pytest.fixture
def zero_frame_video(make_video, tmp_path) -> Path:
    """An MP4 whose header announces a video stream but none of whose frames remain."""
    return cut_short(make_video("eight.mp4", 8), tmp_path / "no_frames.mp4", keep=0.0)


@pytest.fixture
def audio_only(tmp_path) -> Path:
    """Half a second of a tone in an .mp4 file, without any video stream."""
    path = tmp_path / "tone.mp4"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "0.5", "-c:a", "aac", str(path))
    return path


def box_mask(box: tuple[int, int, int, int] = MASK_BOX) -> np.ndarray:
    """A 0/255 mask of the video's size covering `box` = (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    mask[y0:y1, x0:x1] = 255
    return mask


def png_bytes(mask: np.ndarray) -> bytes:
    return cv2.imencode(".png", mask)[1].tobytes()


def write_masks_folder(folder: Path, num_frames: int) -> Path:
    for frame in range(num_frames):
        save_mask_png(folder / combined_mask_name(frame), box_mask())
    return folder


def write_masks_zip(path: Path, num_frames: int) -> Path:
    """A masks zip in the segment layout: object 1 covers MASK_BOX on every frame."""
    with zipfile.ZipFile(path, "w") as archive:
        for frame in range(num_frames):
            data = png_bytes(box_mask())
            archive.writestr(f"per_object/{per_object_mask_name(frame, 1)}", data)
            archive.writestr(f"combined/{combined_mask_name(frame)}", data)
    return path


def flat_frames(count: int, color: tuple[int, int, int]) -> list[np.ndarray]:
    return [np.full((HEIGHT, WIDTH, 3), color, dtype=np.uint8) for _ in range(count)]


def write_state(path: Path, clicks: dict, **extra: object) -> Path:
    path.write_text(json.dumps({"version": 1, "clicks": clicks, **extra}))
    return path


def one_line_error(text: str) -> str:
    """The stderr of a CLI that failed: exactly one line starting with "error:" and no traceback."""
    assert "Traceback" not in text, text
    assert text.count("\n") == 1 and text.startswith("error: "), text
    return text


@pytest.fixture
def shared_random_model(random_model, monkeypatch) -> list[str]:
    """The segment CLI flags that make `get_shared_model` return the `random_model` fixture (no rebuild)."""
    monkeypatch.setitem(predictor._shared, random_model.settings, random_model)
    settings = random_model.settings
    return [
        "--random-weights",
        "--model-size",
        settings.model_size,
        "--image-size",
        str(settings.image_size),
        "--device",
        settings.device,
    ]


# --- segment CLI: bad input -------------------------------------------------------------------------
SEGMENT_BAD_INPUTS: dict[str, tuple[Callable[[dict[str, Path]], list[str]], str]] = {
    "not a video": (lambda f: ["--video", str(f["text"])], "is not a readable video"),
    "missing video": (lambda f: ["--video", str(f["dir"] / "gone.mp4")], "video file not found"),
    "still image": (lambda f: ["--video", str(f["png"])], "is a still image, not a video"),
    "audio only": (lambda f: ["--video", str(f["audio"])], "has no video stream"),
    "zero frames": (lambda f: ["--video", str(f["no_frames"])], "none of its frames decode"),
    "missing state": (lambda f: ["--state-file", str(f["dir"] / "gone.json")], "does not exist"),
    "malformed state": (lambda f: ["--state-file", str(f["malformed"])], "is not valid JSON"),
    "state of another version": (lambda f: ["--state-file", str(f["version2"])], "unsupported prompt state"),
    "state for another video": (lambda f: ["--state-file", str(f["other_video"])], "saved for another video"),
    "click outside the frame": (lambda f: ["--state-file", str(f["outside"])], "is outside the 64x48 frame"),
}


@pytest.fixture
def segment_files(make_video, tmp_path, audio_only, zero_frame_video) -> dict[str, Path]:
    text = tmp_path / "notes.mp4"
    text.write_text("these are not frames\n")
    png = tmp_path / "still.mp4"
    png.write_bytes(png_bytes(box_mask()))
    other_video = {"num_frames": 99, "width": WIDTH, "height": HEIGHT, "fps": FPS}
    return {
        "dir": tmp_path,
        "video": make_video("clip.mp4", 4),
        "text": text,
        "png": png,
        "audio": audio_only,
        "no_frames": zero_frame_video,
        "state": write_state(tmp_path / "state.json", ONE_CLICK),
        "malformed": _write(tmp_path / "malformed.json", '{"version": 1, "clicks": {'),
        "version2": _write(tmp_path / "v2.json", json.dumps({"version": 2, "clicks": {}})),
        "other_video": write_state(tmp_path / "other.json", ONE_CLICK, video=other_video),
        "outside": write_state(tmp_path / "outside.json", {"0": {"1": {"points": [[64, 5]], "labels": [1]}}}),
    }


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def segment_args(files: dict[str, Path], *extra: str) -> list[str]:
    paths = ["--video", str(files["video"]), "--state-file", str(files["state"])]
    return [
        *paths,
        "--mask-dir",
        str(files["dir"] / "masks"),
        "--random-weights",
        "--image-size",
        "256",
        *extra,
    ]


@pytest.mark.parametrize("case", list(SEGMENT_BAD_INPUTS))
def test_segment_cli_bad_input_exits_2_with_one_line_and_writes_nothing(segment_files, capsys, case):
    make_args, message = SEGMENT_BAD_INPUTS[case]
    assert segment.main(segment_args(segment_files) + make_args(segment_files)) == 2
    assert message in one_line_error(capsys.readouterr().err)
    assert not (segment_files["dir"] / "masks").exists()


def test_segment_cli_process_prints_one_line_for_a_malformed_state(segment_files):
    argv = segment_args(segment_files, "--state-file", str(segment_files["malformed"]))
    result = subprocess.run(
        [sys.executable, "-m", "sam2_gradio.segment", *argv],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "is not valid JSON" in one_line_error(result.stderr)


# --- compose CLI: bad input -------------------------------------------------------------------------
@pytest.fixture
def compose_files(make_video, tmp_path) -> dict[str, Path]:
    """A 12-frame grey background, a 12-frame object video and masks of MASK_BOX; `out` in an empty folder."""
    (tmp_path / "out").mkdir()
    return {
        "bg": make_video("bg.mp4", flat_frames(12, (BACKGROUND_LEVEL,) * 3)),
        "obj": make_video("obj.mp4", flat_frames(12, (200, 40, 40))),
        "mask": write_masks_folder(tmp_path / "masks", 12),
        "out": tmp_path / "out" / "composite.mp4",
    }


def compose_args(files: dict[str, Path], *extra: str) -> list[str]:
    paths = [item for key in ("bg", "obj", "mask", "out") for item in (f"--{key}", str(files[key]))]
    return [*paths, "--placement", "original", "--feather", "0", *extra]


def _zip_entries(path: Path, entries: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if symlink is not None:
            link = zipfile.ZipInfo(symlink)
            link.external_attr = 0o120777 << 16
            archive.writestr(link, "/etc/passwd")
    return path


def _bad_compose_input(case: str, tmp_path: Path, request: pytest.FixtureRequest) -> list[str]:
    """The flags that give the compose CLI the bad input `case` (files made in `tmp_path`)."""
    mask = png_bytes(box_mask())
    if case == "masks with wrong names":
        (tmp_path / "wrong").mkdir()
        (tmp_path / "wrong" / "frame1.png").write_bytes(mask)
        return ["--mask", str(tmp_path / "wrong")]
    if case == "masks that are not PNGs":
        (tmp_path / "text").mkdir()
        (tmp_path / "text" / combined_mask_name(0)).write_text("not an image")
        return ["--mask", str(tmp_path / "text")]
    if case == "zip entry climbing out":
        return ["--mask", str(_zip_entries(tmp_path / "climb.zip", {"../../evil/mask_00000.png": mask}))]
    if case == "zip with a link":
        zipped = _zip_entries(tmp_path / "link.zip", {"mask_00000.png": mask}, symlink="mask_00001.png")
        return ["--mask", str(zipped)]
    if case == "zip bomb":
        bomb = tmp_path / "bomb.zip"
        with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("mask_00000.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 2**20))
        request.getfixturevalue("monkeypatch").setattr(config, "MAX_ZIP_UNCOMPRESSED_MB", 1)
        return ["--mask", str(bomb)]
    if case == "background audio only":
        return ["--bg", str(request.getfixturevalue("audio_only"))]
    if case == "object with zero frames":
        return ["--obj", str(request.getfixturevalue("zero_frame_video"))]
    raise AssertionError(case)


COMPOSE_BAD_INPUTS = {
    "masks with wrong names": "is named like mask_00012.png",
    "masks that are not PNGs": "is not a PNG image",
    "zip entry climbing out": "unsafe entry path",
    "zip with a link": "symbolic link entry",
    "zip bomb": "the limit is 1 MB",
    "background audio only": "has no video stream",
    "object with zero frames": "none of its frames decode",
}


@pytest.mark.parametrize("case", list(COMPOSE_BAD_INPUTS))
def test_compose_cli_bad_input_exits_2_with_one_line_and_writes_nothing(
    compose_files, tmp_path, capsys, monkeypatch, request, case
):
    # Zips are read in place; were anything extracted to the system temp folder, it would land in tmp_path.
    system_temp = tmp_path / "system-temp" / "deeper"
    system_temp.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(system_temp))
    argv = compose_args(compose_files) + _bad_compose_input(case, tmp_path, request)
    listing_before = set(tmp_path.rglob("*"))
    assert compose.main(argv) == 2
    assert COMPOSE_BAD_INPUTS[case] in one_line_error(capsys.readouterr().err)
    assert list(compose_files["out"].parent.iterdir()) == []
    assert set(tmp_path.rglob("*")) == listing_before  # nothing extracted anywhere, nothing left behind


def test_compose_cli_process_prints_only_the_error_for_an_unreadable_background(compose_files, tmp_path):
    not_a_video = _write(tmp_path / "notes.mp4", "not a video")
    argv = compose_args(compose_files, "--bg", str(not_a_video))
    result = subprocess.run(
        [sys.executable, "-m", "sam2_gradio.compose", *argv],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "notes.mp4 is not a readable video" in one_line_error(result.stderr)


def test_compose_cli_process_ends_with_one_error_line_for_unusable_masks(compose_files, tmp_path):
    (tmp_path / "wrong").mkdir()
    (tmp_path / "wrong" / "frame1.png").write_bytes(png_bytes(box_mask()))
    argv = compose_args(compose_files, "--mask", str(tmp_path / "wrong"))
    result = subprocess.run(
        [sys.executable, "-m", "sam2_gradio.compose", *argv],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and result.stderr.splitlines()[-1] == errors[0]
    assert "is named like mask_00012.png" in errors[0]


# --- damaged videos: the frames that decode are used, and counted ------------------------------------
def test_compose_cli_renders_the_frames_a_truncated_background_still_has(
    compose_files, truncated_video, make_video
):
    longer_object = make_video("obj20.mp4", flat_frames(20, (200, 40, 40)))  # the background sets the length
    files = {**compose_files, "obj": longer_object, "bg": truncated_video}
    assert compose.main(compose_args(files)) == 0
    assert probe_video(files["out"]).num_frames == decoded_frame_count(truncated_video)


def test_segment_cli_tracks_the_frames_a_truncated_video_still_has(
    segment_files, truncated_video, shared_random_model, caplog
):
    caplog.set_level("INFO", logger="sam2_gradio.cli.segment")
    decoded = decoded_frame_count(truncated_video)
    argv = segment_args(segment_files, "--video", str(truncated_video), *shared_random_model)
    assert segment.main(argv) == 0
    masks = sorted(path.name for path in (segment_files["dir"] / "masks" / "combined").iterdir())
    assert masks == [combined_mask_name(frame) for frame in range(decoded)]
    assert f"video: {decoded} frames" in caplog.text


def test_opening_a_truncated_video_uses_and_counts_the_frames_that_decode(
    random_model, truncated_video, tmp_path
):
    session = SessionStore(tmp_path / "sessions").get("tab")
    opened = segment_actions.open_video(
        session, truncated_video, AppModel(random_model.settings, model=random_model)
    )
    decoded = decoded_frame_count(truncated_video)
    assert opened.num_frames == decoded
    assert opened.summary.startswith(f"{decoded} frames · ")
    last = segment_actions.show_frame(session, decoded - 1)
    np.testing.assert_array_equal(last, read_frame(truncated_video, decoded - 1))
    with pytest.raises(ValueError, match=f"frame {decoded} is outside the video"):
        segment_actions.show_frame(session, decoded)


@pytest.mark.parametrize(
    ("upload", "why"),
    [
        ("audio_only", r"^The video file \S+ has no video stream \(only sound\?\)"),
        ("zero_frame_video", r"^The video could not be read as a video; try an MP4 \(H\.264\)"),
    ],
)
def test_an_upload_without_frames_is_refused_and_the_open_video_kept(
    random_model, truncated_video, tmp_path, request, upload, why
):
    session = SessionStore(tmp_path / "sessions").get("tab")
    model = AppModel(random_model.settings, model=random_model)
    segment_actions.open_video(session, truncated_video, model)
    refused = request.getfixturevalue(upload)
    with pytest.raises(UploadRejected, match=why):
        segment_actions.open_video(session, refused, model)
    assert segment_actions.refused_upload(session, refused)  # its box is emptied
    assert session.video_path == truncated_video
    assert session.segment.source.meta.num_frames == decoded_frame_count(truncated_video)


# --- odd file names ---------------------------------------------------------------------------------
ODD_NAMES = ["clip with spaces.mp4", "vidéo ünïcode 视频.mp4", "-starts-with-a-dash.mp4", "take:2.mp4"]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_videos_and_masks_with_odd_names_compose_by_relative_path(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    frames = flat_frames(6, (200, 40, 40))
    write_video(name, frames, fps=FPS)
    assert probe_video(name).num_frames == 6
    assert np.abs(read_frame(name, 5).astype(int) - frames[5]).max() <= COLOR_TOLERANCE
    masks = write_masks_folder(Path(f"masks of {Path(name).stem}"), 6)
    out = f"-out {name}"
    argv = [f"--bg={name}", f"--obj={name}", f"--mask={masks}", f"--out={out}", "--placement", "original"]
    assert compose.main(argv) == 0
    assert probe_video(out).num_frames == 6
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([name, str(masks), out])


def test_zip_entries_with_odd_names_are_indexed_and_read_without_writing_anything(tmp_path):
    masks = {frame: box_mask(box=(frame, 0, frame + 8, 8)) for frame in range(5)}
    entries = {
        f"Masques für Résumé/per_object/{per_object_mask_name(0, 1)}": png_bytes(masks[0]),
        f"per_object\\{per_object_mask_name(1, 1)}": png_bytes(masks[1]),  # a Windows zip's separators
        f"dir with spaces/{per_object_mask_name(2, 1).upper()}": png_bytes(masks[2]),
        f"-dash/{per_object_mask_name(3, 1)}": png_bytes(masks[3]),
        f"视频/{per_object_mask_name(4, 1)}": png_bytes(masks[4]),
        f"__MACOSX/per_object/._{per_object_mask_name(0, 1)}": b"macOS metadata, not a PNG",
        "notes about the masks.txt": b"ignored",
    }
    zipped = _zip_entries(tmp_path / "odd names.zip", entries)
    before = set(tmp_path.rglob("*"))
    mask_set = load_mask_set(zipped)
    assert mask_set.object_ids == (1,) and mask_set.frame_order == (0, 1, 2, 3, 4)
    for frame, expected in masks.items():
        np.testing.assert_array_equal(mask_set.frames[frame][1].coverage(), expected)
    assert set(tmp_path.rglob("*")) == before
    mask_set.close()


# --- atomic outputs ---------------------------------------------------------------------------------
PREVIOUS = b"the previous, finished output"


def _broken_png_on_frame(masks: Path, frame: int) -> None:
    header = (masks / combined_mask_name(frame)).read_bytes()[:33]  # signature and IHDR: indexing accepts it
    (masks / combined_mask_name(frame)).write_bytes(header + b"broken" * 10)


@pytest.mark.parametrize("failure", ["unreadable mask mid-way", "interrupted"])
def test_a_failed_compose_cli_run_keeps_the_previous_output_untouched(compose_files, monkeypatch, failure):
    compose_files["out"].write_bytes(PREVIOUS)
    rendered = []
    if failure == "interrupted":

        def interrupt_at_frame_5(report: Progress) -> None:
            rendered.append(report.frames_done)
            if report.frames_done == 5:
                raise KeyboardInterrupt

        monkeypatch.setattr(compose, "_log_progress", interrupt_at_frame_5)
    else:
        _broken_png_on_frame(compose_files["mask"], 6)
        monkeypatch.setattr(compose, "_log_progress", lambda report: rendered.append(report.frames_done))
    code = compose.main(compose_args(compose_files))
    assert code == (130 if failure == "interrupted" else 2)
    assert 0 < len(rendered) < 12  # it stopped mid-way, after encoding some frames
    assert compose_files["out"].read_bytes() == PREVIOUS
    assert list(compose_files["out"].parent.iterdir()) == [compose_files["out"]]


@pytest.mark.parametrize(("failure", "exit_code"), [(KeyboardInterrupt, 130), (OSError, 2)])
def test_a_failed_segment_cli_run_keeps_the_previous_masks_and_preview(
    segment_files, shared_random_model, monkeypatch, failure, exit_code
):
    folder = segment_files["dir"]
    write_masks_folder(folder / "masks" / "combined", 2)
    (folder / "preview.mp4").write_bytes(PREVIOUS)
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    reports = []

    def fail_on_first_report(report) -> None:
        reports.append(report)
        raise failure("disk full")

    monkeypatch.setattr(segment, "_log_progress", fail_on_first_report)
    video = write_video(folder / "six.mp4", flat_frames(6, (90, 90, 90)), fps=FPS)
    before[video] = video.read_bytes()
    argv = segment_args(segment_files, "--video", str(video), "--output", str(folder / "preview.mp4"))
    assert segment.main([*argv, "--batch-size", "2", *shared_random_model]) == exit_code
    assert len(reports) == 1 and 0 < reports[0].frames_done < 6  # it stopped after its first step
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        (lambda d: ["--output", str(d / "missing" / "preview.mp4")], "the folder of the output preview.mp4"),
        (lambda d: ["--output", str(d / "preview.gif")], "must end with one of .mp4"),
        (lambda d: ["--zip", str(d / "missing" / "masks.zip")], "the folder of the zip masks.zip"),
        (lambda d: ["--zip", str(d / "masks" / "masks.zip")], "must not be inside the mask folder"),
        (lambda d: ["--zip", str(d / "p.mp4"), "--output", str(d / "p.mp4")], "must be different files"),
    ],
    ids=["preview folder missing", "preview not a video", "zip folder missing", "zip in masks", "same file"],
)
def test_segment_cli_checks_every_output_before_starting(
    segment_files, shared_random_model, monkeypatch, capsys, outputs, message
):
    folder = segment_files["dir"]
    write_masks_folder(folder / "masks" / "combined", 2)
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    reports = []
    monkeypatch.setattr(segment, "_log_progress", reports.append)
    argv = [*segment_args(segment_files), *outputs(folder), *shared_random_model]
    assert segment.main(argv) == 2
    assert message in one_line_error(capsys.readouterr().err)
    assert reports == []  # refused before propagating
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before


def test_a_segment_cli_run_failing_in_the_preview_keeps_masks_preview_and_zip_together(
    segment_files, shared_random_model, monkeypatch
):
    from sam2_gradio.engine.exports import project_exports

    folder = segment_files["dir"]
    write_masks_folder(folder / "masks" / "combined", 2)
    (folder / "preview.mp4").write_bytes(PREVIOUS)
    (folder / "masks.zip").write_bytes(PREVIOUS)
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    stages = []
    monkeypatch.setattr(segment, "_log_progress", lambda report: stages.append(report.stage))

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(project_exports, "preview", disk_full)  # the preview is the last output made
    video = write_video(folder / "twelve.mp4", flat_frames(12, (90, 90, 90)), fps=FPS)
    before[video] = video.read_bytes()
    argv = segment_args(segment_files, "--video", str(video), "--output", str(folder / "preview.mp4"))
    argv += ["--zip", str(folder / "masks.zip"), *shared_random_model]
    assert segment.main(argv) == 2
    assert stages and set(stages) == {"tracking"}  # the masks were tracked, then the outputs failed
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before
    assert sorted(path.name for path in folder.iterdir() if path.name.startswith(".")) == []


# --- through the API: concurrent sessions and a soak -------------------------------------------------
class ModelUseTracker:
    """Wraps a `SharedModel.use` and records how many jobs held the model at once (once they hold it)."""

    def __init__(self, use: Callable[..., contextlib.AbstractContextManager]) -> None:
        self._use = use  # the model's own `use`
        self._lock = threading.Lock()
        self.holders = 0  # jobs holding the model now
        self.most_holders = 0  # the most that ever held it together
        self.uses = 0  # how many times it was held

    @contextlib.contextmanager
    def use(self, device: object = None) -> Iterator[object]:
        with self._use(device) as predictor:
            with self._lock:
                self.holders += 1
                self.uses += 1
                self.most_holders = max(self.most_holders, self.holders)
            try:
                yield predictor
            finally:
                with self._lock:
                    self.holders -= 1


def _api():
    """gradio_client and the in-process app (imported only by the API tests)."""
    from app_support import app_model_of, running_app
    from gradio_client import Client, handle_file

    return app_model_of, running_app, Client, handle_file


def colour_at_mask(video: Path, frame: int) -> tuple[np.ndarray, np.ndarray]:
    """The RGB pixels (N, 3) of `frame` inside MASK_BOX (shrunk by 2 px) and those far outside it."""
    image = read_frame(video, frame).astype(int)
    x0, y0, x1, y1 = MASK_BOX
    inside = image[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2].reshape(-1, 3)
    outside = image[y1 + 4 :, x1 + 4 :].reshape(-1, 3)
    return inside, outside


COMPOSE_COLOURS = [(220, 40, 40), (40, 200, 40), (40, 40, 220)]
PROPAGATE_FRAMES = [2, 3]  # SAM 2 on the CPU: about a second per frame


@pytest.mark.slow
def test_three_sessions_composing_and_two_propagating_at_once_get_their_own_results(
    random_model, make_video, tmp_path, monkeypatch
):
    app_model_of, running_app, Client, handle_file = _api()
    tracker = ModelUseTracker(random_model.use)
    monkeypatch.setattr(random_model, "use", tracker.use)
    background = make_video("bg.mp4", flat_frames(10, (BACKGROUND_LEVEL,) * 3))
    composes = [
        {
            "obj_video": handle_file(make_video(f"obj{index}.mp4", flat_frames(10, colour))),
            "masks": handle_file(write_masks_zip(tmp_path / f"masks{index}.zip", 10)),
            "bg_video": handle_file(background),
            "placement": "original",
            "feather": 0,
            "api_name": "/compose",
        }
        for index, colour in enumerate(COMPOSE_COLOURS)
    ]
    state = handle_file(write_state(tmp_path / "state.json", ONE_CLICK))
    propagates = [
        {
            "video": handle_file(make_video(f"clip{count}.mp4", count)),
            "state_file": state,
            "api_name": "/propagate",
        }
        for count in PROPAGATE_FRAMES
    ]
    jobs = composes + propagates
    start_together = threading.Barrier(len(jobs))

    with running_app(app_model_of(random_model), tmp_path / "sessions") as url:
        clients = [
            Client(url, verbose=False, download_files=tmp_path / f"downloads{index}")
            for index in range(len(jobs))
        ]

        def run(index: int):
            start_together.wait()
            return clients[index].predict(**jobs[index])

        with ThreadPoolExecutor(len(jobs)) as pool:
            results = list(pool.map(run, range(len(jobs))))

    for colour, result in zip(COMPOSE_COLOURS, results[: len(composes)], strict=True):
        assert probe_video(result).num_frames == 10
        for frame in (0, 9):
            inside, outside = colour_at_mask(Path(result), frame)
            assert np.abs(inside - colour).max() <= COLOR_TOLERANCE
            assert np.abs(outside - BACKGROUND_LEVEL).max() <= COLOR_TOLERANCE
    for count, (preview, masks_zip, _) in zip(PROPAGATE_FRAMES, results[len(composes) :], strict=True):
        assert probe_video(preview).num_frames == count
        with zipfile.ZipFile(masks_zip) as archive:
            combined = sorted(name for name in archive.namelist() if name.startswith("combined/"))
        assert combined == [f"combined/{combined_mask_name(frame)}" for frame in range(count)]
    assert tracker.uses >= len(propagates)
    assert tracker.most_holders == 1


@pytest.mark.slow
def test_damaged_uploads_through_the_api_are_refused_or_used_as_far_as_they_decode(
    random_model, truncated_video, zero_frame_video, audio_only, tmp_path
):
    app_model_of, running_app, Client, handle_file = _api()
    from gradio_client.exceptions import AppError

    decoded = decoded_frame_count(truncated_video)
    with running_app(app_model_of(random_model), tmp_path / "sessions") as url:
        client = Client(url, verbose=False, download_files=tmp_path / "downloads")
        summary = client.predict(video=handle_file(truncated_video), api_name="/open_video")[0]
        assert summary.startswith(f"{decoded} frames · ")
        refusals = ((zero_frame_video, "could not be read as a video"), (audio_only, "no video stream"))
        for unusable, why in refusals:
            with pytest.raises(AppError, match=why) as refused:
                client.predict(video=handle_file(unusable), api_name="/open_video")
            assert "Traceback" not in str(refused.value)
        client.predict(frame=decoded - 1, api_name="/show_frame")  # the damaged video is still open
        past_the_end = rf"[Ff]rame {decoded} is outside the video|greater than maximum value {decoded - 1}\."
        with pytest.raises(AppError, match=past_the_end):
            client.predict(frame=decoded, api_name="/show_frame")


def _file_of(output: object) -> str:
    """The local path of a file output of gradio_client (a path, or a dict holding one)."""
    return output["video"] if isinstance(output, dict) else output


def rss_mib() -> float:
    """Resident memory of this process (the app runs in it), from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def folder_kib(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 1024


SOAK_JOBS = 20
SOAK_FRAMES = 2  # frames of each video: the soak is about repetition, not length


@pytest.mark.slow
def test_soak_of_back_to_back_propagate_and_compose_jobs_keeps_memory_and_temp_folder_flat(
    random_model, make_video, tmp_path, monkeypatch
):
    """Memory, the session folders and gradio's temp folder stay flat: gradio stores each upload, and each
    result identical to an earlier one, once, so the temp folder grows by less than one job's results."""
    app_model_of, running_app, Client, handle_file = _api()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    sessions = tmp_path / "sessions"
    video = make_video("clip.mp4", SOAK_FRAMES)
    background = make_video("bg.mp4", flat_frames(SOAK_FRAMES, (BACKGROUND_LEVEL,) * 3))
    state = write_state(tmp_path / "state.json", ONE_CLICK)
    rows = []
    with running_app(app_model_of(random_model), sessions) as url:
        client = Client(url, verbose=False, download_files=tmp_path / "downloads")
        print("\njob  RSS MiB  session folder KiB  gradio temp KiB  job results KiB")
        for job in range(1, SOAK_JOBS + 1):
            preview, masks_zip, state_out = client.predict(
                video=handle_file(video), state_file=handle_file(state), api_name="/propagate"
            )
            result = client.predict(
                obj_video=handle_file(video),
                masks=handle_file(masks_zip),
                bg_video=handle_file(background),
                placement="original",
                api_name="/compose",
            )
            assert probe_video(result).num_frames == SOAK_FRAMES
            results = [preview, masks_zip, state_out, result]
            job_kib = sum(Path(_file_of(path)).stat().st_size for path in results) / 1024
            rows.append((job, rss_mib(), folder_kib(sessions), folder_kib(tmp_path / "gradio"), job_kib))
            print("{:>3}  {:>7.1f}  {:>18.1f}  {:>15.1f}  {:>15.1f}".format(*rows[-1]), flush=True)
    by_job = {job: (rss, session_kib, gradio_kib) for job, rss, session_kib, gradio_kib, _ in rows}
    rss_5, session_5, gradio_5 = by_job[5]
    rss_last, session_last, gradio_last = by_job[SOAK_JOBS]
    assert session_last <= session_5 * 1.1 + 64, rows  # finished job folders are pruned (3 kept per kind)
    assert rss_last - rss_5 < 150, rows
    one_job_kib = min(job_kib for *_, job_kib in rows)
    assert gradio_last - gradio_5 < one_job_kib, rows  # no upload or result stored twice
