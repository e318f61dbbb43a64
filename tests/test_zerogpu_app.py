"""The app on Hugging Face ZeroGPU: with the `spaces` test double active (tests/zerogpu), every SAM 2 call
runs in a forked worker that gets its arguments pickled and sends pickled results back, and the app
gives the same masks as without it; a long propagation completes through chained calls, each within its
duration; cancel and Continue work across the process boundary. The real `spaces` package, outside a
Space, leaves the app as it is.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from app_support import app_model_of, running_app
from gradio_client import Client, handle_file
from PIL import Image
from zerogpu_support import zerogpu_spaces

from sam2_gradio import config
from sam2_gradio.app import segment_actions as actions
from sam2_gradio.app.model_holder import AppModel
from sam2_gradio.app.sessions import SessionStore
from sam2_gradio.cli import bootstrap
from sam2_gradio.engine.model.predictor import ModelSettings
from sam2_gradio.engine.options import SegmentOptions
from sam2_gradio.engine.tracking.track_project import FrameTracked
from sam2_gradio.errors import GpuStopped

pytestmark = pytest.mark.slow

TWO_OBJECTS = {
    "0": {"1": {"points": [[12.0, 8.0]], "labels": [1]}, "2": {"points": [[44.0, 30.0]], "labels": [1]}}
}
REAL_SPACES_ENV = "SAM2_GRADIO_TEST_REAL_SPACES"  # another `pip install --target DIR --no-deps spaces` folder
IMAGE_SIZE = 64  # the model's input side: the double's workers run SAM 2 on one CPU thread


@pytest.fixture(scope="module")
def small_model():
    """The random-weights SAM 2.1 tiny model at 64 px (built once)."""
    from sam2_support import build_random_model

    return build_random_model(IMAGE_SIZE)


@pytest.fixture
def spaces():
    """The ZeroGPU double, fresh: `import spaces` gives it while the test runs."""
    with zerogpu_spaces() as module:
        yield module


def write_state(path: Path, clicks: dict) -> Path:
    path.write_text(json.dumps({"version": 1, "clicks": clicks}))
    return path


def zip_masks(path: str | Path) -> dict[str, np.ndarray]:
    """Every mask PNG of a masks zip, decoded, by its name."""
    with zipfile.ZipFile(path) as archive:
        return {
            name: np.asarray(Image.open(io.BytesIO(archive.read(name))))
            for name in archive.namelist()
            if name.endswith(".png")
        }


def segment_through_the_api(url: str, video: Path, state: Path, downloads: Path) -> tuple[np.ndarray, dict]:
    """Open `video`, load the clicks of `state`, show frame 0 (its masks: one click call), propagate."""
    client = Client(url, verbose=False, download_files=downloads)
    client.predict(handle_file(video), api_name="/open_video")
    client.predict(handle_file(state), 0, api_name="/load_state")
    shown = np.asarray(Image.open(client.predict(0, api_name="/show_frame")[0]))
    _, masks_zip, _ = client.predict(
        video=handle_file(video), state_file=handle_file(state), direction="forward", api_name="/propagate"
    )
    return shown, zip_masks(masks_zip)


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Torch on one CPU thread, as in the double's workers: sums then add up in the same order."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def assert_same_masks(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert got.keys() == expected.keys()
    for name, mask in expected.items():
        np.testing.assert_array_equal(got[name], mask, err_msg=name)


def test_on_zerogpu_the_model_is_built_on_the_cpu_and_only_the_sam2_calls_go_to_a_worker():
    settings = ModelSettings(random_weights=True, image_size=IMAGE_SIZE)  # device: the best available
    with zerogpu_spaces():
        on_zerogpu = AppModel(settings)
    assert on_zerogpu.tasks.remote and on_zerogpu.settings.device == "cpu"  # no CUDA in the main process
    here = AppModel(settings)
    assert not here.tasks.remote and here.settings.device is None


def test_clicks_on_one_frame_reuse_its_features_across_calls_and_give_the_masks_of_one_process(
    small_model, make_video
):
    clip = make_video("clip.mp4", 4)
    clicks = [(1, 12, 8, True), (1, 30, 20, False), (2, 44, 30, True)]

    def masks_after_each_click(model: AppModel) -> list[dict]:
        from sam2_gradio.engine.tracking.interactive import InteractiveSession
        from sam2_gradio.media.frames import VideoFileFrames

        session = InteractiveSession(model, VideoFileFrames.open(clip))
        return [session.click(2, obj_id, x, y, positive) for obj_id, x, y, positive in clicks]

    with zerogpu_spaces() as spaces:
        remote = masks_after_each_click(app_model_of(small_model))
        assert spaces.calls == len(clicks)
    with one_torch_thread():
        expected = masks_after_each_click(app_model_of(small_model))
    for got, wanted in zip(remote, expected, strict=True):
        assert got.keys() == wanted.keys()
        for obj_id in wanted:
            np.testing.assert_array_equal(got[obj_id], wanted[obj_id])


def test_the_api_gives_the_same_frame_and_masks_with_every_sam2_call_in_a_zerogpu_worker(
    small_model, make_video, tmp_path
):
    video = make_video("clip.mp4", 8)
    state = write_state(tmp_path / "state.json", TWO_OBJECTS)
    with zerogpu_spaces() as spaces:
        on_zerogpu = app_model_of(small_model)
        assert on_zerogpu.tasks.remote
        with running_app(on_zerogpu, tmp_path / "zerogpu") as url:
            shown, masks = segment_through_the_api(url, video, state, tmp_path / "zerogpu-downloads")
        assert spaces.calls >= 2 and spaces.forks >= 1  # the click's masks and the propagation
    in_process = app_model_of(small_model)
    assert not in_process.tasks.remote
    with running_app(in_process, tmp_path / "here") as url, one_torch_thread():
        expected_shown, expected_masks = segment_through_the_api(url, video, state, tmp_path / "here-dl")
    np.testing.assert_array_equal(shown, expected_shown)
    assert len(expected_masks) == 8 * 3  # per object (2) and combined, on every frame
    assert_same_masks(masks, expected_masks)


def test_a_200_frame_propagation_completes_in_chained_calls_of_10_seconds(
    small_model, make_video, tmp_path, spaces, monkeypatch
):
    monkeypatch.setattr(config, "SPACES_GPU_SECONDS", 10)
    monkeypatch.setattr(config, "SPACES_MARGIN_SECONDS", 4.0)
    video = make_video("long.mp4", 200)
    state = write_state(tmp_path / "state.json", {"0": {"1": {"points": [[12.0, 8.0]], "labels": [1]}}})
    with running_app(app_model_of(small_model), tmp_path / "sessions") as url:
        client = Client(url, verbose=False, download_files=tmp_path / "downloads")
        _, masks_zip, _ = client.predict(
            video=handle_file(video), state_file=handle_file(state), api_name="/propagate"
        )
    masks = zip_masks(masks_zip)
    assert len(masks) == 200 * 2
    assert spaces.calls > 1, "one call did every frame: the duration did not chain the propagation"
    assert max(spaces.durations) <= 10


def test_cancel_keeps_what_the_worker_tracked_and_continue_equals_an_uninterrupted_run(
    small_model, make_video, tmp_path, spaces
):
    clip = make_video("clip.mp4", 16)
    model = app_model_of(small_model)
    assert model.tasks.remote
    session = SessionStore(tmp_path / "sessions").get("a")
    actions.open_video(session, clip, model)
    actions.add_click(session, 0, 1, 20, 20, positive=True)
    options = SegmentOptions(direction="forward", batch_size=2)
    complete = actions.propagate(session, options)

    def cancel_at_frame_5(tracked: FrameTracked) -> None:
        if tracked.frame == 5:
            session.cancel_flag("segment").set()

    session = SessionStore(tmp_path / "sessions").get("b")  # the same clicks in a new project: a new run
    actions.open_video(session, clip, model)
    actions.add_click(session, 0, 1, 20, 20, positive=True)
    partial = actions.propagate(session, options, watch=cancel_at_frame_5)
    assert partial.partial and partial.tracked.start == 0 and 6 <= partial.tracked.stop < 16
    resumed = actions.propagate(session, options, resume=True)
    assert not resumed.partial and resumed.tracked == range(16)
    assert_same_masks(zip_masks(resumed.masks_zip), zip_masks(complete.masks_zip))


def test_a_gpu_call_lost_before_its_first_frame_is_made_again_and_two_in_a_row_stop_the_run(
    small_model, make_video, tmp_path, spaces
):
    sessions, clip = SessionStore(tmp_path / "sessions"), make_video("clip.mp4", 8)

    def clicked(name: str):  # a session with the same click on the same clip, in a project of its own
        session = sessions.get(name)
        actions.open_video(session, clip, app_model_of(small_model))
        actions.add_click(session, 0, 1, 20, 20, positive=True)
        return session

    first, second, third = clicked("a"), clicked("b"), clicked("c")  # their clicks' calls first
    complete = zip_masks(actions.propagate(first).masks_zip)
    spaces.aborted_calls = 1
    again = actions.propagate(second)
    assert spaces.aborted_calls == 0 and not again.partial
    assert_same_masks(zip_masks(again.masks_zip), complete)
    spaces.aborted_calls = 2
    with pytest.raises(GpuStopped, match="GPU task aborted"):
        actions.propagate(third)


def test_on_zerogpu_no_frame_is_encoded_ahead_of_a_click(small_model, make_video, tmp_path, spaces):
    session = SessionStore(tmp_path / "sessions").get("a")
    actions.open_video(session, make_video("clip.mp4", 4), app_model_of(small_model))
    actions.view_frame(session, 2)
    assert actions.encode_ahead(session, 3) is None
    assert spaces.calls == 0, "an encode ahead would spend the visitor's GPU quota before any click"


def test_a_gpu_quota_spent_mid_run_keeps_the_tracked_frames_and_continue_completes_the_run(
    small_model, make_video, tmp_path, spaces, monkeypatch
):
    monkeypatch.setattr(config, "SPACES_GPU_SECONDS", 10)
    monkeypatch.setattr(config, "SPACES_MARGIN_SECONDS", 4.0)  # each call works 6 s, then chains
    frames = 400  # more than one 6 s call tracks at 64 px
    clip = make_video("long.mp4", frames)
    session = SessionStore(tmp_path / "sessions").get("a")
    actions.open_video(session, clip, app_model_of(small_model))
    actions.add_click(session, 0, 1, 20, 20, positive=True)
    complete = zip_masks(actions.propagate(session).masks_zip)
    session = SessionStore(tmp_path / "sessions").get("b")  # the same clicks in a new project: a new run
    actions.open_video(session, clip, app_model_of(small_model))
    actions.add_click(session, 0, 1, 20, 20, positive=True)

    spaces.quota_seconds = (
        spaces.quota_used + 12
    )  # the first call (10 s asked, about 6 used) fits, the next not
    stopped = actions.propagate(session)
    assert stopped.partial and "exceeded your GPU quota" in stopped.stopped
    assert stopped.tracked.start == 0 and 0 < stopped.tracked.stop < frames
    kept = zip_masks(stopped.masks_zip)
    assert "_partial" in stopped.masks_zip.name and len(kept) == 2 * len(stopped.tracked)
    assert_same_masks(kept, {name: complete[name] for name in kept})
    assert "stopped" in actions.results_note(session)

    spaces.quota_seconds = None  # the quota came back (the next day, or a PRO visitor)
    resumed = actions.propagate(session, resume=True)
    assert not resumed.partial and resumed.tracked == range(frames), resumed.stopped
    assert_same_masks(zip_masks(resumed.masks_zip), complete)


def test_a_gpu_quota_spent_before_anything_is_tracked_says_so_and_keeps_the_results_shown(
    small_model, make_video, tmp_path, spaces
):
    session = SessionStore(tmp_path / "sessions").get("a")
    actions.open_video(session, make_video("clip.mp4", 4), app_model_of(small_model))
    actions.add_click(session, 0, 1, 20, 20, positive=True)  # one click call: a few seconds of quota
    spaces.quota_seconds = spaces.quota_used + 1  # less than any propagation call asks for
    with pytest.raises(GpuStopped, match="exceeded your GPU quota"):
        actions.propagate(session)
    assert session.segment_result is None


def test_the_app_starts_and_segments_with_the_real_spaces_package_outside_a_space(
    small_model, make_video, tmp_path
):
    target = os.environ.get(REAL_SPACES_ENV) or str(bootstrap.REAL_SPACES_DIR)
    if not (Path(target) / "spaces").is_dir():
        pytest.skip(f"no `spaces` package in {target} (python3 tests/run.py installs it there)")
    video = make_video("clip.mp4", 4)
    state = write_state(tmp_path / "state.json", {"0": {"1": {"points": [[12.0, 8.0]], "labels": [1]}}})
    script = f"""
import sys
sys.path[:0] = [{target!r}, {str(Path(__file__).parent)!r}]
import spaces
assert not getattr(spaces, "ZEROGPU_DOUBLE", False), spaces.__file__
from app_support import app_model_of, running_app
from sam2_support import build_random_model
from gradio_client import Client, handle_file
model = app_model_of(build_random_model({IMAGE_SIZE}))
assert not model.tasks.remote, "outside a Space, spaces.GPU must leave the calls in this process"
with running_app(model, {str(tmp_path / "sessions")!r}) as url:
    client = Client(url, verbose=False, download_files={str(tmp_path / "downloads")!r})
    _, masks_zip, _ = client.predict(
        video=handle_file({str(video)!r}), state_file=handle_file({str(state)!r}), api_name="/propagate"
    )
print("masks:", masks_zip)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, cwd=Path.cwd()
    )
    assert done.returncode == 0, done.stderr[-3000:]
    masks = zip_masks(done.stdout.split("masks:")[-1].strip())
    assert len(masks) == 4 * 2
