"""Hardening (issue 12): hostile and unlucky inputs, each refused in one sentence with bounded memory and
disk, or handled.

Memory and disk figures (peak RSS growth of the PNG-bomb cases, bytes on disk of a session) are printed
(run with ``pytest -s`` to see them), not asserted as timings; the assertions bound them loosely.
"""

from __future__ import annotations

import asyncio
import copy
import errno
import json
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import gradio as gr
import httpx
import numpy as np
import pytest
from app_support import running_app
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from sam2_gradio import config
from sam2_gradio.app import compose_actions, segment_actions
from sam2_gradio.app.edge import user_errors
from sam2_gradio.app.model_holder import AppModel
from sam2_gradio.app.server import (
    build_parser,
    create_app,
    parse_auth,
    protective_launch_options,
    session_dir_problem,
)
from sam2_gradio.app.server import main as server_main
from sam2_gradio.app.sessions import SessionStore, check_video_upload, folder_bytes
from sam2_gradio.engine.model.predictor import ModelSettings
from sam2_gradio.engine.tracking.prompts import PromptState, load_prompt_state, prompt_state_from_dict
from sam2_gradio.errors import DiskLimitReached, PromptStateError, ServerBusy, UploadRejected
from sam2_gradio.media.frames import VideoMeta
from sam2_gradio.media.mask_files import (
    COMBINED_DIR,
    PER_OBJECT_DIR,
    combined_mask_name,
    load_mask_set,
    per_object_mask_name,
    png_size,
    read_coverage,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RSS_GROWTH_LIMIT_MB = 300  # any full-size decode of the bombs below would take gigabytes


# --- 1. PNG decompression bombs ------------------------------------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int, height: int, *, rows: int | None = None) -> bytes:
    """A grey 8-bit PNG declaring `width` x `height`, all black; only `rows` rows of pixel data when given
    (a decoder still allocates the full declared size), else every row (a real bomb: tiny once deflated)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\0" * (width + 1)  # filter byte + pixels
    data = b"".join(compressor.compress(row) for _ in range(height if rows is None else rows))
    data += compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def bomb_zip(path: Path, png: bytes) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"per_object/{per_object_mask_name(0, 1)}", png)
    return path


def peak_rss_growth_mb(code: str) -> tuple[float, str]:
    """Run `code` in a fresh interpreter after importing the mask reader; (peak RSS growth MB, its stdout).

    The peak is Linux's VmHWM, reset just before `code` runs, minus the RSS at that point."""
    script = (
        "import re\n"
        "from pathlib import Path\n"
        "from sam2_gradio.media import mask_files\n"
        "def kb(field):\n"
        "    return int(re.search(field + r':\\s+(\\d+)', Path('/proc/self/status').read_text()).group(1))\n"
        "Path('/proc/self/clear_refs').write_text('5')  # the peak (VmHWM) restarts from the current RSS\n"
        "before = kb('VmRSS')\n"
        f"{code}\n"
        "print('RSS_GROWTH_KB', kb('VmHWM') - before)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    growth = int(result.stdout.split("RSS_GROWTH_KB")[-1]) / 1024
    return growth, result.stdout


def test_png_size_is_read_from_the_header():
    ok, png = cv2.imencode(".png", np.zeros((7, 13), np.uint8))
    assert ok and png_size(png.tobytes()[:24]) == (13, 7)
    assert png_size(b"GIF89a" + b"\0" * 30) is None


@pytest.mark.parametrize(("side", "rows"), [(8000, None), (32000, 64), (50000, 16)])
def test_a_png_bomb_in_a_masks_zip_is_refused_from_its_header_with_bounded_memory(tmp_path, side, rows):
    zipped = bomb_zip(tmp_path / "masks.zip", bomb_png(side, side, rows=rows))
    print(f"\nbomb {side}x{side}: zip of {zipped.stat().st_size} bytes")
    code = (
        "try:\n"
        f"    mask_files.load_mask_set({str(zipped)!r})\n"
        "except ValueError as error:\n"
        "    print('REFUSED', error)\n"
    )
    growth, output = peak_rss_growth_mb(code)
    print(f"bomb {side}x{side}: peak RSS growth {growth:.1f} MB")
    assert f"REFUSED mask {per_object_mask_name(0, 1)} in masks.zip is {side}x{side} pixels" in output
    assert f"at most {config.MAX_MASK_SIDE} pixels" in output and str(tmp_path) not in output
    assert growth < RSS_GROWTH_LIMIT_MB


def test_the_compose_cli_refuses_a_png_bomb_in_one_line(tmp_path, make_video):
    video = make_video("v.mp4", 2)
    zipped = bomb_zip(tmp_path / "masks.zip", bomb_png(50000, 50000, rows=16))
    code = (
        f"code = compose.main(['--bg', {str(video)!r}, '--obj', {str(video)!r}, '--mask', {str(zipped)!r},"
        f" '--out', {str(tmp_path / 'out.mp4')!r}])\n"
        "print('EXIT', code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"from sam2_gradio.cli import compose\n{code}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert "EXIT 2" in result.stdout
    assert result.stderr.strip().count("\n") == 0 and "50000x50000 pixels" in result.stderr
    assert not (tmp_path / "out.mp4").exists()


def test_a_png_bomb_in_a_folder_and_a_16_bit_mask_are_read_without_a_full_size_float_copy(tmp_path):
    (tmp_path / "bomb").mkdir()
    (tmp_path / "bomb" / combined_mask_name(0)).write_bytes(bomb_png(40000, 40000, rows=8))
    with pytest.raises(ValueError, match=r"40000x40000 pixels"):
        load_mask_set(tmp_path / "bomb")
    with pytest.raises(ValueError, match=r"40000x40000 pixels"):
        read_coverage(tmp_path / "bomb" / combined_mask_name(0))
    side = 3000  # 16-bit at the largest side: the float64 path of old took 72 MB on top of the decode
    deep = np.zeros((side, side), np.uint16)
    deep[:, : side // 2] = 65535
    deep[0, -1] = 257 * 100 + 128  # 100.498 -> 100
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), deep)
    growth, _ = peak_rss_growth_mb(f"mask_files.read_coverage({str(path)!r})")
    decode_mb = deep.nbytes / 2**20
    print(f"\n16-bit {side}x{side} mask: peak RSS growth {growth:.1f} MB (decode alone: {decode_mb:.0f} MB)")
    coverage = read_coverage(path)
    assert coverage.dtype == np.uint8 and coverage[0, 0] == 255 and coverage[0, -2] == 0
    assert coverage[0, -1] == 100
    assert growth < decode_mb * 2.5


# --- 6 and 8. Job-size limits and bounded ids --------------------------------------------------------
def _state(clicks: dict, **extra: object) -> dict:
    return {"version": 1, "clicks": clicks, **extra}


def test_objects_clicks_and_ids_are_limited_with_a_sentence():
    state = PromptState(video=VideoMeta(10, 64, 48, 10.0))
    for _ in range(config.MAX_OBJECTS):
        state.add_object()
    with pytest.raises(PromptStateError, match=f"at most {config.MAX_OBJECTS} objects"):
        state.add_object()
    with pytest.raises(PromptStateError, match=f"at most {config.MAX_OBJECTS} objects"):
        state.add_click(0, config.MAX_OBJECTS + 1, 5, 5, 1)
    assert state.object_ids == list(range(1, config.MAX_OBJECTS + 1))
    assert len(state.history.undo_steps) == config.MAX_OBJECTS  # the refused ones recorded nothing
    for index in range(config.MAX_CLICKS):
        state.add_click(index % 10, 1, 5, 5, 1)
    with pytest.raises(PromptStateError, match=f"at most {config.MAX_CLICKS} clicks"):
        state.add_click(0, 2, 5, 5, 1)
    assert len(state.history.undo_steps) == config.UNDO_STEPS  # the oldest steps were dropped
    fresh = PromptState(video=VideoMeta(10, 64, 48, 10.0))
    with pytest.raises(PromptStateError, match="is not an integer from 0 to"):
        fresh.add_click(0, 2**64, 5, 5, 1)
    assert fresh.object_ids == [] and fresh.undo() is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_state({"0": {str(2**64): {"points": [[1, 1]], "labels": [1]}}}), "is not an integer from 0 to"),
        (_state({}, object_ids=[2**64]), "is not an integer from 0 to"),
        (_state({}, object_ids=list(range(1, config.MAX_OBJECTS + 2))), "at most"),
        (
            _state({"0": {"1": {"points": [[1, 1]] * (config.MAX_CLICKS + 1), "labels": [1] * 1001}}}),
            "clicks",
        ),
        (
            _state({str(i): {str(i % 300): {"points": [[1, 1]], "labels": [1]}} for i in range(300)}),
            "objects",
        ),
    ],
    ids=["click id 2^64", "listed id 2^64", "too many listed objects", "too many clicks", "too many objects"],
)
def test_a_state_over_the_limits_is_refused_naming_the_limit(data, message):
    with pytest.raises(PromptStateError, match=message):
        prompt_state_from_dict(data, VideoMeta(400, 64, 48, 10.0))


def test_listed_object_ids_are_deduplicated():
    ids = list(range(1, config.MAX_OBJECTS + 1))
    state = prompt_state_from_dict(_state({}, object_ids=ids * 20_000), VideoMeta(4, 64, 48, 10.0))
    assert state.object_ids == ids


def test_a_state_file_with_a_huge_object_id_leaves_the_clicks_as_they_were(
    tmp_path, random_model, make_video
):
    session = SessionStore(tmp_path / "sessions").get("tab")
    segment_actions.open_video(
        session, make_video("v.mp4", 4), AppModel(random_model.settings, model=random_model)
    )
    segment_actions.add_click(session, 1, 1, 10, 10, positive=True)
    before = copy.deepcopy(session.segment.prompts.to_dict())
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(_state({"0": {str(2**64): {"points": [[1, 1]], "labels": [1]}}})))
    with pytest.raises(PromptStateError, match="is not an integer"):
        segment_actions.load_state(session, state_file)
    assert session.segment.prompts.to_dict() == before


def test_videos_over_the_frame_rate_or_frame_count_limit_are_refused(make_video, monkeypatch):
    fast = make_video("fast.mp4", 12, fps=240)
    with pytest.raises(UploadRejected, match=r"runs at 240 frames per second; the limit is 120\.$"):
        check_video_upload(fast)
    monkeypatch.setattr(config, "MAX_VIDEO_FRAMES", 10)
    with pytest.raises(UploadRejected, match=r"has 12 frames; the limit is 10\.$"):
        check_video_upload(make_video("long.mp4", 12))


def test_the_masks_zip_of_the_longest_video_with_the_most_objects_is_accepted(tmp_path):
    """600 s at 30 fps with `MAX_OBJECTS` objects, in the layout `zip_masks` writes (per_object/ and
    combined/), passes every zip limit and the Compose tab lists its objects."""
    frames = int(config.MAX_VIDEO_SECONDS * 30)
    assert frames <= config.MAX_VIDEO_FRAMES
    obj_ids = range(1, config.MAX_OBJECTS + 1)
    empty = cv2.imencode(".png", np.zeros((36, 64), np.uint8))[1].tobytes()
    zipped = tmp_path / "masks.zip"
    with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_STORED) as archive:
        for frame in range(frames):
            for obj_id in obj_ids:
                archive.writestr(f"{PER_OBJECT_DIR}/{per_object_mask_name(frame, obj_id)}", empty)
            archive.writestr(f"{COMBINED_DIR}/{combined_mask_name(frame)}", empty)
    session = SessionStore(tmp_path / "sessions").get("tab")
    assert compose_actions.mask_objects(session, zipped) == tuple(obj_ids)
    mask_set = session.mask_set(zipped)
    assert len(mask_set.frame_order) == frames and mask_set.mask_for(frames - 1, None, (64, 36)) is None
    size_mb = zipped.stat().st_size / 2**20
    print(f"\nlongest masks zip: {frames} frames x {len(obj_ids)} objects, {size_mb:.0f} MB")


# --- 2, 9 and 12. Sessions: reclaimed, capped, shared mask sets, leftovers -----------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_idle_sessions_are_closed_and_the_longest_idle_makes_room(tmp_path):
    clock = FakeClock()
    store = SessionStore(tmp_path / "sessions", idle_minutes=10, max_sessions=3, clock=clock)
    a, b, c = (store.get(name) for name in "abc")
    clock.now += 60
    store.get("a")  # a is used again: b is now the longest idle
    busy = store.get("c")
    with busy.job("segment"):
        store.get("d")  # a fourth session closes b
        assert len(store) == 3 and not b.folder.exists() and a.folder.exists()
        clock.now += 11 * 60
        store.get("e")  # a and d idle for 11 minutes: closed; c runs a job: kept
        assert {s.session_id for s in store._sessions.values()} == {"c", "e"}
        assert not a.folder.exists() and c.folder.exists()
        store.get("f")
        busy_e, busy_f = store.get("e").job("compose"), store.get("f").job("compose")
        with busy_e, busy_f, pytest.raises(ServerBusy, match="the most it takes"):
            store.get("g")


def test_a_sessions_kept_jobs_are_capped_on_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "MAX_SESSION_DISK_MB", 1)
    session = SessionStore(tmp_path / "sessions").get("tab")
    folders = []
    for kind in ("segment", "compose", "snapshot"):
        with session.job(kind) as folder:
            (folder / "result.bin").write_bytes(b"x" * 400_000)
        folders.append(folder)
    assert not folders[0].exists() and folders[1].exists() and folders[2].exists()  # oldest went first
    print(f"\nsession folder: {folder_bytes(session.folder) / 2**20:.2f} MB for a 1 MB cap")
    assert folder_bytes(session.folder) <= 2**20
    too_large = pytest.raises(DiskLimitReached, match="more than the 1 MB a session may keep")
    with too_large, session.job("compose") as folder:
        (folder / "huge.bin").write_bytes(b"x" * (2**20 + 1))
    assert not folder.exists()


def test_opening_one_masks_zip_after_another_adds_nothing_to_the_session_folder(tmp_path):
    """A masks zip of 200 frames of zero-filled 640x360 PNGs: indexing and previewing costs no disk."""
    zero = cv2.imencode(".png", np.zeros((360, 640), np.uint8))[1].tobytes()
    zips = []
    for name in ("a.zip", "b.zip"):
        with zipfile.ZipFile(tmp_path / name, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for frame in range(200):
                archive.writestr(per_object_mask_name(frame, 1), zero)
        zips.append(tmp_path / name)
    session = SessionStore(tmp_path / "sessions").get("tab")
    for zipped in zips * 2:
        assert compose_actions.mask_objects(session, zipped) == (1,)
        assert session.mask_set(zipped).mask_for(199, None, (640, 360)) is None
    print(f"\nsession folder after 4 mask sets: {folder_bytes(session.folder)} bytes")
    assert folder_bytes(session.folder) == 0


def test_concurrent_previews_alternating_two_zips_all_read_their_masks(tmp_path):
    boxes = {"a.zip": (2, 2, 10, 10), "b.zip": (20, 10, 30, 20)}
    for name, (x0, y0, x1, y1) in boxes.items():
        mask = np.zeros((24, 32), np.uint8)
        mask[y0:y1, x0:x1] = 255
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            for frame in range(8):
                archive.writestr(per_object_mask_name(frame, 1), cv2.imencode(".png", mask)[1].tobytes())
    session = SessionStore(tmp_path / "sessions").get("tab")

    def preview(index: int) -> tuple[str, tuple[int, ...]]:
        name = "ab"[index % 2] + ".zip"
        return name, tuple(session.mask_set(tmp_path / name).mask_for(index % 8, None, (32, 24)).box)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(preview, range(48)))
    assert all(box == boxes[name] for name, box in results)


def test_leftovers_of_a_killed_process_are_swept_at_start_up(tmp_path, monkeypatch):
    root = tmp_path / "sessions"
    job = root / "0123abcd" / "segment-1"
    (job / ".masks.partial-1a2b3c4d" / "per_object").mkdir(parents=True)
    (job / ".masks.partial-1a2b3c4d" / "per_object" / "mask_00000_obj_1.png").write_bytes(b"png")
    (job / ".preview.partial-1a2b3c4d.mp4").write_bytes(b"mp4")
    (job / ".composite.1a2b3c4d.partial.mp4").write_bytes(b"mp4")
    (job / "masks.zip").write_bytes(b"a finished result")
    temp = tmp_path / "temp"
    (temp / "sam2-gradio-masks-x1y2").mkdir(parents=True)
    (temp / "someone-else").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    SessionStore(root)
    assert sorted(path.name for path in job.iterdir()) == ["masks.zip"]
    assert sorted(path.name for path in temp.iterdir()) == ["someone-else"]


# --- 10. Messages name the user's file, never a server folder -------------------------------------------
def _message(action) -> str:
    with pytest.raises(ValueError) as raised:
        action()
    return str(raised.value)


def test_messages_for_bad_files_name_the_file_not_the_server_folder(tmp_path):
    folder = tmp_path / "cache" / "d41d8cd98f"
    folder.mkdir(parents=True)
    utf16 = folder / "state.json"
    utf16.write_text(json.dumps(_state({})), encoding="utf-16")
    corrupt = folder / "masks.zip"
    corrupt.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    broken = folder / "broken"
    broken.mkdir()
    (broken / combined_mask_name(0)).write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    truncated = folder / "truncated.zip"
    good = cv2.imencode(".png", np.zeros((8, 8), np.uint8))[1].tobytes()
    with zipfile.ZipFile(truncated, "w") as archive:
        archive.writestr(combined_mask_name(0), good[:40])
    messages = {
        "utf-16 state": _message(lambda: load_prompt_state(utf16)),
        "missing state": _message(lambda: load_prompt_state(folder / "gone.json")),
        "corrupt zip": _message(lambda: load_mask_set(corrupt)),
        "missing masks": _message(lambda: load_mask_set(folder / "gone.zip")),
        "unreadable png": _message(lambda: load_mask_set(broken)),
        "undecodable png": _message(lambda: load_mask_set(truncated).mask_for(0, None, (8, 8))),
    }
    for case, message in messages.items():
        assert str(tmp_path) not in message and "/cache" not in message, (case, message)
    assert "state.json is not UTF-8 text" in messages["utf-16 state"]
    assert "masks.zip" in messages["corrupt zip"] and "mask_00000.png" in messages["undecodable png"]


# --- 3, 11, 13 and 14. The launched app: upload cap, frames through the API, session folder, login ---------
def _weightless_model(tmp_path, monkeypatch) -> AppModel:
    monkeypatch.setattr(config, "CHECKPOINT_DIR", tmp_path / "no_weights")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return AppModel(ModelSettings(model_size="tiny", image_size=256, device="cpu"))


def test_the_app_refuses_a_large_upload_while_it_arrives_and_takes_any_frame_through_the_api(
    tmp_path, monkeypatch, make_video
):
    monkeypatch.setattr(config, "MAX_UPLOAD_MB", 1)
    model = _weightless_model(tmp_path, monkeypatch)
    video = make_video("clip.mp4", 12)
    mask = np.zeros((48, 64), np.uint8)
    mask[8:40, 8:40] = 255
    masks = tmp_path / "masks.zip"
    with zipfile.ZipFile(masks, "w") as archive:
        for frame in range(12):
            archive.writestr(per_object_mask_name(frame, 1), cv2.imencode(".png", mask)[1].tobytes())
    with running_app(model, tmp_path / "sessions") as url:
        too_large = httpx.post(
            f"{url}gradio_api/upload", files={"files": ("big.mp4", b"\0" * (2 * 2**20), "video/mp4")}
        )
        assert too_large.status_code == 413
        client = Client(url, verbose=False, download_files=tmp_path / "downloads")
        controls = [handle_file(video), handle_file(masks), handle_file(video), "original", "center", 256]
        controls += [0, 0, "normal", False, False, 0, "hard", 8, []]  # ..., feather, edge, edge band, objects
        controls += [1.0, False, None, 0, "", None, False, 60, 40, 6, 0.5, 0.0, None]  # motion (issue 24)
        _, slider, _ = client.predict(9, *controls, api_name="/compose_preview")  # no earlier preview
        assert slider["maximum"] == 11 and "value" not in slider  # the user's value is never overwritten
        with pytest.raises(AppError):
            client.predict(1e9, *controls, api_name="/compose_preview")


def test_the_login_is_parsed_never_echoed_and_handed_to_gradio():
    assert parse_auth("ann:se:cret") == ("ann", "se:cret")
    assert parse_auth(None) is None and parse_auth("") is None
    for bad in ("annsecret", ":secret", "ann:"):
        with pytest.raises(ValueError) as refused:
            parse_auth(bad)
        assert "secret" not in str(refused.value)
    options = protective_launch_options(("ann", "secret"))
    assert asyncio.run(options["auth"]("ann", "secret")) and not asyncio.run(options["auth"]("ann", "x"))
    assert protective_launch_options(None)["auth"] is None
    assert options["max_file_size"] == config.MAX_UPLOAD_MB * 2**20
    assert options["allowed_paths"] == [str(config.EXAMPLES_DIR)]
    assert "--auth-file" in build_parser().format_help()


def test_a_bad_login_or_a_session_folder_gradio_cannot_serve_stops_the_app_with_one_line(
    tmp_path, monkeypatch, capsys
):
    (tmp_path / "login").write_text("nopassword\n")
    with pytest.raises(SystemExit) as stopped:
        server_main(["--auth-file", str(tmp_path / "login")])
    assert stopped.value.code == 2 and "USER:PASSWORD" in capsys.readouterr().err
    monkeypatch.setenv(config.AUTH_ENV, "ann:hunter2")
    monkeypatch.setattr(config, "SESSION_DIR", Path("/var/lib/sam2-sessions"))
    with pytest.raises(SystemExit) as stopped:
        server_main([])
    message = capsys.readouterr()
    assert stopped.value.code == 2 and "is outside the temp folder" in message.err
    assert "hunter2" not in message.err + message.out
    assert session_dir_problem(Path(tempfile.gettempdir()) / "sessions") is None
    assert session_dir_problem(tmp_path.parent, working_dir=tmp_path.parent) is None


def test_a_full_disk_is_one_sentence_without_a_path():
    def write_result() -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/tmp/sam2_gradio_sessions/0123/masks.zip")

    with pytest.raises(gr.Error) as shown:
        user_errors(write_result)()
    assert str(shown.value.message).startswith("The server's disk is full")
    assert "/tmp" not in shown.value.message


# --- 7. Cancel while queued ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("job", "cancel"), [("propagate", "cancel_propagate"), ("compose", "cancel_compose")]
)
def test_cancel_also_drops_a_job_still_waiting_in_the_queue(tmp_path, monkeypatch, job, cancel):
    """The Cancel button sets the session's flag (a running job stops at its next frame) and, through
    gradio's `cancels`, removes the job from the queue when it has not started (its flag would be cleared
    on start)."""
    demo = create_app(_weightless_model(tmp_path, monkeypatch), sessions=SessionStore(tmp_path / "sessions"))
    dependencies = demo.config["dependencies"]
    index_of = {dep.get("api_name"): index for index, dep in enumerate(dependencies)}
    button = dependencies[index_of[cancel]]["targets"]
    droppers = [dep for dep in dependencies if dep["targets"] == button and dep.get("cancels")]
    assert [dep["cancels"] for dep in droppers] == [[index_of[job]]]
    assert dependencies[index_of[job]]["queue"] is not False  # only queued events can be dropped
