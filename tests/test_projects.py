"""The project store: tracking into it, continuing stopped runs exactly, exports from it, the CLIs,
and what a broken, foreign, newer, read-only or full project says."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from pycocotools import mask as coco_mask

from sam2_gradio.engine.exports import project_exports
from sam2_gradio.engine.store import schema
from sam2_gradio.engine.store.project import PROJECT_FILE, Project, adopt_prompts
from sam2_gradio.engine.tracking.prompts import PromptState
from sam2_gradio.engine.tracking.track_project import track_project
from sam2_gradio.errors import BadInput, DiskFull
from sam2_gradio.media.mask_files import combined_mask_name, per_object_mask_name, save_mask_png
from sam2_gradio.media.video import iter_frames, probe_video

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parent.parent
RUNNER = Path(__file__).resolve().parent / "project_cli_runner.py"
MODEL_FLAGS = ["--random-weights", "--image-size", "256", "--device", "cpu"]


def _prompts(meta) -> PromptState:
    prompts = PromptState(video=meta)
    prompts.add_click(2, 1, 40, 60, 1)
    prompts.add_click(2, 3, 120, 50, 1)
    prompts.set_name(1, "disc")
    return prompts


def _all_masks(project: Project) -> dict[int, np.ndarray]:
    tracked = project.masks()
    return {frame: tracked.masks_of(frame) for frame in range(project.meta.num_frames)}


def _new_project(folder: Path, video: Path, prompts_of=_prompts) -> Project:
    project = Project.create(folder, video)
    adopt_prompts(project, prompts_of(project.meta))
    return project


@pytest.fixture(scope="module")
def tracked_project(random_model, scene_jpegs, tmp_path_factory):
    """A project of the 24-frame scene tracked in one go, with the masks the model gave while tracking
    written beside it as mask PNGs (`old.mask_dir`, the layout `mask_pngs` writes)."""
    folder = tmp_path_factory.mktemp("tracked")
    project = _new_project(folder / "project", scene_jpegs)
    watched: dict[int, dict[int, np.ndarray]] = {}
    result = track_project(
        random_model,
        project,
        step_frames=5,
        watch=lambda tracked: watched.update({tracked.frame: tracked.masks}),
    )
    old = SimpleNamespace(mask_dir=folder / "old_masks")
    meta, empty = project.meta, np.zeros((project.meta.height, project.meta.width), dtype=bool)
    for frame in range(meta.num_frames):
        masks = {obj_id: watched.get(frame, {}).get(obj_id, empty) for obj_id in (1, 3)}
        for obj_id, mask in masks.items():
            save_mask_png(old.mask_dir / "per_object" / per_object_mask_name(frame, obj_id), mask)
        save_mask_png(old.mask_dir / "combined" / combined_mask_name(frame), masks[1] | masks[3])
    yield project, result, old
    project.close()


def test_tracking_commits_every_frame_and_the_project_says_current(tracked_project):
    project, result, _ = tracked_project
    assert result.finished and result.frames_tracked == 22 and result.resumed_at is None
    summary = project.summary()
    assert summary["frames_tracked"] == 22 and summary["current"] is True
    assert summary["video"]["frames"] == 24 and summary["objects"] == [
        {"id": 1, "name": "disc"}, {"id": 3, "name": ""}
    ]  # fmt: skip
    assert summary["runs"] == [
        {
            "id": 1,
            "direction": "forward",
            "frames_tracked": 22,
            "total": 22,
            "finished": True,
            "stopped": None,
        }
    ]
    assert any(mask.any() for mask in _all_masks(project).values())


def test_mask_pngs_from_the_store_equal_those_written_while_tracking(tracked_project, tmp_path):
    project, _, old = tracked_project
    written = project_exports.mask_pngs(project, tmp_path / "masks")
    names = sorted(p.relative_to(old.mask_dir) for p in old.mask_dir.rglob("*.png"))
    assert names == sorted(p.relative_to(written) for p in written.rglob("*.png")) and len(names) == 24 * 3
    for name in names:
        assert (old.mask_dir / name).read_bytes() == (written / name).read_bytes(), name


def test_coco_from_the_store_decodes_to_the_tracked_masks(tracked_project, tmp_path):
    project, _, old = tracked_project
    data = json.loads(project_exports.coco(project, tmp_path / "masks.json").read_text())
    assert [c["name"] for c in data["categories"]] == ["disc", "object"]
    for annotation in data["annotations"]:
        for frame, rle in enumerate(annotation["segmentations"]):
            png = cv2.imread(
                str(old.mask_dir / "per_object" / f"mask_{frame:05d}_obj_{annotation['id']}.png"), 0
            )
            decoded = coco_mask.decode(rle) if rle else np.zeros_like(png)
            assert np.array_equal(decoded.astype(bool), png > 0)


def test_the_preview_streamed_while_tracking_equals_one_written_from_the_store(tracked_project, tmp_path):
    project, result, old = tracked_project
    assert result.preview is not None and result.preview.is_file()
    streamed = list(iter_frames(result.preview))
    result.preview.unlink()  # the cache is gone: the store writes it again
    again = project_exports.preview(project, tmp_path / "preview.mp4")
    assert len(streamed) == 24
    assert all(np.array_equal(a, b) for a, b in zip(streamed, iter_frames(again), strict=True))


def test_exports_need_no_model_and_are_cached_against_the_masks(tracked_project, tmp_path):
    project, _, _ = tracked_project
    first = project_exports.davis(project)
    stamp = first.stat().st_mtime_ns
    assert project_exports.davis(project, tmp_path / "davis") == tmp_path / "davis"
    assert first.stat().st_mtime_ns == stamp and len(list((tmp_path / "davis").glob("*.png"))) == 24


def test_alpha_pngs_from_the_store_cut_the_tracked_masks_out(tracked_project, tmp_path):
    project, _, old = tracked_project
    folder = project_exports.alpha_pngs(project, tmp_path / "alpha", edge="hard", feather=0)
    names = sorted(path.name for path in folder.iterdir())
    assert names == [f"{frame:05d}.png" for frame in range(24)]
    for frame in (2, 12, 23):
        rgba = cv2.imread(str(folder / names[frame]), cv2.IMREAD_UNCHANGED)
        union = cv2.imread(str(old.mask_dir / "combined" / f"mask_{frame:05d}.png"), 0) > 0
        assert np.array_equal(rgba[..., 3] == 255, union) and not rgba[..., 3][~union].any()


def test_cancel_then_continue_gives_the_uninterrupted_masks_tracking_only_what_is_left(
    random_model, scene_jpegs, tracked_project, tmp_path
):
    reference = _all_masks(tracked_project[0])
    project = _new_project(tmp_path / "p", scene_jpegs)
    cancel = threading.Event()
    first = track_project(
        random_model, project, step_frames=3,
        watch=lambda tracked: cancel.set() if len(tracked.tracked) == 10 else None, cancel=cancel,
    )  # fmt: skip
    assert not first.finished and first.stopped == "cancelled" and first.frames_done == 10
    assert project.summary()["runs"][0]["stopped"] == "cancelled"
    second = track_project(random_model, project, step_frames=4)
    assert second.finished and second.resumed_at == 12 and second.frames_tracked == 12
    masks = _all_masks(project)
    assert all(np.array_equal(masks[f], reference[f]) for f in range(24))
    third = track_project(random_model, project)
    assert third.already_current and third.frames_tracked == 0


def test_changed_prompts_start_a_new_run_and_the_old_masks_stay_until_it_finishes(
    random_model, scene_jpegs, tmp_path
):
    project = _new_project(tmp_path / "p", scene_jpegs)
    track_project(random_model, project, step_frames=8)
    prompts = project.prompts()
    prompts.add_click(6, 1, 45, 60, 0)
    project.save_prompts(prompts)
    assert not project.is_current()
    assert project.prompts().history.can_undo()  # the history is stored with the prompts
    second = track_project(random_model, project, step_frames=8)
    assert second.resumed_at is None and second.run_id == 2 and project.tracked_frames() == list(range(2, 24))


def _write_scene_video(folder: Path, count: int, make_video) -> Path:
    from sam2_support import scene_frame

    return make_video("scene.mp4", [scene_frame(i) for i in range(count)], fps=12)


def _frames_committed(database: Path) -> int:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(database, timeout=1) as connection:
            row = connection.execute("SELECT frames_tracked FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        return 0
    return row[0] if row else 0


def test_kill_9_of_a_cli_run_then_the_same_command_gives_the_uninterrupted_masks(
    random_model, make_video, tmp_path
):
    video = _write_scene_video(tmp_path, 40, make_video)
    state = tmp_path / "state.json"
    _prompts(probe_video(video)).save(state)
    command = [sys.executable, str(RUNNER), "segment", "--video", str(video), "--state-file", str(state)]
    command += ["--project", str(tmp_path / "killed"), "--mask-dir", str(tmp_path / "masks"), *MODEL_FLAGS]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    database = tmp_path / "killed" / PROJECT_FILE
    deadline = time.monotonic() + 300
    while _frames_committed(database) < 20 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()
    killed_at = _frames_committed(database)
    assert 20 <= killed_at < 38
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    with Project.open(tmp_path / "killed") as project:
        (run,) = project.runs()
        retracked = run.frames_tracked - 38
        assert run.finished and 0 <= retracked <= 8, run  # at most the frames since the last checkpoint
        assert (38 - killed_at) + retracked + killed_at == run.frames_tracked
        killed_masks = _all_masks(project)
    reference = _new_project(tmp_path / "reference", video)
    track_project(random_model, reference, step_frames=8)
    expected = _all_masks(reference)
    assert all(np.array_equal(killed_masks[f], expected[f]) for f in range(40))
    assert any(m.any() for m in expected.values())
    export = subprocess.run(
        [sys.executable, "-m", "sam2_gradio.export", "--project", str(tmp_path / "killed"),
         "--coco", str(tmp_path / "c.json"), "--davis-dir", str(tmp_path / "davis")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "SAM2_GRADIO_CHECKPOINT_DIR": str(tmp_path / "no-weights")},
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    assert len(json.loads((tmp_path / "c.json").read_text())["annotations"]) == 2
    summary = subprocess.run(
        [sys.executable, "-m", "sam2_gradio.project", str(tmp_path / "killed")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    printed = json.loads(summary.stdout)
    assert printed["frames_tracked"] == 38 and printed["current"] and printed["video"]["frames"] == 40
    background = make_video("background.mp4", [np.full((96, 128, 3), 90, np.uint8)] * 12, fps=12)
    composed = subprocess.run(
        [sys.executable, "-m", "sam2_gradio.compose", "--project", str(tmp_path / "killed"), "--bg",
         str(background), "--out", str(tmp_path / "out.mp4"), "--snapshot", "5"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert composed.returncode == 0, composed.stderr
    pasted = cv2.imread(str(tmp_path / "out_frame_00005.png"))
    assert pasted.shape == (96, 128, 3) and (np.abs(pasted.astype(int) - 90).max(axis=2) > 40).any()


KILLED_WRITER = """
import sys, os, numpy as np
from sam2_gradio.engine.store.project import Project
project = Project.open(sys.argv[1])
run = project.latest_run().id
masks = np.ones((1, 120, 160), bool)
project.commit_frame(run, 5, [1], masks)
project._db.execute("BEGIN IMMEDIATE")
project._db.execute("DELETE FROM masks")
project._db.execute("INSERT OR REPLACE INTO frames VALUES (6, ?)", (run,))
os.kill(os.getpid(), 9)
"""


def test_a_process_killed_inside_a_write_leaves_the_last_committed_frame_readable(scene_jpegs, tmp_path):
    project = _new_project(tmp_path / "p", scene_jpegs)
    project.begin_run(project.prompts(), "forward", 22)
    project.close()
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(tmp_path / "p")], cwd=REPO_ROOT)
    assert killed.returncode == -9
    with Project.open(tmp_path / "p") as project:
        assert project.tracked_frames() == [5]
        assert project.frame_masks(5)[1].all()


def _old_masks() -> dict[int, np.ndarray]:
    """Masks of 120x160 frames that an old store held: a box, noise, and one touching every border."""
    box = np.zeros((120, 160), bool)
    box[10:20, 30:37] = True
    noise = np.random.default_rng(3).random((120, 160)) < 0.5
    edges = np.zeros((120, 160), bool)
    edges[:, :5] = edges[:3, :] = edges[-1, :] = edges[:, -1] = True
    return {3: box, 4: noise, 5: edges}


def _as_old_version(path: Path, version: int, masks: dict[int, np.ndarray], run: int) -> None:
    """Rewrite the project database at `path` as schema `version` (1 or 2) would hold `masks` of object 1:
    the masks table of version 1 (COCO RLE text in `counts`, by pycocotools), plus `area` from 2 on."""
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM masks")
        connection.execute("DROP TABLE masks")
        connection.execute(
            "CREATE TABLE masks (frame INTEGER NOT NULL REFERENCES frames(frame), obj_id INTEGER NOT NULL, "
            "counts TEXT NOT NULL, PRIMARY KEY (frame, obj_id)) WITHOUT ROWID"
        )
        if version >= 2:
            connection.execute("ALTER TABLE masks ADD COLUMN area INTEGER NOT NULL DEFAULT 0")
        for frame, mask in masks.items():
            counts = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode()
            connection.execute("INSERT OR REPLACE INTO frames VALUES (?, ?)", (frame, run))
            connection.execute("INSERT INTO masks (frame, obj_id, counts) VALUES (?, 1, ?)", (frame, counts))
            if version >= 2:
                connection.execute("UPDATE masks SET area = ? WHERE frame = ?", (int(mask.sum()), frame))
        connection.execute(f"PRAGMA user_version = {version}")


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_database_is_migrated_to_the_same_masks(scene_jpegs, tmp_path, version):
    project = _new_project(tmp_path / "p", scene_jpegs)
    run = project.begin_run(project.prompts(), "forward", 22)
    project.close()
    masks = _old_masks()
    _as_old_version(tmp_path / "p" / PROJECT_FILE, version, masks, run)
    with Project.open(tmp_path / "p") as project:
        assert project._row("PRAGMA user_version")[0] == schema.SCHEMA_VERSION
        tracked = project.masks([1])
        for frame, mask in masks.items():
            assert np.array_equal(project.frame_masks(frame)[1], mask), frame
            assert np.array_equal(tracked.mask(frame, 1), mask), frame
            area, kind = project._row("SELECT area, typeof(code) FROM masks WHERE frame = ?", (frame,))
            assert area == mask.sum() and kind == "blob"
        coco = json.loads(project_exports.coco(project).read_text())
        for frame, segmentation in enumerate(coco["annotations"][0]["segmentations"]):
            if frame in masks:  # the COCO export gives back pycocotools' own RLE of each mask
                expected = coco_mask.encode(np.asfortranarray(masks[frame].astype(np.uint8)))
                assert segmentation["counts"] == expected["counts"].decode()


def test_bad_projects_are_refused_in_one_sentence_naming_what_to_do(scene_jpegs, make_video, tmp_path):
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / PROJECT_FILE).write_bytes(b"this is not a database" * 100)
    with pytest.raises(BadInput, match="not a sam2-gradio project database .*move it away"):
        Project.open(corrupt)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    with sqlite3.connect(foreign / PROJECT_FILE) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(BadInput, match="another program"):
        Project.open(foreign)
    newer = _new_project(tmp_path / "newer", scene_jpegs)
    newer.close()
    with sqlite3.connect(tmp_path / "newer" / PROJECT_FILE) as connection:
        connection.execute("PRAGMA user_version = 99")
    with pytest.raises(BadInput, match="newer sam2-gradio .*upgrade"):
        Project.open(tmp_path / "newer")
    other_video = make_video("other.mp4", 5)
    _new_project(tmp_path / "mine", scene_jpegs).close()
    with pytest.raises(BadInput, match="another video .*give another project folder"):
        Project.open_or_create(tmp_path / "mine", other_video)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_project_folder_is_named(scene_jpegs, tmp_path):  # pragma: no cover - root in CI
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    with pytest.raises(BadInput, match="read-only"):
        Project.create(folder / "p", scene_jpegs)


def test_a_read_only_database_is_named(scene_jpegs, tmp_path):
    project = _new_project(tmp_path / "p", scene_jpegs)
    project.close()
    connection = sqlite3.connect(f"file:{tmp_path / 'p' / PROJECT_FILE}?mode=ro", uri=True)
    project = Project(tmp_path / "p", connection)
    with pytest.raises(BadInput, match="read-only: give a writable"):
        project.save_prompts(project.prompts())


def test_a_disk_that_fills_mid_run_keeps_what_was_tracked(random_model, scene_jpegs, tmp_path):
    project = _new_project(tmp_path / "p", scene_jpegs)
    pages = project._row("PRAGMA page_count")[0]
    project._db.execute(f"PRAGMA max_page_count = {pages + 6}")  # a disk a few pages from full
    with pytest.raises(DiskFull, match="is full: free some space .*kept"):
        track_project(random_model, project, step_frames=4, preview=False)
    kept = project.tracked_frames()
    assert kept and kept == list(range(2, 2 + len(kept)))
    project._db.execute("PRAGMA max_page_count = 1073741823")
    result = track_project(random_model, project, step_frames=4, preview=False)
    assert result.finished and project.tracked_frames() == list(range(2, 24))


def test_alpha_video_sizes_are_estimated_from_the_stored_mask_areas(scene_jpegs, tmp_path):
    from sam2_gradio.media.video import estimate_alpha_video_bytes

    with _new_project(tmp_path / "p", scene_jpegs) as project:
        meta = project.meta
        run = project.begin_run(project.prompts(), "forward", meta.num_frames)
        masks = np.zeros((2, meta.height, meta.width), bool)
        masks[0, :10, :20] = True  # 200 pixels of object 1
        masks[1, :, :] = True  # the whole frame for object 3
        for frame in (0, 1):
            project.commit_frame(run, frame, [1, 3], masks)
        assert project.mask_area([1]) == 400 and project.mask_area() == 400 + 2 * meta.width * meta.height
        pixels = meta.num_frames * meta.width * meta.height
        for suffix in (".webm", ".mov"):
            expected = estimate_alpha_video_bytes(
                suffix, width=meta.width, height=meta.height, frames=meta.num_frames, coverage=400 / pixels
            )
            assert project_exports.alpha_video_bytes(project, suffix, obj_ids=[1]) == expected
