"""Per-browser-session folders, job folders, cancel flags, stale clean-up and upload limits."""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from sam2_gradio import config
from sam2_gradio.app.sessions import SessionStore, check_video_upload
from sam2_gradio.errors import UploadRejected
from sam2_gradio.media.mask_files import per_object_mask_name

HOUR = 3600.0


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "sessions", stale_hours=1.0)


def _age(path: Path, hours: float) -> None:
    """Set the modification time of `path` to `hours` ago."""
    then = time.time() - hours * HOUR
    os.utime(path, (then, then))


def test_each_session_gets_its_own_folder_under_the_root(store):
    first, second = store.get("session-a"), store.get("session-b")
    assert first.folder != second.folder
    assert first.folder.parent == store.root and second.folder.parent == store.root
    assert first.folder.is_dir() and second.folder.is_dir()
    assert store.get("session-a") is first
    assert len(store) == 2


@pytest.mark.parametrize("hostile_id", ["../x", "/etc", "a/../../b", "..", "", "x\x00y", "C:\\Windows"])
def test_hostile_session_ids_stay_inside_the_root(store, hostile_id):
    session = store.get(hostile_id)
    root = store.root.resolve()
    assert session.folder.resolve().parent == root
    assert session.folder.is_dir()
    assert sorted(path.name for path in store.root.parent.iterdir()) == ["sessions"]


def test_a_job_that_raises_leaves_nothing(store):
    session = store.get("s")
    with pytest.raises(OSError, match="disk full"), session.job("compose") as folder:
        (folder / "half-written.mp4").write_bytes(b"\0" * 100)
        raise OSError("disk full")
    assert not folder.exists()
    assert list(session.folder.iterdir()) == []


def test_only_the_last_finished_jobs_of_each_kind_are_kept(store, monkeypatch):
    monkeypatch.setattr(config, "JOBS_KEPT_PER_KIND", 2)
    session = store.get("s")
    composes = []
    for index in range(4):
        with session.job("compose") as folder:
            (folder / "composite.mp4").write_text(str(index))
        composes.append(folder)
    with session.job("segment") as segment_folder:
        pass
    assert [folder.exists() for folder in composes] == [False, False, True, True]
    assert segment_folder.exists()
    assert (composes[-1] / "composite.mp4").read_text() == "3"
    assert len(list(session.folder.iterdir())) == 3


def test_a_job_clears_its_cancel_flag_when_it_starts(store):
    session = store.get("s")
    session.cancel_flag("compose").set()
    with session.job("compose"):
        assert not session.cancel_flag("compose").is_set()


def test_closing_a_session_deletes_its_folder_and_cancels_its_jobs(store):
    session, other = store.get("s"), store.get("other")
    segment_flag, compose_flag = session.cancel_flag("segment"), session.cancel_flag("compose")
    with session.job("segment") as folder:
        (folder / "preview.mp4").write_bytes(b"x")
    store.close("s")
    assert segment_flag.is_set() and compose_flag.is_set()
    assert not session.folder.exists()
    assert other.folder.is_dir() and not other.cancel_flag("segment").is_set()
    assert len(store) == 1
    store.close("never-seen")  # unknown ids are ignored
    assert store.get("s") is not session  # a returning id starts afresh


def test_stale_folders_are_removed_at_start_up_and_recent_ones_kept(tmp_path):
    root = tmp_path / "sessions"
    stale, recent = root / "stale", root / "recent"
    for folder in (stale, recent):
        (folder / "segment-1").mkdir(parents=True)
        (folder / "segment-1" / "masks.zip").write_bytes(b"x")
    _age(stale, 3)
    _age(recent, 0.5)
    SessionStore(root, stale_hours=1.0)
    assert not stale.exists()
    assert (recent / "segment-1" / "masks.zip").is_file()


def test_a_new_session_removes_stale_folders_but_keeps_live_sessions(store):
    live = store.get("live")
    abandoned = store.root / "abandoned"
    abandoned.mkdir()
    _age(live.folder, 5)
    _age(abandoned, 5)
    store.get("newcomer")
    assert live.folder.is_dir()
    assert not abandoned.exists()


# --- upload limits ---------------------------------------------------------------------------------


def test_a_video_within_the_limits_is_accepted(make_video):
    info = check_video_upload(make_video("ok.mp4", 8, fps=10))
    assert (info.num_frames, info.width, info.height) == (8, 64, 48)
    assert info.duration == pytest.approx(0.8)


@pytest.mark.parametrize(("size_bytes", "shown"), [(2 * 2**20, "2.0"), (int(1.2 * 2**20), "1.2")])
def test_an_upload_over_the_size_limit_is_rejected_before_probing(tmp_path, monkeypatch, size_bytes, shown):
    monkeypatch.setattr(config, "MAX_UPLOAD_MB", 1)
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * size_bytes)  # not a video: the size is checked first
    with pytest.raises(UploadRejected, match=rf"^The video is {shown} MB; the limit is 1 MB\.$"):
        check_video_upload(big)


def test_an_upload_over_the_duration_limit_is_rejected(make_video, monkeypatch):
    monkeypatch.setattr(config, "MAX_VIDEO_SECONDS", 0.5)
    clip = make_video("long.mp4", 8, fps=10)  # 8 frames at 10 fps = 0.8 s
    with pytest.raises(UploadRejected, match=r"lasts 0\.8 s; the limit is 0\.5 s"):
        check_video_upload(clip, "background video")


def test_an_upload_over_the_resolution_limit_is_rejected(make_video, monkeypatch):
    monkeypatch.setattr(config, "MAX_VIDEO_SIDE", 32)
    with pytest.raises(UploadRejected, match=r"is 64x48; its longer side may be at most 32 pixels"):
        check_video_upload(make_video("wide.mp4", 4))


def test_a_text_file_named_mp4_is_rejected_with_a_clear_message(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 20)
    with pytest.raises(UploadRejected, match=r"^The object video could not be read as a video; try an MP4"):
        check_video_upload(fake, "object video")


def test_a_missing_upload_is_rejected_with_a_clear_message(tmp_path):
    with pytest.raises(UploadRejected, match=r"^The video file gone\.mp4 was not found\.$"):
        check_video_upload(tmp_path / "gone.mp4")


# --- the Compose tab's mask set ----------------------------------------------------------------------


def _masks_zip(folder: Path, name: str, obj_ids: tuple[int, ...]) -> Path:
    mask = np.zeros((12, 16), dtype=np.uint8)
    mask[2:10, 2:10] = 255
    ok, png = cv2.imencode(".png", mask)
    assert ok
    path = folder / name
    with zipfile.ZipFile(path, "w") as archive:
        for obj_id in obj_ids:
            archive.writestr(f"per_object/{per_object_mask_name(0, obj_id)}", png.tobytes())
    return path


def test_a_mask_set_is_loaded_once_read_in_place_and_replaced_cleanly(store, tmp_path):
    session = store.get("s")
    first_zip, second_zip = _masks_zip(tmp_path, "a.zip", (1,)), _masks_zip(tmp_path, "b.zip", (1, 2))
    first = session.mask_set(first_zip)
    assert session.mask_set(first_zip) is first
    assert list(session.folder.iterdir()) == []  # nothing extracted
    second = session.mask_set(second_zip)
    assert second.object_ids == (1, 2)
    assert first.mask_for(0, None, (8, 8)) is not None  # a replaced set stays readable for its users
    with pytest.raises(ValueError, match="masks not found"):
        session.mask_set(tmp_path / "gone.zip")
    assert session.mask_set(second_zip) is second  # a failed load keeps the loaded set
    store.close("s")
    assert not session.folder.exists()
