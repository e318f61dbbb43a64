"""The batch runner: many projects tracked in process and on a local Ray cluster (2 CPUs), with masks
bit-identical to `track_project`'s (what the segment CLI runs), a lost worker retried, a broken project
failing alone, a second run doing nothing, and the recipe over a folder of videos."""

from __future__ import annotations

import ast
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from sam2_support import random_model_for, scene_frame

from sam2_gradio.batch.progress_view import summary_lines, time_left
from sam2_gradio.batch.runner import BatchSettings, run_batch
from sam2_gradio.batch.work import ProjectStatus, jobs_for_folders, jobs_for_videos
from sam2_gradio.cli import batch as batch_cli
from sam2_gradio.engine.model.predictor import ModelSettings
from sam2_gradio.engine.store.project import Project, adopt_prompts
from sam2_gradio.engine.tracking.prompts import PromptState
from sam2_gradio.engine.tracking.track_project import track_project
from sam2_gradio.media.frames import open_frames

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
MODEL = ModelSettings(random_weights=True, image_size=256, device="cpu")
LENGTHS = {"a": 4, "b": 5, "c": 3, "d": 4}  # frames of the four small videos (a loaded 2-core CI)
CHECKPOINT_FRAMES = 2  # the Ray workers checkpoint every 2 frames, so a short run can be killed after one


def _write_video(path: Path, count: int, shift: int = 0) -> Path:
    """`count` frames of the synthetic scene (starting at frame `shift`) as a lossless H.264 file."""
    frames = [scene_frame(shift + index) for index in range(count)]
    height, width = frames[0].shape[:2]
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24"]
    command += ["-s", f"{width}x{height}", "-r", "12", "-i", "pipe:0"]
    command += ["-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p", str(path)]
    subprocess.run(command, input=b"".join(f.tobytes() for f in frames), check=True)
    return path


def _prompts(meta) -> PromptState:
    prompts = PromptState(video=meta)
    prompts.add_click(0, 1, 40, 60, 1)
    prompts.add_click(0, 3, 120, 50, 1)
    prompts.set_name(1, "disc")
    return prompts


def _make_project(folder: Path, video: Path) -> Path:
    with Project.create(folder, video) as project:
        adopt_prompts(project, _prompts(project.meta))
    return folder


def _masks(folder: Path) -> dict[int, np.ndarray]:
    with Project.open(folder) as project:
        tracked = project.masks()
        return {frame: tracked.masks_of(frame) for frame in range(project.meta.num_frames)}


def _same_masks(folder: Path, expected: dict[int, np.ndarray]) -> bool:
    got = _masks(folder)
    return got.keys() == expected.keys() and all(np.array_equal(got[f], expected[f]) for f in expected)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """torch on one thread in this process, as in each Ray worker of 2 on 2 CPUs: the CPU's sums depend
    on the thread count (a pixel here and there), so masks are compared at the same count."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    """Four small videos of the scene, each a different stretch of it."""
    folder = tmp_path_factory.mktemp("videos")
    return {
        name: _write_video(folder / f"{name}.mp4", n, shift=3 * i)
        for i, (name, n) in enumerate(LENGTHS.items())
    }


@pytest.fixture(scope="module")
def reference(videos, random_model, tmp_path_factory) -> dict[str, dict[int, np.ndarray]]:
    """Each video's masks tracked by `track_project` in this process (as the segment CLI tracks them)."""
    folder = tmp_path_factory.mktemp("reference")
    masks = {}
    for name, video in videos.items():
        with Project.open(_make_project(folder / name, video)) as project:
            assert track_project(random_model, project, preview=False).finished
        masks[name] = _masks(folder / name)
        assert any(m.any() for m in masks[name].values())  # the comparisons below mean something
    return masks


def test_the_segment_cli_tracks_the_reference_masks(videos, reference, tmp_path):
    """The chain the other tests rely on: the segment CLI's masks are `track_project`'s, bit for bit."""
    video = videos["a"]
    state = _prompts(open_frames(video).meta).save(tmp_path / "state.json")
    command = [
        sys.executable,
        str(ROOT / "tests" / "project_cli_runner.py"),
        "segment",
        "--video",
        str(video),
    ]
    command += [
        "--state-file",
        str(state),
        "--project",
        str(tmp_path / "cli"),
        "--mask-dir",
        str(tmp_path / "m"),
    ]
    command += ["--random-weights", "--image-size", "256", "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # one thread, as the reference
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert _same_masks(tmp_path / "cli", reference["a"])


def test_time_left_is_the_frames_left_over_the_summed_speed():
    statuses = [
        ProjectStatus("a", "tracking", frames_done=10, total=30, fps=2.0),
        ProjectStatus("b", "tracking", frames_done=0, total=10, fps=3.0),
        ProjectStatus("c", "waiting"),  # counted as the mean known length, 30
        ProjectStatus("d", "done", frames_done=50, total=50),
    ]
    assert time_left(statuses) == pytest.approx((20 + 10 + 30) / 5.0)
    assert time_left([ProjectStatus("a", "waiting")]) is None


def test_in_process_recipe_tracks_every_video_as_track_project_and_a_second_run_does_nothing(
    videos, reference, random_model, tmp_path
):
    clips = tmp_path / "clips"
    clips.mkdir()
    for name in ("a", "b"):
        shutil.copy(videos[name], clips / f"{name}.mp4")
    (clips / "broken.mp4").write_bytes(b"not a video" * 50)
    (clips / "notes.txt").write_text("not a video either, and not picked up")
    state = _prompts(open_frames(videos["a"]).meta).save(tmp_path / "state.json")
    settings = BatchSettings(MODEL, model_factory=lambda settings: random_model)
    jobs = jobs_for_videos(clips, state, tmp_path / "projects")
    assert [job.name for job in jobs] == ["a", "b", "broken"]
    seen: list[ProjectStatus] = []
    first = run_batch(jobs, settings, on_status=seen.append)
    assert [s.state for s in first.statuses] == ["done", "done", "failed"]
    assert "broken.mp4" in first.failed[0].reason
    assert [s.state for s in seen[:3]] == ["waiting"] * 3 and any(s.state == "tracking" for s in seen)
    for name in ("a", "b"):
        assert _same_masks(tmp_path / "projects" / name, reference[name]), name
    second = run_batch(jobs_for_videos(clips, state, tmp_path / "projects"), settings)
    assert [s.state for s in second.statuses] == ["current", "current", "failed"]
    assert summary_lines(second)[0].startswith("done: 0, already current: 2, failed: 1")
    with Project.open(tmp_path / "projects" / "a") as project:
        assert len(project.runs()) == 1 and project.objects() == [(1, "disc"), (3, "")]


def test_the_cli_exits_1_naming_the_failed_project_and_2_on_a_bad_recipe(
    videos, random_model, monkeypatch, tmp_path, capsys
):
    from sam2_gradio.engine.model import predictor

    monkeypatch.setattr(predictor, "get_shared_model", lambda settings: random_model)
    good = _make_project(tmp_path / "good", videos["c"])
    gone = _make_project(tmp_path / "gone", shutil.copy(videos["d"], tmp_path / "d.mp4"))
    (tmp_path / "d.mp4").unlink()
    flags = ["--random-weights", "--image-size", "256", "--device", "cpu"]
    assert batch_cli.main([str(good), str(gone), *flags]) == 1
    out = capsys.readouterr()
    assert "done: 1, already current: 0, failed: 1" in out.out
    assert "failed gone: the project's video d.mp4 is no longer at" in out.out
    assert "1 of 2 projects failed" in out.err
    assert batch_cli.main(["--videos", str(tmp_path), *flags]) == 2
    assert "needs --videos, --from-state and --projects-dir together" in capsys.readouterr().err


# --- on a local Ray cluster ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster of 2 CPUs; the workers get this package's code and the tests' model factory."""
    ray = pytest.importorskip("ray", reason="Ray is the cluster extra: pip install .[cluster]")
    import sam2_support

    from sam2_gradio.batch.ray_pool import worker_runtime_env

    ray.cloudpickle.register_pickle_by_value(sam2_support)
    runtime_env = {
        **worker_runtime_env(),
        "env_vars": {  # a checkpoint every 2 frames, a progress report after every frame
            "SAM2_GRADIO_CHECKPOINT_FRAMES": str(CHECKPOINT_FRAMES),
            "SAM2_GRADIO_STEP_SECONDS": "0.01",
        },
    }
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env=runtime_env)
    yield ray
    ray.shutdown()


RAY_SETTINGS = BatchSettings(MODEL, workers=2, model_factory=random_model_for)


def test_on_ray_four_projects_get_track_projects_masks_a_broken_one_fails_alone_a_second_run_does_nothing(
    ray_cluster, videos, reference, tmp_path
):
    folders = [_make_project(tmp_path / name, video) for name, video in videos.items()]
    broken_video = shutil.copy(videos["a"], tmp_path / "broken.mp4")
    folders.insert(2, _make_project(tmp_path / "broken", broken_video))
    Path(broken_video).write_bytes(b"\x00garbage" * 100)  # the video went bad after the project was made
    first = run_batch(jobs_for_folders(folders), RAY_SETTINGS)
    assert [s.state for s in first.statuses] == ["done", "done", "failed", "done", "done"]
    assert "broken.mp4" in first.statuses[2].reason
    assert len({s.worker for s in first.done}) == 2  # both workers took projects
    for name in videos:
        assert _same_masks(tmp_path / name, reference[name]), name
    second = run_batch(jobs_for_folders(folders), RAY_SETTINGS)
    assert [s.state for s in second.statuses] == ["current", "current", "failed", "current", "current"]
    for name in videos:
        with Project.open(tmp_path / name) as project:
            (run,) = project.runs()
            assert run.frames_tracked == run.total == LENGTHS[name]


def test_on_ray_a_worker_killed_mid_run_is_retried_and_its_project_continues_to_the_same_masks(
    ray_cluster, videos, random_model, tmp_path
):
    long_video = _write_video(tmp_path / "long.mp4", 10)
    long = _make_project(tmp_path / "long", long_video)
    short = _make_project(tmp_path / "short", videos["c"])
    killed: list[int] = []

    def kill_once(status: ProjectStatus) -> None:
        if (
            status.folder == str(long)
            and status.state == "tracking"
            and 3 <= status.frames_done < status.total - 2
            and not killed
        ):
            killed.append(status.pid)
            os.kill(status.pid, signal.SIGKILL)

    result = run_batch(jobs_for_folders([long, short]), RAY_SETTINGS, on_status=kill_once)
    assert killed and [s.state for s in result.statuses] == ["done", "done"], result.statuses
    survivor = result.statuses[0]
    assert (
        survivor.pid != killed[0]
        and survivor.resumed_at is not None
        and survivor.resumed_at % CHECKPOINT_FRAMES == 0
    )
    with Project.open(long) as project:
        (run,) = project.runs()
        assert run.finished and 10 <= run.frames_tracked <= 10 + CHECKPOINT_FRAMES  # only after a checkpoint
    reference = _make_project(tmp_path / "reference", long_video)
    with Project.open(reference) as project:
        track_project(random_model, project, preview=False)
    assert _same_masks(long, _masks(reference))


def _imported_modules(path: Path) -> set[str]:
    """Every module a source file imports (absolute names; `from x import y` gives x and x.y)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_the_app_and_the_other_clis_never_import_the_batch_runner_or_ray():
    package = ROOT / "sam2_gradio"
    faces = {package / "cli" / "batch.py", package / "batch" / "__main__.py"}
    importers = [
        path.relative_to(ROOT).as_posix()
        for path in package.rglob("*.py")
        if path not in faces and package / "batch" not in path.parents
        for name in _imported_modules(path)
        if name == "ray" or name.startswith(("ray.", "sam2_gradio.batch"))
    ]
    assert importers == []
    assert "ray" in _imported_modules(package / "batch" / "ray_pool.py")  # the scan sees an import
