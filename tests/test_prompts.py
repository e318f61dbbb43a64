"""Prompt state: edits, undo, JSON round trip in the documented schema, and every validation error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sam2_gradio.engine.prompts import (
    PromptState,
    PromptStateError,
    VideoMeta,
    load_prompt_state,
    prompt_state_from_dict,
)

VIDEO = VideoMeta(num_frames=30, width=64, height=48, fps=25.0)


def _state() -> PromptState:
    state = PromptState(video=VIDEO)
    state.add_click(0, 1, 10, 12, 1)
    state.add_click(0, 1, 20, 5.5, 0)
    state.add_click(7, 2, 63, 47, 1)
    return state


def test_round_trip_keeps_clicks_and_uses_the_documented_schema(tmp_path: Path):
    path = _state().save(tmp_path / "interactive_state.json")
    data = json.loads(path.read_text())
    assert data["version"] == 1
    assert data["video"] == {"num_frames": 30, "width": 64, "height": 48, "fps": 25.0}
    assert data["clicks"] == {
        "0": {"1": {"points": [[10.0, 12.0], [20.0, 5.5]], "labels": [1, 0]}},
        "7": {"2": {"points": [[63.0, 47.0]], "labels": [1]}},
    }
    loaded = load_prompt_state(path, VIDEO)
    assert loaded.to_dict() == _state().to_dict()
    assert loaded.prompted_frames() == [0, 7]
    assert loaded.prompted_objects() == [1, 2]


def test_video_entry_is_optional_on_load():
    state = prompt_state_from_dict(
        {"version": 1, "clicks": {"3": {"4": {"points": [[1, 2]], "labels": [1]}}}}
    )
    assert state.video is None
    assert state.clicks_on(3)[4].points == [(1.0, 2.0)]


def test_undo_removes_the_latest_click_anywhere():
    state = _state()
    assert state.undo_last_click() == (7, 2)
    assert state.prompted_frames() == [0]
    assert state.undo_last_click() == (0, 1)
    assert state.clicks_on(0)[1].labels == [1]
    state.undo_last_click()
    assert state.undo_last_click() is None
    assert state.clicks == {}


def test_clear_remove_and_reset():
    state = _state()
    state.clear_clicks(0, 1)
    assert state.prompted_frames() == [7]
    assert state.undo_last_click() == (7, 2)  # the cleared clicks are gone from the undo history too
    state = _state()
    state.remove_object(1)
    assert state.object_ids == [2] and state.prompted_frames() == [7]
    assert state.add_object() == 3
    state.reset()
    assert state.object_ids == [] and state.clicks == {} and state.next_object_id() == 1


@pytest.mark.parametrize(
    ("click", "message"),
    [
        ((0, 1, 64, 10, 1), r"point \(64, 10\) is outside the 64x48 frame"),
        ((0, 1, -1, 10, 1), r"point \(-1, 10\)"),
        ((30, 1, 5, 5, 1), "frame 30 is outside the video"),
        ((0, 1, 5, 5, 2), "label must be 1"),
        ((0, 1, float("nan"), 5, 1), "finite"),
    ],
)
def test_bad_clicks_are_refused_and_change_nothing(click, message):
    state = _state()
    before = state.to_dict()
    with pytest.raises(PromptStateError, match=message):
        state.add_click(*click)
    assert state.to_dict() == before


def _with_clicks(clicks, **extra) -> dict:
    return {
        "version": 1,
        "video": {"num_frames": 30, "width": 64, "height": 48, "fps": 25},
        "clicks": clicks,
        **extra,
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be a JSON object"),
        ({"version": 2, "clicks": {}}, "unsupported prompt state version 2"),
        ({"clicks": {}}, "unsupported prompt state version None"),
        (
            _with_clicks({"0": {"1": {"points": [[70, 3]], "labels": [1]}}}),
            r"clicks\['0'\]\['1'\].*\(70, 3\)",
        ),
        (_with_clicks({"0": {"1": {"points": [[1, 3]], "labels": [5]}}}), "unknown label 5"),
        (_with_clicks({"0": {"1": {"points": [[1, 3]], "labels": [True]}}}), "unknown label True"),
        (_with_clicks({"31": {"1": {"points": [[1, 3]], "labels": [1]}}}), "frame 31 is outside the video"),
        (_with_clicks({"x": {"1": {"points": [[1, 3]], "labels": [1]}}}), "frame 'x' is not an integer"),
        (
            _with_clicks({"-2": {"1": {"points": [[1, 3]], "labels": [1]}}}),
            "frame '-2' is not a non-negative",
        ),
        (_with_clicks({"0": {"one": {"points": [[1, 3]], "labels": [1]}}}), "object id on frame 0 'one'"),
        (_with_clicks({"0": {"1": {"points": [[1, 3]], "labels": []}}}), "same length"),
        (_with_clicks({"0": {"1": {"points": [[1]], "labels": [1]}}}), r"point \[1\] is not a pair"),
        (_with_clicks({"0": {"1": {"points": [["a", 2]], "labels": [1]}}}), "is not a pair of numbers"),
        (_with_clicks({"0": {"1": [1, 2]}}), "expected an object with 'points' and 'labels'"),
        (_with_clicks([]), "'clicks' must map frame numbers"),
        ({"version": 1, "video": {"width": 3}, "clicks": {}}, "'video' entry is incomplete"),
    ],
)
def test_invalid_state_names_the_offending_entry(data, message):
    with pytest.raises(PromptStateError, match=message):
        prompt_state_from_dict(data, VIDEO)


def test_state_for_another_video_is_refused():
    data = _state().to_dict()
    other = VideoMeta(num_frames=31, width=64, height=48, fps=25.0)
    with pytest.raises(
        PromptStateError, match="saved for another video: its num_frames is 30, this video's is 31"
    ):
        prompt_state_from_dict(data, other)


def test_malformed_json_gives_line_and_column(tmp_path: Path):
    path = tmp_path / "state.json"
    path.write_text('{"version": 1,\n "clicks": {')
    with pytest.raises(PromptStateError, match=r"not valid JSON: .* line 2, column 13"):
        load_prompt_state(path)


def test_missing_and_binary_state_files(tmp_path: Path):
    with pytest.raises(PromptStateError, match="does not exist"):
        load_prompt_state(tmp_path / "nope.json")
    binary = tmp_path / "state.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(PromptStateError, match="state.json is not UTF-8 text"):
        load_prompt_state(binary)
