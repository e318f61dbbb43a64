"""Hardening, round 2 (issue 25): each finding of the red-team pass, refused with one sentence before
the work it would cost, or handled."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import gradio as gr
import numpy as np
import pytest
from PIL import Image

from sam2_gradio import config
from sam2_gradio.app.edge import FRAME_SLIDER_MAX
from sam2_gradio.app.frame_slider import FrameSlider
from sam2_gradio.app.model_holder import AppModel
from sam2_gradio.app.server import build_parser, create_app, login_checker, read_auth_file
from sam2_gradio.app.sessions import SessionStore
from sam2_gradio.cli import compose as compose_cli
from sam2_gradio.compositor.blend import composite, feather_alpha
from sam2_gradio.compositor.placement import clip_box, relocate
from sam2_gradio.compositor.render import ComposeOptions, compose_frame
from sam2_gradio.engine.model.predictor import ModelSettings
from sam2_gradio.errors import BadInput, DiskLimitReached, UploadRejected
from sam2_gradio.media import mask_files
from sam2_gradio.media.mask_files import (
    DAVIS_PALETTE,
    Box,
    combined_mask_name,
    indexed_mask_name,
    load_mask_set,
    save_mask_png,
)


def palette_png(width: int, height: int, label: int = 0) -> bytes:
    """A DAVIS palette PNG of one label everywhere (a few hundred bytes whatever its size)."""
    image = Image.fromarray(np.full((height, width), label, np.uint8))
    image.putpalette(DAVIS_PALETTE)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# --- Mask zips and folders ------------------------------------------------------------------------------
def test_indexed_masks_declaring_more_pixels_than_indexing_may_decode_are_refused_unread(
    tmp_path, monkeypatch
):
    """The issue's zip held 2000 copies of a 3840x3840 PNG; here 40 copies of 1000x1000 against a budget of
    30 megapixels: refused from the headers, before a single PNG is decoded."""
    monkeypatch.setattr(config, "MAX_MASK_INDEX_PIXELS", 30_000_000)
    decoded = []
    monkeypatch.setattr(mask_files, "decode_labels", lambda data, name: decoded.append(name))
    png = palette_png(1000, 1000, label=1)
    with zipfile.ZipFile(tmp_path / "masks.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for frame in range(40):
            archive.writestr(indexed_mask_name(frame), png)
    with pytest.raises(BadInput, match="hold 40 megapixels, more than the 30 decoded to find their objects"):
        load_mask_set(tmp_path / "masks.zip")
    assert decoded == []


def test_indexed_masks_within_the_budget_are_indexed(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "MAX_MASK_INDEX_PIXELS", 30_000_000)
    (tmp_path / "davis").mkdir()
    for frame in range(3):
        (tmp_path / "davis" / indexed_mask_name(frame)).write_bytes(palette_png(100, 80, label=frame + 1))
    masks = load_mask_set(tmp_path / "davis")
    assert masks.object_ids == (1, 2, 3)


def test_a_masks_folder_with_more_files_than_the_limit_is_refused_while_walking(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "MAX_ZIP_ENTRIES", 5)
    for index in range(8):
        (tmp_path / f"note{index}.txt").write_text("x")
    with pytest.raises(BadInput, match="holds more than 5 files"):
        load_mask_set(tmp_path)


# --- Cancel while queued --------------------------------------------------------------------------------
def test_a_cancel_while_a_requested_run_waits_stops_it_as_it_starts(tmp_path):
    session = SessionStore(tmp_path / "sessions").get("tab-1")
    session.request_job("segment")  # Propagate clicked: the run waits behind another session's
    session.cancel("segment")  # Cancel clicked while it waits
    with session.job("segment"):
        assert session.cancel_flag("segment").is_set()  # its first check stops it
    with session.job("segment"):  # the cancel was for that run only
        assert not session.cancel_flag("segment").is_set()


def test_a_cancel_before_the_request_does_not_stop_the_next_run(tmp_path):
    session = SessionStore(tmp_path / "sessions").get("tab-1")
    session.cancel("segment")  # a stray click while nothing ran
    session.request_job("segment")
    with session.job("segment"):
        assert not session.cancel_flag("segment").is_set()


def test_the_propagate_buttons_note_the_request_before_the_run_queues(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "CHECKPOINT_DIR", tmp_path / "no_weights")
    demo = create_app(
        AppModel(ModelSettings(model_size="tiny", image_size=256, device="cpu")),
        sessions=SessionStore(tmp_path / "sessions"),
    )
    dependencies = demo.config["dependencies"]
    for name in ("propagate_live", "continue_propagate"):
        (run,) = [dep for dep in dependencies if dep.get("api_name") == name]
        (trigger,) = [dep for dep in dependencies if dep["id"] == run["trigger_after"]]
        assert trigger["queue"] is False and run["queue"] is not False
        assert demo.fns[trigger["id"]].fn.__name__ == "request_propagation"


# --- Compose options and the resampled patch ------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"size": 100_000}, "size must be at most 7680"),
        ({"feather": 10**9}, "feather must be at most 256"),
    ],
)
def test_compose_options_past_their_maximum_are_bad_input(options, message):
    with pytest.raises(BadInput, match=message):
        ComposeOptions(**options)


@pytest.mark.parametrize("flag", ["--size=30000", "--size=100000", "--feather=1000000000"])
def test_the_compose_cli_refuses_a_size_past_the_maximum_in_one_line(flag, tmp_path, capsys):
    code = compose_cli.main(["--bg", "bg.mp4", "--obj", "o.mp4", "--mask", "m.zip", "--out", "o.mp4", flag])
    assert code == 2 or code is None
    error = capsys.readouterr().err.strip()
    assert "must be at most" in error and "\n" not in error


def test_an_enlarged_object_the_frame_clips_is_resampled_only_where_it_shows(monkeypatch, tmp_path):
    """Output pixels equal resizing the whole patch and cutting it (within one level of rounding), while
    cv2.resize is never asked for the full 7680-pixel patch."""
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (48, 64, 3), np.uint8)
    mask = np.zeros((48, 64), np.uint8)
    mask[10:40, 12:50] = 255
    background = np.full((90, 160, 3), 40, np.uint8)
    options = ComposeOptions(
        size=7680, pos="top-left", offset_x=-3000, offset_y=-2000, feather=3, edge="hard"
    )
    save_mask_png(tmp_path / combined_mask_name(0), mask)
    masks = load_mask_set(tmp_path)
    expected = _whole_patch_resized_then_cut(background, frame, mask, options)
    sizes = []
    real_resize = cv2.resize

    def counted_resize(image, size, **kwargs):
        sizes.append(size)
        return real_resize(image, size, **kwargs)

    monkeypatch.setattr(cv2, "resize", counted_resize)
    pasted = compose_frame(background, frame, masks, 0, options)
    assert all(max(size) < 1000 for size in sizes)
    assert np.abs(pasted.astype(int) - expected).max() <= 1
    assert (pasted != background).any()
    sizes.clear()
    soft = compose_frame(background, frame, masks, 0, dataclasses.replace(options, edge="refine"))
    assert all(max(size) < 1000 for size in sizes) and (soft != background).any()  # refine: the same bound


def _whole_patch_resized_then_cut(background, frame, mask, options):
    box = Box(12, 10, 50, 40)  # the mask's tight box
    target = relocate(
        box,
        (160, 90),
        size=options.size,
        pos=options.pos,
        offset_x=options.offset_x,
        offset_y=options.offset_y,
    )
    size = (target.width, target.height)
    patch = cv2.resize(frame[box.y0 : box.y1, box.x0 : box.x1], size, interpolation=cv2.INTER_LINEAR)
    alpha = cv2.resize(np.ones((box.height, box.width), np.float32), size, interpolation=cv2.INTER_LINEAR)
    alpha = feather_alpha(alpha, options.feather)
    visible = clip_box(target, (160, 90))
    inside = (
        slice(visible.y0 - target.y0, visible.y1 - target.y0),
        slice(visible.x0 - target.x0, visible.x1 - target.x0),
    )
    out = background.copy()
    region = out[visible.y0 : visible.y1, visible.x0 : visible.x1]
    out[visible.y0 : visible.y1, visible.x0 : visible.x1] = composite(
        np.ascontiguousarray(region),
        np.ascontiguousarray(patch[inside]),
        np.ascontiguousarray(alpha[inside]),
        "normal",
    )
    return out


# --- Gradio's cache: uploads and served files with the session, a global disk budget ---------------------
@pytest.fixture
def gradio_cache(tmp_path, monkeypatch):
    cache = tmp_path / "gradio"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    return cache


def _upload(cache, name: str, size: int):
    path = cache / name.replace(".", "-") / name  # gradio: <cache>/<content hash>/<name>
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x" * size)
    return path


def test_uploads_count_against_the_session_and_go_with_it(tmp_path, gradio_cache):
    store = SessionStore(tmp_path / "sessions")
    session = store.get("tab-1")
    first, second = _upload(gradio_cache, "a.mp4", 1000), _upload(gradio_cache, "b.mp4", 3000)
    session.adopt_upload(first, "video")
    assert session.disk_bytes == 1000
    session.adopt_upload(second, "video")  # a new video replaces the first, whose file goes
    assert session.disk_bytes == 3000 and not first.exists()
    store.close("tab-1")
    assert not second.exists()


def test_an_upload_another_live_session_uses_is_kept(tmp_path, gradio_cache):
    store = SessionStore(tmp_path / "sessions")
    shared = _upload(gradio_cache, "same.mp4", 10)  # identical uploads share gradio's content-named file
    store.get("tab-1").adopt_upload(shared, "video")
    store.get("tab-2").adopt_upload(shared, "video")
    store.close("tab-1")
    assert shared.exists()
    store.close("tab-2")
    assert not shared.exists()


def test_an_upload_past_the_session_disk_is_refused(tmp_path, gradio_cache, monkeypatch):
    monkeypatch.setattr(config, "MAX_SESSION_DISK_MB", 1)
    session = SessionStore(tmp_path / "sessions").get("tab-1")
    with pytest.raises(UploadRejected, match="past its 1 MB of disk"):
        session.adopt_upload(_upload(gradio_cache, "big.mp4", 2**20 + 1), "video")


def test_results_are_served_from_the_sessions_own_cache_folder_and_deleted_with_it(tmp_path, gradio_cache):
    store = SessionStore(tmp_path / "sessions")
    session = store.get("tab-1")
    with session.job("compose") as folder:
        (folder / "out.mp4").write_bytes(b"video")
    served = Path(session.serve(folder / "out.mp4"))
    assert served.is_relative_to(gradio_cache) and served.read_bytes() == b"video"
    assert served.stat().st_ino == (folder / "out.mp4").stat().st_ino  # a link, not a second copy
    store.close("tab-1")
    assert not served.exists()


def test_the_same_frame_shown_to_two_sessions_is_two_files(tmp_path, gradio_cache):
    store = SessionStore(tmp_path / "sessions")
    frame = np.zeros((8, 8, 3), np.uint8)
    first, second = store.get("tab-1").serve_frame(frame), store.get("tab-2").serve_frame(frame)
    assert first != second and Path(first).is_file() and Path(second).is_file()
    session = store.get("tab-1")
    assert session.serve_frame(frame) == first  # the same frame again: the same file (the page's cache)
    shown = [session.serve_frame(np.full((8, 8, 3), value, np.uint8)) for value in range(40)]
    assert sum(Path(path).exists() for path in shown) == 16  # older frames go


def test_results_past_the_global_disk_budget_are_refused(tmp_path, gradio_cache, monkeypatch):
    monkeypatch.setattr(config, "MAX_TOTAL_DISK_MB", 1)
    store = SessionStore(tmp_path / "sessions")
    with store.get("tab-1").job("compose") as folder:
        (folder / "out.mp4").write_bytes(b"x" * 700_000)
    with (
        pytest.raises(DiskLimitReached, match="disk for all sessions"),
        store.get("tab-2").job("compose") as other,
    ):
        (other / "out.mp4").write_bytes(b"x" * 700_000)
    assert not other.exists()
    with pytest.raises(UploadRejected, match="disk for all sessions"):
        store.get("tab-3").adopt_upload(_upload(gradio_cache, "c.mp4", 400_000), "video")


# --- The frame sliders' maximum after a video change --------------------------------------------------
def test_a_frame_past_a_stale_slider_maximum_reaches_the_handler():
    """Gradio checks a slider's input against the maximum it last sent the session; /propagate with a
    longer video leaves that stale, so the frame sliders leave the check to the handlers."""
    slider = FrameSlider(0, 7, value=0, step=1)  # as gradio rebuilds it for a session sent maximum=7
    assert slider.preprocess(20) == 20 and slider.preprocess(3.0) == 3
    assert slider.get_block_name() == "slider"  # drawn as gradio's own
    with pytest.raises(gr.Error, match="not a whole number"):
        slider.preprocess(-1)
    with pytest.raises(gr.Error, match="not a whole number"):
        slider.preprocess(float("inf"))
    with pytest.raises(gr.Error, match="not a whole number"):
        slider.preprocess(FRAME_SLIDER_MAX + 1)  # past the longest video


def test_both_tabs_use_the_frame_slider(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "CHECKPOINT_DIR", tmp_path / "no_weights")
    demo = create_app(
        AppModel(ModelSettings(model_size="tiny", image_size=256, device="cpu")),
        sessions=SessionStore(tmp_path / "sessions"),
    )
    sliders = {block.elem_id: block for block in demo.blocks.values() if isinstance(block, gr.Slider)}
    assert isinstance(sliders["seg-frame-slider"], FrameSlider)
    assert isinstance(sliders["cmp-frame-slider"], FrameSlider)


# --- Logins -------------------------------------------------------------------------------------------
def test_the_password_is_never_a_command_line_argument(tmp_path):
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["--auth", "ann:secret"])
    (tmp_path / "login").write_text("ann:se:cret\n")
    assert read_auth_file(tmp_path / "login") == "ann:se:cret"
    (tmp_path / "huge").write_bytes(b"a:" + b"x" * 10_000)
    with pytest.raises(BadInput, match="larger than"):
        read_auth_file(tmp_path / "huge")


def test_wrong_logins_in_a_row_wait_longer_and_longer_and_a_right_one_resets(monkeypatch):
    monkeypatch.setattr(config, "LOGIN_FREE_FAILURES", 3)
    monkeypatch.setattr(config, "LOGIN_MAX_DELAY_SECONDS", 4.0)
    waits = []

    async def recorded_sleep(seconds):
        waits.append(seconds)

    check = login_checker(("ann", "secret"), sleep=recorded_sleep)

    async def attempts():
        wrong = await asyncio.gather(*(check("ann", f"guess{index}") for index in range(8)))
        right = await check("ann", "secret")
        after = await check("ann", "again wrong")
        return wrong, right, after

    wrong, right, after = asyncio.run(attempts())
    assert not any(wrong) and right and not after
    assert waits == [0.5, 1.0, 2.0, 4.0, 4.0]  # none for the first three, then doubling up to the cap


# --- A session folder deleted while a run writes ------------------------------------------------------
def test_a_mask_writer_does_not_make_a_deleted_folder_again(tmp_path):
    folder = tmp_path / "session" / "segment-1" / "per_object"
    folder.mkdir(parents=True)
    save_mask_png(folder / "mask_00000_obj_1.png", np.ones((4, 4), bool), make_folders=False)
    shutil.rmtree(tmp_path / "session")  # the page reloaded: the session closed with its folder
    with pytest.raises(OSError):
        save_mask_png(folder / "mask_00001_obj_1.png", np.ones((4, 4), bool), make_folders=False)
    assert not (tmp_path / "session").exists()  # no orphan folder left behind


# --- The CLIs: exit 2, one line on stderr, a few seconds and under 1 GB for each hostile input ---------
_CLI_WITH_PEAK = (
    "import importlib, re, sys\n"
    "from pathlib import Path\n"
    "try:\n"
    "    code = importlib.import_module('sam2_gradio.cli.' + sys.argv[1]).main(sys.argv[2:])\n"
    "finally:  # the peak resident memory of this process (its own, not the forking parent's)\n"
    "    print('PEAK_KB', re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text()).group(1))\n"
    "sys.exit(code)\n"
)


def _run_cli(module: str, argv: list[str]) -> tuple[int, str, float]:
    """Exit status, stderr and peak resident memory (MB) of the CLI `sam2_gradio.cli.<module>` on `argv`."""
    result = subprocess.run(
        [sys.executable, "-c", _CLI_WITH_PEAK, module, *argv],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    peak_kb = int(result.stdout.split("PEAK_KB")[-1])
    return result.returncode, result.stderr.strip(), peak_kb / 1024


def _state(tmp_path, entry: dict) -> Path:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 1, "clicks": {"0": {"1": entry}}}))
    return path


@pytest.mark.parametrize(
    ("entry", "extra", "message"),
    [
        ({"mask": {"size": [48, 64], "counts": "oooooooooooo7oooooooooooo7RXh1"}}, [], "RLE count has 13"),
        ({"mask": {"size": [48, 64], "counts": "o" * 1_000_000}}, [], "more than the 6146"),
        ({"points": [[10**400, 1]], "labels": [1]}, [], "finite numbers"),
        (
            {"points": [[10, 10]], "labels": [1]},
            ["--coco", "missing/c.json"],
            "folder missing does not exist",
        ),
        ({"points": [[10, 10]], "labels": [1]}, ["--davis-dir", "d"], "DAVIS PNGs hold object ids 1 to 255"),
    ],
    ids=["int64-overflow", "long-counts", "huge-click", "coco-folder", "davis-id-0"],
)
def test_the_segment_cli_answers_hostile_input_with_one_line(tmp_path, make_video, entry, extra, message):
    video = make_video("clip.mp4", 3)
    if "--davis-dir" in extra:
        state = tmp_path / "state.json"
        state.write_text(json.dumps({"version": 1, "clicks": {"0": {"0": entry}}}))  # object id 0
    else:
        state = _state(tmp_path, entry)
    argv = ["--video", str(video), "--state-file", str(state), "--mask-dir", str(tmp_path / "m"), *extra]
    code, stderr, peak_mb = _run_cli("segment", argv)
    assert code == 2, stderr
    assert stderr.count("\n") == 0 and message in stderr and "Traceback" not in stderr
    assert peak_mb < 1024
