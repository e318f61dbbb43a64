"""The app works in projects: every edit is stored, a reload (a new browser session) reopens the same
video, frame, prompts with their undo history, tracked masks and results; a stopped run continues from
its checkpoint; browsers see only their own projects; a public app expires idle ones."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sam2_gradio.app import projects_view
from sam2_gradio.app import segment_actions as actions
from sam2_gradio.app.model_holder import AppModel
from sam2_gradio.app.projects import ProjectLibrary
from sam2_gradio.app.sessions import SessionStore
from sam2_gradio.engine.options import SegmentOptions
from sam2_gradio.errors import BadInput, NotReady

pytestmark = pytest.mark.slow
OPTIONS = SegmentOptions(direction="forward", batch_size=4)


@pytest.fixture
def app_model(random_model) -> AppModel:
    return AppModel(random_model.settings, model=random_model)


@pytest.fixture
def library(tmp_path) -> ProjectLibrary:
    return ProjectLibrary(tmp_path / "projects")


def _reloaded(store: SessionStore, library: ProjectLibrary, project_id: str, app_model: AppModel, name: str):
    """A new browser session (what a reload is to the server) that reopens `project_id`."""
    session = store.get(name)
    opened, frame = actions.reopen_project(session, library, project_id, app_model)
    return session, opened, frame


def _cancelled_after_five_frames(
    store: SessionStore, make_video, app_model: AppModel, library: ProjectLibrary
):
    """Session "a" of `store` with a 12-frame clip and one click, its propagation cancelled after 5 frames;
    returns the session and that propagation's result."""
    session = store.get("a")
    actions.open_video(session, make_video("clip.mp4", 12, fps=10), app_model, library)
    actions.add_click(session, 0, 1, 20, 20, positive=True)
    flag = session.cancel_flag("segment")
    cancelled = actions.propagate(
        session, OPTIONS, watch=lambda tracked: flag.set() if len(tracked.tracked) == 5 else None
    )
    return session, cancelled


def test_a_reload_brings_back_frame_prompts_history_masks_and_results(
    tmp_path, make_video, app_model, library
):
    store = SessionStore(tmp_path / "sessions")
    first = store.get("first")
    actions.open_video(first, make_video("clip.mp4", 10, fps=10), app_model, library)
    project_id = first.project_id
    assert project_id is not None and (library.root / project_id / "project.sqlite").is_file()
    actions.add_click(first, 0, 1, 20, 20, positive=True)
    actions.new_object(first)
    actions.add_click(first, 0, 2, 44, 30, positive=True)
    result = actions.propagate(first, OPTIONS)
    assert not result.partial and result.preview is not None and result.masks_zip is not None
    actions.view_frame(first, 6)
    shown = actions.show_frame(first, 6)
    store.close("first")  # the tab went away: its session folder is gone, the project stays

    second, opened, frame = _reloaded(store, library, project_id, app_model, "second")
    assert frame == 6 and opened.num_frames == 10
    assert np.array_equal(actions.show_frame(second, 6), shown), "the tracked masks are drawn again"
    restored = second.segment_result
    assert restored is not None and not restored.partial and restored.preview.is_file()
    assert restored.masks_zip.is_file() and restored.tracked == range(0, 10)
    assert actions.video_name(second) == "clip.mp4", "named as uploaded, not as the project's copy"
    in_box = actions.shown_video(second)  # the video box shows the project's video again
    assert in_box is not None and Path(in_box).name == "clip.mp4"
    assert actions.is_shown_video(second, in_box), "the box's change event then opens nothing"
    assert not actions.is_shown_video(second, make_video("other.mp4", 10, fps=10))
    assert actions.object_ids(second) == [1, 2]
    assert actions.undo(second, 6)[0] == 0, "the undo history came back: the last click is taken back"
    assert actions.object_ids(second) == [1, 2] and 2 not in second.segment.prompts.clicks_on(0)


def test_a_cancelled_run_continues_after_a_reload_from_where_it_stopped(
    tmp_path, make_video, app_model, library
):
    store = SessionStore(tmp_path / "sessions")
    session, cancelled = _cancelled_after_five_frames(store, make_video, app_model, library)
    assert cancelled.partial and cancelled.tracked == range(0, 5)
    store.close("a")
    reloaded, _, _ = _reloaded(store, library, session.project_id, app_model, "b")
    assert reloaded.segment_result.partial and reloaded.segment_result.tracked == range(0, 5)
    done = actions.propagate(reloaded, OPTIONS, resume=True)
    assert not done.partial and done.tracked == range(0, 12)
    (run,) = reloaded.project.runs()
    assert run.frames_tracked == 12, "Continue tracked only the 7 frames left"


def test_browsers_list_only_their_own_projects(tmp_path, make_video, app_model, library):
    store = SessionStore(tmp_path / "sessions")
    mine, theirs = store.get("mine"), store.get("theirs")
    actions.open_video(mine, make_video("mine.mp4", 3), app_model, library)
    actions.open_video(theirs, make_video("theirs.mp4", 3), app_model, library)
    kept = projects_view.remembered(projects_view.EMPTY, mine.project_id)
    listed = library.entries(projects_view.known(kept))
    assert [entry.project_id for entry in listed] == [mine.project_id]
    assert listed[0].name == "mine.mp4" and listed[0].frames == 3, "listed by the uploaded file's name"
    forged = {"current": "../" + theirs.project_id, "ids": ["../x", 7, theirs.project_id.upper()]}
    assert projects_view.known(forged) == [] and projects_view.current(forged) is None
    with pytest.raises(BadInput, match="not a project id"):
        library.open("../" + theirs.project_id)


def test_a_public_app_expires_idle_projects_and_a_gone_one_says_so(tmp_path, make_video, app_model, library):
    store = SessionStore(tmp_path / "sessions")
    old, fresh = store.get("old"), store.get("fresh")
    actions.open_video(old, make_video("old.mp4", 3), app_model, library)
    actions.open_video(fresh, make_video("fresh.mp4", 3), app_model, library)
    long_ago = time.time() - 48 * 3600
    for path in (library.root / old.project_id).glob("project.sqlite*"):
        os.utime(path, (long_ago, long_ago))
    os.utime(library.root / old.project_id, (long_ago, long_ago))
    assert library.expire(24.0) == 1
    with pytest.raises(BadInput, match="gone"):
        actions.reopen_project(store.get("later"), library, old.project_id, app_model)
    assert library.open(fresh.project_id).meta.num_frames == 3


def test_edits_are_stored_as_they_happen(tmp_path, make_video, app_model, library):
    store = SessionStore(tmp_path / "sessions")
    session = store.get("a")
    actions.open_video(session, make_video("clip.mp4", 4), app_model, library)
    actions.add_click(session, 1, 1, 20, 20, positive=True)
    actions.name_object(session, 1, "square")
    stored = library.open(session.project_id)
    assert stored.prompts().names == {1: "square"} and stored.prompts().prompted_frames() == [1]
    assert stored.objects() == [(1, "square")]


def test_exports_are_written_from_the_store_after_the_run_without_tracking(
    tmp_path, make_video, app_model, library
):
    from sam2_gradio.engine.options import ExportChoices

    store = SessionStore(tmp_path / "sessions")
    session = store.get("a")
    actions.open_video(session, make_video("clip.mp4", 5), app_model, library)
    with pytest.raises(NotReady, match="Propagate first"):
        actions.write_exports_now(session, ExportChoices(coco=True))
    actions.add_click(session, 0, 1, 20, 20, positive=True)
    actions.propagate(session, OPTIONS)
    files = actions.write_exports_now(session, ExportChoices(coco=True, davis=True))
    assert sorted(path.suffix for path in files) == [".json", ".zip"]
    assert all(path.is_file() for path in files) and actions.export_files(session) == files
    assert len(session.project.runs()) == 1, "nothing was tracked again"


def test_the_alpha_video_sizes_are_said_before_writing_from_the_masks_covered(
    tmp_path, make_video, app_model, library
):
    from sam2_gradio.media.video import estimate_alpha_video_bytes

    store = SessionStore(tmp_path / "sessions")
    session = store.get("a")
    assert actions.alpha_video_sizes(session, ["mov"]) == "", "no video, nothing to say"
    actions.open_video(session, make_video("clip.mp4", 5), app_model, library)
    actions.add_click(session, 0, 1, 20, 20, positive=True)
    actions.propagate(session, OPTIONS)
    meta = session.project.meta
    covered = sum(
        mask.sum() for frame in range(meta.num_frames) for mask in session.project.frame_masks(frame).values()
    )
    coverage = covered / (meta.num_frames * meta.width * meta.height)
    expected = [
        estimate_alpha_video_bytes(
            suffix, width=meta.width, height=meta.height, frames=meta.num_frames, coverage=coverage
        )
        for suffix in (".mov", ".webm")
    ]
    said = actions.alpha_video_sizes(session, ["mov", "webm"])
    mov, webm = (f"{size / 1e6:.0f} MB" for size in expected)
    assert said == f"About {mov} (mov), {webm} (webm) for the masks tracked so far."
    assert actions.alpha_video_sizes(session, []) == "" and actions.alpha_video_sizes(session, ["none"]) == ""


def test_compose_picks_a_project_with_its_objects_named(tmp_path, make_video, app_model, library):
    from sam2_gradio.app import compose_actions
    from sam2_gradio.compositor.render import ComposeOptions
    from sam2_gradio.engine.exports import project_exports
    from sam2_gradio.engine.exports.overlay import draw_legend, draw_masks
    from sam2_gradio.media.mask_files import load_mask_set, per_object_mask_name
    from sam2_gradio.media.video import read_frame

    store = SessionStore(tmp_path / "sessions")
    session = store.get("a")
    clip = make_video("dog.mp4", 4)
    actions.open_video(session, clip, app_model, library)
    tracked_id = session.project_id
    actions.add_click(session, 0, 1, 20, 20, positive=True)
    actions.new_object(session)
    actions.add_click(session, 0, 2, 44, 30, positive=True)
    actions.name_object(session, 1, "dog")
    actions.propagate(session, OPTIONS)
    actions.open_video(session, make_video("bare.mp4", 3), app_model, library)  # no masks: not offered
    kept = projects_view.remembered(
        projects_view.remembered(projects_view.EMPTY, tracked_id), session.project_id
    )

    entries = compose_actions.project_entries(library, projects_view.known(kept))
    assert [entry.project_id for entry in entries] == [tracked_id]
    files = compose_actions.library_project_files(session, library, tracked_id)
    with library.open(tracked_id) as project:
        version = project.masks_version
        stored = project.masks()
        expected = {frame: stored.masks_of(frame) for frame in range(4)}
        preview = project_exports.preview(project)
    # the preview's legend names the objects: its frame is the masks drawn with the legend, not without
    masked = draw_masks(read_frame(clip, 0), dict(zip((1, 2), expected[0], strict=True)))
    shown = read_frame(preview, 0).astype(int)
    with_legend = np.abs(shown - draw_legend(masked, {1: "dog", 2: "Object 2"})).mean()
    assert with_legend < np.abs(shown - masked).mean() / 2, "the legend is drawn"
    assert Path(files.obj_video).read_bytes() == clip.read_bytes() and Path(files.obj_video).name == "dog.mp4"
    assert Path(files.masks).name == f"dog_masks_v{version}.zip"
    mask_set = load_mask_set(files.masks)
    assert mask_set.object_ids == (1, 2)
    mask_set.close()
    with zipfile.ZipFile(files.masks) as archive:  # the zip holds the store's masks
        for frame, masks in expected.items():
            for obj_id, mask in zip((1, 2), masks, strict=True):
                png = archive.read(f"per_object/{per_object_mask_name(frame, obj_id)}")
                assert np.array_equal(np.asarray(Image.open(io.BytesIO(png))) > 0, mask)
    names = compose_actions.project_names(library, tracked_id, files.masks)
    assert names == {1: "dog"}
    assert compose_actions.object_choices((1, 2), names) == [("dog (1)", 1), ("Object 2", 2)]
    assert compose_actions.project_names(library, tracked_id, tmp_path / "my_masks.zip") == {}, (
        "masks the user uploaded are not named after the project"
    )
    assert compose_actions.library_project_files(session, library, tracked_id, files.masks) is None, (
        "the masks shown are current: nothing is served again"
    )
    background = make_video("background.mp4", 6)
    inputs = compose_actions.ComposeInputs(files.obj_video, files.masks, background)
    shown = compose_actions.preview(session, inputs, 0, ComposeOptions())
    assert shown.image.shape == (48, 64, 3) and shown.num_frames == 4
    with pytest.raises(NotReady, match="no tracked masks"):
        compose_actions.library_project_files(session, library, session.project_id)


def test_a_capped_project_stops_tracking_and_exports_keeping_what_was_tracked(
    tmp_path, make_video, app_model, library
):
    from sam2_gradio.app.server import projects_note
    from sam2_gradio.engine.exports import project_exports
    from sam2_gradio.errors import DiskLimitReached

    session, _ = _cancelled_after_five_frames(
        SessionStore(tmp_path / "sessions"), make_video, app_model, library
    )
    project = session.project
    tracked = project.tracked_frames()
    assert 5 <= len(tracked) < 12
    project.disk_cap_bytes = project.disk_bytes() - 1  # the folder already takes more than the cap
    with pytest.raises(DiskLimitReached, match=r"reached the \d+ MB of disk a project may take"):
        actions.propagate(session, OPTIONS, resume=True)
    assert project.tracked_frames() == tracked, "nothing tracked before is lost"
    with pytest.raises(DiskLimitReached):
        project_exports.coco(project)
    assert not list((project.folder / "outputs").glob("coco-*")), "no export was written"
    project.disk_cap_bytes = None
    assert not actions.propagate(session, OPTIONS, resume=True).partial, "without the cap the run ends"

    capped = ProjectLibrary(library.root, disk_cap_mb=64)
    with capped.open(session.project_id) as reopened:
        assert reopened.disk_cap_bytes == 64 * 2**20
    note = projects_note(capped, public=True)
    assert "64 MB" in note and "hours" in note
    assert "MB" not in projects_note(library, public=False), "a local app has no cap"
