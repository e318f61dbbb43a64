"""The app's named endpoints through gradio_client, against the app launched in-process.

The app runs with the random-weights model at 256 px (the `random_model` fixture), so masks are
meaningless but real: these tests check shapes, frame counts, file layouts and error paths, not quality.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from app_support import app_model_of, running_app
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from sam2_gradio import config
from sam2_gradio.app.model_holder import AppModel
from sam2_gradio.app.server import create_app
from sam2_gradio.app.sessions import SessionStore
from sam2_gradio.engine.model.checkpoints import fetch_command
from sam2_gradio.engine.model.predictor import ModelSettings
from sam2_gradio.media.mask_files import combined_mask_name, per_object_mask_name, save_mask_png
from sam2_gradio.media.video import probe_video, read_frame

OBJECT_SIZE = (64, 48)  # width, height of the object video
BACKGROUND_SIZE = (96, 72)
OBJECT_COLOR = (30, 200, 40)
BACKGROUND_COLOR = (190, 40, 200)
MASK_BOX = (8, 8, 40, 32)  # x0, y0, x1, y1 of the object's mask on every frame
COLOR_TOLERANCE = 12  # x264 at CRF 18 keeps flat colours within a few levels


@pytest.fixture(scope="module")
def client(random_model, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """A gradio_client session against the app with the random-weights model."""
    with running_app(app_model_of(random_model), tmp_path_factory.mktemp("sessions")) as url:
        yield Client(url, verbose=False, download_files=tmp_path_factory.mktemp("downloads"))


def flat_frames(count: int, size: tuple[int, int], color: tuple[int, int, int]) -> list[np.ndarray]:
    width, height = size
    return [np.full((height, width, 3), color, dtype=np.uint8) for _ in range(count)]


def write_masks_zip(path: Path, num_frames: int, size: tuple[int, int]) -> Path:
    """A masks zip in the segment layout: object 1 covers MASK_BOX on every frame."""
    width, height = size
    x0, y0, x1, y1 = MASK_BOX
    mask = np.zeros((height, width), dtype=bool)
    mask[y0:y1, x0:x1] = True
    folder = path.parent / "masks"
    with zipfile.ZipFile(path, "w") as archive:
        for frame in range(num_frames):
            for name in (
                f"per_object/{per_object_mask_name(frame, 1)}",
                f"combined/{combined_mask_name(frame)}",
            ):
                save_mask_png(folder / name, mask)
                archive.write(folder / name, name)
    return path


def write_state(path: Path, clicks: dict) -> Path:
    path.write_text(json.dumps({"version": 1, "clicks": clicks}))
    return path


def compose_files(make_video, tmp_path: Path) -> dict[str, object]:
    """The three files of a composite: a 12-frame object video, its masks, a 10-frame background."""
    obj = make_video("object.mp4", flat_frames(12, OBJECT_SIZE, OBJECT_COLOR), fps=10)
    background = make_video("background.mp4", flat_frames(10, BACKGROUND_SIZE, BACKGROUND_COLOR), fps=10)
    masks = write_masks_zip(tmp_path / "masks.zip", 12, OBJECT_SIZE)
    return {"obj_video": handle_file(obj), "masks": handle_file(masks), "bg_video": handle_file(background)}


def assert_composited(video: Path) -> None:
    """The output has the background's size and frames; MASK_BOX shows the object, the rest the background."""
    info = probe_video(video)
    assert (info.width, info.height) == BACKGROUND_SIZE
    assert info.num_frames == 10  # neither video loops: the shorter one (10 frames at 10 fps) sets the length
    frame = read_frame(video, 9).astype(int)
    x0, y0, x1, y1 = MASK_BOX
    inside = frame[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2].reshape(-1, 3)
    outside = frame[y1 + 4 :, x1 + 4 :].reshape(-1, 3)
    assert np.abs(inside - OBJECT_COLOR).max() <= COLOR_TOLERANCE
    assert np.abs(outside - BACKGROUND_COLOR).max() <= COLOR_TOLERANCE


def test_compose_returns_background_sized_video_with_object_pasted(client, make_video, tmp_path):
    files = compose_files(make_video, tmp_path)
    result = client.predict(**files, placement="original", feather=0, api_name="/compose")
    assert Path(result).suffix == ".mp4"
    assert_composited(Path(result))


def test_compose_follows_holds_out_and_shadows_through_the_api(client, make_video, tmp_path):
    files = compose_files(make_video, tmp_path)
    holdout = np.zeros((BACKGROUND_SIZE[1], BACKGROUND_SIZE[0]), dtype=np.uint8)
    holdout[:, 44:52] = 255  # a bar of the background across the object's placed box
    save_mask_png(tmp_path / "holdout" / combined_mask_name(0), holdout)
    with zipfile.ZipFile(tmp_path / "holdout.zip", "w") as archive:
        archive.write(tmp_path / "holdout" / combined_mask_name(0), combined_mask_name(0))
    result = client.predict(
        **files, placement="follow", pos="center", feather=0, start_frame=2, shadow=True,
        holdout_mask=handle_file(tmp_path / "holdout.zip"), api_name="/compose",
    )  # fmt: skip
    frames = [read_frame(Path(result), index).astype(int) for index in (0, 5)]
    # the still 32x24 object, centred from output frame 2: (32, 24)-(64, 48); the bar held out of it
    assert np.abs(frames[0][26:46, 34:62] - BACKGROUND_COLOR).max() <= COLOR_TOLERANCE  # not yet started
    assert np.abs(frames[1][26:46, 34:42] - OBJECT_COLOR).max() <= COLOR_TOLERANCE
    assert np.abs(frames[1][26:46, 46:50] - BACKGROUND_COLOR).max() <= COLOR_TOLERANCE


def test_preview_and_snapshot_show_the_frame_the_render_makes(client, make_video, tmp_path):
    files = compose_files(make_video, tmp_path)
    controls = {
        "obj_video": files["obj_video"],
        "masks": files["masks"],
        "bg_video": files["bg_video"],
        "placement": "original",
        "pos": "center",
        "size": 256,
        "offset_x": 0,
        "offset_y": 0,
        "blend_mode": "normal",
        "brightness_match": False,
        "loop": False,
        "feather": 0,
        "edge": "refine",
        "edge_band": 8,
        "objects": [],
        "scale": 1.0,
        "mirror": False,
        "keyframes": None,
        "start_frame": 0,
        "trim": "",
        "holdout_mask": None,
        "shadow": False,
        "shadow_angle": 60,
        "shadow_length": 40,
        "shadow_blur": 6,
        "shadow_opacity": 0.5,
        "color_match": 0.0,
        "objects_file": None,
    }
    shown, _, note = client.predict(1, *controls.values(), api_name="/compose_preview")
    snapshot = client.predict(1, *controls.values(), api_name="/snapshot")
    for image_file in (shown, snapshot):
        image = np.asarray(Image.open(image_file).convert("RGB")).astype(int)
        assert image.shape == (BACKGROUND_SIZE[1], BACKGROUND_SIZE[0], 3)
        x0, y0, x1, y1 = MASK_BOX
        assert np.abs(image[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2] - OBJECT_COLOR).max() <= COLOR_TOLERANCE
        assert np.abs(image[y1 + 4 :, x1 + 4 :] - BACKGROUND_COLOR).max() <= COLOR_TOLERANCE
    assert Path(snapshot).suffix == ".png"
    assert note == ""


def test_propagate_returns_preview_and_masks_for_every_frame(client, make_video, tmp_path):
    num_frames = 6
    video = make_video("clip.mp4", num_frames)
    clicks = {"2": {"1": {"points": [[20.0, 8.0]], "labels": [1]}}}
    state = write_state(tmp_path / "state.json", clicks)
    preview, masks_zip, state_out = client.predict(
        video=handle_file(video), state_file=handle_file(state), direction="both", api_name="/propagate"
    )
    info = probe_video(preview)
    assert (info.width, info.height, info.num_frames) == (64, 48, num_frames)
    with zipfile.ZipFile(masks_zip) as archive:
        names = set(archive.namelist())
    expected = {f"per_object/{per_object_mask_name(frame, 1)}" for frame in range(num_frames)}
    expected |= {f"combined/{combined_mask_name(frame)}" for frame in range(num_frames)}
    assert expected <= names
    assert json.loads(Path(state_out).read_text())["clicks"] == clicks


def test_propagate_writes_the_exports_asked_for_which_decode_to_the_mask_pngs(client, make_video, tmp_path):
    """/propagate's export parameters; /export_files gives the files; a call without them gives none."""
    from pycocotools import mask as coco_mask

    num_frames = 4
    video = make_video("clip.mp4", num_frames)
    state = tmp_path / "state.json"
    boxed = {"points": [], "labels": [], "box": [30, 20, 60, 44]}
    clicks = {"0": {"1": {"points": [[20.0, 8.0]], "labels": [1]}, "2": boxed}}
    state.write_text(json.dumps({"version": 1, "clicks": clicks, "names": {"2": "dog"}}))
    _, masks_zip, _ = client.predict(
        video=handle_file(video), state_file=handle_file(state), coco=True, davis=True,
        alpha_video=["webm", "mov"],
        feather=0, api_name="/propagate",
    )  # fmt: skip
    files = {Path(path).suffix: Path(path) for path in client.predict(api_name="/export_files")}
    assert set(files) == {".json", ".zip", ".webm", ".mov"}  # several alpha formats at once
    with zipfile.ZipFile(masks_zip) as archive:
        png = {name: np.asarray(Image.open(archive.open(name))) > 0 for name in archive.namelist()}
    data = json.loads(files[".json"].read_text())
    assert [category["name"] for category in data["categories"]] == ["object", "dog"]
    for annotation in data["annotations"]:
        for frame, segmentation in enumerate(annotation["segmentations"]):
            expected = png[f"per_object/{per_object_mask_name(frame, annotation['id'])}"]
            decoded = np.zeros_like(expected)
            if segmentation is not None:
                rle = {"size": segmentation["size"], "counts": segmentation["counts"].encode()}
                decoded = coco_mask.decode(rle).astype(bool)
            assert np.array_equal(decoded, expected), (annotation["id"], frame)
    with zipfile.ZipFile(files[".zip"]) as archive:
        assert sorted(archive.namelist()) == [f"{frame:05d}.png" for frame in range(num_frames)]
        for frame in range(num_frames):
            labels = np.asarray(Image.open(archive.open(f"{frame:05d}.png")))
            one, two = (png[f"per_object/{per_object_mask_name(frame, obj_id)}"] for obj_id in (1, 2))
            assert np.array_equal(labels == 1, one)
            assert np.array_equal(labels == 2, two & ~one)  # the lower id wins, as SAM 2's vos_inference
    info = probe_video(files[".webm"])
    assert (info.width, info.height, info.num_frames) == (64, 48, num_frames)

    client.predict(video=handle_file(video), state_file=handle_file(state), api_name="/propagate")
    assert client.predict(api_name="/export_files") in (None, [])  # old clients ask for none


def test_segment_result_is_offered_to_compose_in_its_own_session_only(client, make_video, tmp_path):
    video = make_video("clip.mp4", 3)
    state = write_state(tmp_path / "state.json", {"0": {"1": {"points": [[20, 8]], "labels": [1]}}})
    _, masks_zip, _ = client.predict(
        video=handle_file(video), state_file=handle_file(state), api_name="/propagate"
    )
    obj_video, offered_masks = client.predict(api_name="/use_segment_result")
    assert Path(obj_video).read_bytes() == video.read_bytes()
    assert Path(offered_masks).read_bytes() == Path(masks_zip).read_bytes()
    stranger = Client(client.src, verbose=False, download_files=tmp_path / "stranger")
    with pytest.raises(AppError, match="Propagate in the Segment tab first"):
        stranger.predict(api_name="/use_segment_result")


def test_bad_inputs_give_one_sentence_errors_and_the_session_keeps_working(client, make_video, tmp_path):
    not_a_video = tmp_path / "notes.mp4"
    not_a_video.write_text("these are not frames")
    video = make_video("clip.mp4", 4)
    outside = write_state(tmp_path / "outside.json", {"0": {"1": {"points": [[500, 8]], "labels": [1]}}})
    good = write_state(tmp_path / "good.json", {"0": {"1": {"points": [[20, 8]], "labels": [1]}}})

    with pytest.raises(AppError, match="could not be read as a video") as bad_video:
        client.predict(video=handle_file(not_a_video), state_file=handle_file(good), api_name="/propagate")
    assert "Traceback" not in str(bad_video.value)
    with pytest.raises(AppError, match=r"point \(500, 8\) is outside the 64x48 frame"):
        client.predict(video=handle_file(video), state_file=handle_file(outside), api_name="/propagate")

    preview, _, _ = client.predict(
        video=handle_file(video), state_file=handle_file(good), api_name="/propagate"
    )
    assert probe_video(preview).num_frames == 4


def test_app_without_weights_composes_and_names_the_fetch_command(make_video, tmp_path, monkeypatch):
    monkeypatch.setattr(config, "CHECKPOINT_DIR", tmp_path / "no_weights")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = AppModel(ModelSettings(model_size="tiny", image_size=256, device="cpu"))
    assert not model.available
    files = compose_files(make_video, tmp_path)
    video = make_video("clip.mp4", 4)
    state = write_state(tmp_path / "state.json", {"0": {"1": {"points": [[20, 8]], "labels": [1]}}})
    with running_app(model, tmp_path / "sessions") as url:
        client = Client(url, verbose=False, download_files=tmp_path / "downloads")
        result = client.predict(**files, placement="original", feather=0, api_name="/compose")
        assert_composited(Path(result))
        with pytest.raises(AppError) as unavailable:
            client.predict(video=handle_file(video), state_file=handle_file(state), api_name="/propagate")
    assert fetch_command("tiny") in str(unavailable.value)


def test_clicks_never_queue_behind_a_propagation_and_renders_run_beside_them(random_model, tmp_path):
    demo = create_app(app_model_of(random_model), sessions=SessionStore(tmp_path))
    slots = {fn.api_name: (fn.concurrency_id, fn.concurrency_limit) for fn in demo.fns.values()}
    sam2_calls = ("add_click", "paint_stroke", "mark_absent", "undo", "redo", "clear_frame", "remove_object")
    for runs_sam2 in (*sam2_calls, "load_state"):
        assert slots[runs_sam2] == ("gpu", 1)
    for propagation in ("propagate", "propagate_live", "continue_propagate"):  # the model lock is per step
        assert slots[propagation] == ("propagate", config.PROPAGATE_CONCURRENCY)
    assert slots["compose"] == ("compose", config.COMPOSE_CONCURRENCY)
    assert slots["compose_preview"] == ("preview", config.PREVIEW_CONCURRENCY)
