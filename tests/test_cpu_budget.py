"""The CPU-time budget of reading one untrusted input (issue 25, item 4): state files with RLE masks, masks
zips and folders, DAVIS palette PNGs, objects and keyframe files stop with one sentence once they have
taken `config.MAX_PARSE_CPU_SECONDS` of the reading thread's CPU, checked during the work, and each
thread has its own budget.

Fake clocks make the budgets deterministic: `WorkClock` is a CPU that advances only when a named piece of
work (one RLE string, one PNG decoded) is done, so a test counts how much of the input was touched.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from sam2_gradio import config
from sam2_gradio.app import compose_actions
from sam2_gradio.app.sessions import SessionStore
from sam2_gradio.compositor.layers import plan_layers
from sam2_gradio.compositor.motion import load_keyframes
from sam2_gradio.compositor.options import ComposeOptions
from sam2_gradio.cpu_budget import check_parse_budget, parse_budget
from sam2_gradio.engine.tracking.prompts import load_prompt_state
from sam2_gradio.errors import BadInput
from sam2_gradio.media import mask_files, rle
from sam2_gradio.media.mask_files import indexed_mask_name, load_mask_set, per_object_mask_name
from sam2_gradio.media.rle import CompressedRle

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class TickingClock:
    """A CPU clock that advances one second each time it is read; `reads` counts the reads."""

    def __init__(self) -> None:
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return float(self.reads - 1)


class WorkClock:
    """A CPU clock reading the number of calls made so far to `module.name` (one second each)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> None:
        self.done = 0
        original = getattr(module, name)

        def counted(*args, **kwargs):
            self.done += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)

    def __call__(self) -> float:
        return float(self.done)


def masks_zip(path: Path, entries: int) -> Path:
    """A zip of `entries` per-object 8x8 mask PNGs of object 1, one per frame."""
    png = cv2.imencode(".png", np.full((8, 8), 255, np.uint8))[1].tobytes()
    with zipfile.ZipFile(path, "w") as archive:
        for frame in range(entries):
            archive.writestr(f"per_object/{per_object_mask_name(frame, 1)}", png)
    return path


def davis_folder(folder: Path, frames: int) -> Path:
    """A folder of `frames` DAVIS palette PNGs, 8x8, holding objects 1 and 2."""
    folder.mkdir()
    labels = np.zeros((8, 8), np.uint8)
    labels[:4], labels[4:, :4] = 1, 2
    for frame in range(frames):
        mask_files.save_indexed_png(folder / indexed_mask_name(frame), labels)
    return folder


def state_file(path: Path, masks: int) -> Path:
    """A valid state file of `masks` painted 64x48 masks (object 1 on frames 0, 1, ...), as COCO RLE."""
    mask = np.zeros((48, 64), bool)
    mask[10:30, 5:40] = True
    entry = {"mask": CompressedRle.from_mask(mask).to_coco()}
    clicks = {str(frame): {"1": entry} for frame in range(masks)}
    path.write_text(json.dumps({"version": 1, "clicks": clicks}))
    return path


# --- the guard itself --------------------------------------------------------------------------------
def test_a_spent_budget_is_one_sentence_naming_the_input_and_the_limit():
    clock = TickingClock()
    with parse_budget("masks m.zip", seconds=2, clock=clock):
        check_parse_budget()  # 1 s
        check_parse_budget()  # 2 s: not more than the budget
        with pytest.raises(BadInput, match=r"^masks m\.zip took more than 2 s of CPU to read; [^.]*$"):
            check_parse_budget()  # 3 s


def test_without_an_open_budget_a_check_costs_nothing_and_never_raises():
    check_parse_budget()


def test_a_budget_opened_inside_another_goes_on_counting_the_outer_one():
    clock = TickingClock()
    with parse_budget("objects file o.json", seconds=3, clock=clock):
        check_parse_budget()
        with parse_budget("keyframe file k.json", seconds=1000):  # part of the objects file's budget
            check_parse_budget()
            check_parse_budget()
            with pytest.raises(BadInput, match=r"^objects file o\.json took more than 3 s"):
                check_parse_budget()


def test_time_spent_waiting_is_not_charged_only_cpu_time():
    with parse_budget("state file s.json", seconds=0.05):
        time.sleep(0.15)  # waiting for the model lock or another request costs no CPU
        check_parse_budget()
        start = time.thread_time()
        while time.thread_time() - start < 0.06:  # busy: CPU time
            pass
        with pytest.raises(BadInput, match="took more than 0.05 s of CPU"):
            check_parse_budget()


def test_each_thread_has_its_own_budget(tmp_path):
    """A request whose budget is spent does not stop another session's request running meanwhile."""
    zipped = masks_zip(tmp_path / "m.zip", 20)
    opened, other_done = threading.Event(), threading.Event()
    outcome: list[str] = []

    def spent_request() -> None:
        with parse_budget("state file big.json", seconds=1, clock=lambda: 99.0 * opened.is_set()):
            opened.set()
            other_done.wait(30)
            try:
                check_parse_budget()
            except BadInput as error:
                outcome.append(str(error))

    thread = threading.Thread(target=spent_request)
    thread.start()
    opened.wait(30)
    assert load_mask_set(zipped).object_ids == (1,)  # this thread's own budget, not the spent one
    other_done.set()
    thread.join(30)
    assert outcome and outcome[0].startswith("state file big.json took more than 1 s")


# --- wired into the parsers ------------------------------------------------------------------------------
def test_a_masks_zip_stops_at_the_entry_where_its_budget_runs_out(tmp_path):
    zipped = masks_zip(tmp_path / "m.zip", 200)
    clock = TickingClock()
    with parse_budget("masks m.zip", seconds=10, clock=clock):
        pytest.raises(BadInput, load_mask_set, zipped).match("more than 10 s")
    assert clock.reads <= 12  # the 11th check refused it: the other 189 entries were never looked at


def test_davis_palette_pngs_stop_decoding_once_the_budget_is_spent(tmp_path, monkeypatch):
    folder = davis_folder(tmp_path / "davis", 40)
    decoded = WorkClock(monkeypatch, mask_files, "decode_labels")  # one second of CPU per PNG decoded
    with parse_budget("masks davis", seconds=5, clock=decoded):
        pytest.raises(BadInput, load_mask_set, folder).match("more than 5 s")
    assert decoded.done == 6  # the check before the 7th PNG refused it: 34 of 40 were never decoded


def test_a_state_file_stops_decoding_its_rle_masks_once_the_budget_is_spent(tmp_path, monkeypatch):
    path = state_file(tmp_path / "s.json", 50)
    decoded = WorkClock(monkeypatch, rle, "string_to_counts")  # one second of CPU per RLE string
    with parse_budget("state file s.json", seconds=5, clock=decoded):
        refusal = pytest.raises(BadInput, load_prompt_state, path)
    refusal.match(r"^state file s\.json took more than 5 s of CPU")
    assert decoded.done <= 8  # a few of the 50 masks were decoded (each decode counts 1 s), not all


def test_an_objects_file_and_its_keyframe_files_share_one_budget(tmp_path):
    keys = tmp_path / "k.json"
    keys.write_text(json.dumps([{"frame": frame, "x": frame} for frame in range(30)]))
    objects = tmp_path / "o.json"
    objects.write_text(json.dumps([{"id": 1, "keyframes": "k.json"}, {"id": 2}]))
    options = ComposeOptions(objects_file=str(objects), placement="relocate")
    assert len(plan_layers((1, 2), options)) == 2  # the default budget lets it in
    clock = TickingClock()
    with parse_budget("objects file o.json", seconds=10, clock=clock), pytest.raises(BadInput):
        plan_layers((1, 2), options)
    assert clock.reads <= 12  # stopped among the 30 keyframes of the first object's file
    with parse_budget("keyframe file k.json", seconds=10, clock=TickingClock()), pytest.raises(BadInput):
        load_keyframes(keys)


@pytest.mark.parametrize("kind", ["zip", "davis folder", "state file"])
def test_with_a_tiny_budget_a_valid_input_is_refused_and_with_the_default_read(tmp_path, monkeypatch, kind):
    path = {
        "zip": lambda: masks_zip(tmp_path / "m.zip", 300),
        "davis folder": lambda: davis_folder(tmp_path / "davis", 100),
        "state file": lambda: state_file(tmp_path / "s.json", 200),
    }[kind]()
    read = load_prompt_state if kind == "state file" else load_mask_set
    assert read(path) is not None  # the default budget (real CPU clock) reads it
    monkeypatch.setattr(config, "MAX_PARSE_CPU_SECONDS", 1e-5)
    with pytest.raises(BadInput, match=rf"{path.name} took more than 1e-05 s of CPU to read"):
        read(path)


def test_the_compose_tab_refuses_masks_over_the_budget_in_one_sentence(tmp_path, monkeypatch):
    zipped = masks_zip(tmp_path / "m.zip", 300)
    session = SessionStore(tmp_path / "sessions").get("tab")
    monkeypatch.setattr(config, "MAX_PARSE_CPU_SECONDS", 1e-5)
    with pytest.raises(BadInput, match=r"^masks m\.zip took more than 1e-05 s of CPU to read"):
        compose_actions.mask_objects(session, zipped)


def test_a_compose_request_reads_its_masks_and_holdout_masks_in_one_budget(tmp_path, monkeypatch, make_video):
    """Masks and holdout masks of 5 PNGs each fit a budget of 8 s alone (5 s each), not together."""
    video = make_video("v.mp4", 2)
    masks, holdouts = davis_folder(tmp_path / "masks", 5), davis_folder(tmp_path / "holdouts", 5)
    decoded = WorkClock(monkeypatch, mask_files, "decode_labels")  # one second of CPU per PNG decoded
    request_budget = functools.partial(parse_budget, seconds=8, clock=decoded)
    monkeypatch.setattr(compose_actions, "parse_budget", request_budget)  # the request's own budget
    sessions = SessionStore(tmp_path / "sessions")
    inputs = compose_actions.ComposeInputs(video, masks, video)
    assert compose_actions.check_inputs(sessions.get("a"), inputs, ComposeOptions()).holdouts is None
    with request_budget("holdouts alone"):
        assert load_mask_set(holdouts).object_ids == (1, 2)
    with_holdouts = ComposeOptions(holdout_mask=str(holdouts))
    with pytest.raises(BadInput, match=r"^this request's masks, [^.]* took more than 8 s of CPU to read; "):
        compose_actions.check_inputs(sessions.get("b"), inputs, with_holdouts)
    assert decoded.done == 5 + 5 + 9  # the request stopped before its 10th PNG (9 s > 8 s): 1 never decoded


def test_the_compose_cli_takes_the_budget_from_its_variable_and_answers_in_one_line(tmp_path, make_video):
    video = make_video("v.mp4", 2)
    zipped = masks_zip(tmp_path / "m.zip", 300)
    code = (
        "from sam2_gradio.cli import compose\n"
        f"print('EXIT', compose.main(['--bg', {str(video)!r}, '--obj', {str(video)!r}, '--mask', "
        f"{str(zipped)!r}, '--out', {str(tmp_path / 'out.mp4')!r}]))\n"
    )
    environment = {**os.environ, "SAM2_GRADIO_MAX_PARSE_CPU_SECONDS": "0.00001"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, env=environment
    )
    assert "EXIT 2" in result.stdout
    assert result.stderr.strip().count("\n") == 0 and "m.zip took more than 1e-05 s of CPU" in result.stderr
    assert not (tmp_path / "out.mp4").exists()
