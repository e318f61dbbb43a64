"""Prompt state: edits, undo, JSON round trip in the documented schema, and every validation error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from sam2_gradio import config
from sam2_gradio.engine.tracking.prompts import (
    PromptState,
    VideoMeta,
    load_prompt_state,
    prompt_state_from_dict,
)
from sam2_gradio.errors import PromptStateError

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


def test_undo_takes_back_the_latest_edit_anywhere_and_redo_makes_it_again():
    state = _state()
    assert state.undo() == [7]
    assert state.prompted_frames() == [0] and state.object_ids == [1]  # object 2 came with its click
    assert state.undo() == [0]
    assert state.clicks_on(0)[1].labels == [1]
    assert state.redo() == [0] and state.redo() == [7]
    assert state.to_dict() == _state().to_dict()
    assert state.redo() is None
    state.undo()
    state.add_click(3, 1, 1, 1, 1)  # a new edit ends what could be redone
    assert state.redo() is None
    for _ in range(3):
        state.undo()
    assert state.undo() is None and state.clicks == {}


def test_clear_remove_new_object_and_reset_are_undone_each_as_one_step():
    state = _state()
    state.clear_clicks(0, 1)
    assert state.prompted_frames() == [7]
    assert state.undo() == [0]  # the cleared clicks come back, not another object's click
    assert state.to_dict() == _state().to_dict()
    state.remove_object(1)
    assert state.object_ids == [2] and state.prompted_frames() == [7]
    assert state.add_object() == 3
    state.reset()
    assert state.clicks == {} and state.object_ids == []
    assert state.undo() == [7] and state.object_ids == [2, 3]
    assert state.undo() == [] and state.object_ids == [2]  # the new object, which had no prompt
    assert state.undo() == [0] and state.to_dict() == _state().to_dict()


def test_the_first_object_a_page_offers_is_not_an_edit():
    state = _state()
    state.reset()
    state.ensure_an_object()
    assert state.object_ids == [1]
    assert state.undo() == [0, 7] and state.to_dict() == _state().to_dict()  # the reset, not object 1


def test_an_edit_that_changes_nothing_or_fails_records_no_step():
    state = _state()
    state.clear_clicks(5, 1)  # no prompt there
    with pytest.raises(PromptStateError):
        state.add_click(0, 1, 99, 5, 1)
    assert state.undo() == [7]


def test_a_loaded_state_replaces_the_prompts_as_one_step():
    state = _state()
    loaded = prompt_state_from_dict(
        {"version": 1, "clicks": {"4": {"3": {"points": [[2, 2]], "labels": [0]}}}}
    )
    state.replace_with(loaded)
    assert state.prompted_frames() == [4] and state.object_ids == [3]
    assert state.undo() == [0, 4, 7] and state.to_dict() == _state().to_dict()


def test_undo_history_is_bounded(monkeypatch):
    state = PromptState(video=VIDEO)
    state.history.limit = 3
    for x in range(5):
        state.add_click(0, 1, x, 0, 1)
    while state.undo() is not None:
        pass
    assert state.clicks_on(0)[1].points == [(0.0, 0.0), (1.0, 0.0)]


def test_loaded_objects_are_listed_in_id_order():
    clicks = {
        "0": {"2": {"points": [[1, 1]], "labels": [1]}},
        "1": {"1": {"points": [[1, 1]], "labels": [1]}},
    }
    state = prompt_state_from_dict({"version": 1, "clicks": clicks, "object_ids": [3]})
    assert state.object_ids == [1, 2, 3]


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


# --- boxes, painted masks and names ---------------------------------------------------------------


def _disc_mask(cx: int = 30, cy: int = 20, radius: int = 9) -> np.ndarray:
    yy, xx = np.mgrid[: VIDEO.height, : VIDEO.width]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= radius**2


def _rich_state() -> PromptState:
    state = _state()
    state.set_box(0, 1, (4, 3, 40, 30))
    state.set_mask(9, 2, _disc_mask())
    state.set_name(2, "  the   dog ")
    return state


def test_boxes_masks_and_names_round_trip_in_the_documented_schema(tmp_path: Path):
    path = _rich_state().save(tmp_path / "interactive_state.json")
    data = json.loads(path.read_text())
    assert data["clicks"]["0"]["1"]["box"] == [4.0, 3.0, 40.0, 30.0]
    assert data["clicks"]["0"]["1"]["points"] == [[10.0, 12.0], [20.0, 5.5]]  # the box keeps the clicks
    mask_entry = data["clicks"]["9"]["2"]["mask"]
    assert mask_entry["size"] == [48, 64]
    decoded = coco_mask.decode({"size": mask_entry["size"], "counts": mask_entry["counts"].encode()})
    assert np.array_equal(decoded.astype(bool), _disc_mask())
    assert data["names"] == {"2": "the dog"}
    loaded = load_prompt_state(path, VIDEO)
    assert loaded.to_dict() == data
    assert loaded.prompted_frames() == [0, 7, 9]
    assert np.array_equal(loaded.clicks_on(9)[2].mask.to_mask(), _disc_mask())
    assert loaded.display_name(2) == "the dog" and loaded.display_name(1) == "object 1"
    assert loaded.undo() is None


def test_a_box_alone_prompts_an_object():
    state = prompt_state_from_dict(_with_clicks({"3": {"4": {"box": [1, 2, 30, 40]}}}), VIDEO)
    assert state.prompted_objects() == [4]
    assert state.clicks_on(3)[4].box == (1.0, 2.0, 30.0, 40.0) and state.clicks_on(3)[4].points == []


def test_a_mask_replaces_clicks_and_box_and_undo_brings_them_back():
    state = _state()
    state.set_box(0, 1, (4, 3, 40, 30))
    before = state.clicks_on(0)[1].copy()
    state.set_mask(0, 1, _disc_mask())
    entry = state.clicks_on(0)[1]
    assert entry.points == [] and entry.box is None and entry.mask is not None
    with pytest.raises(PromptStateError, match="painted mask on frame 0.*clear it before adding a click"):
        state.add_click(0, 1, 5, 5, 1)
    with pytest.raises(PromptStateError, match="clear it before adding a box"):
        state.set_box(0, 1, (1, 1, 5, 5))
    assert state.undo() == [0]
    assert state.clicks_on(0)[1] == before
    assert state.undo() == [0]  # the box
    assert state.clicks_on(0)[1].box is None and len(state.clicks_on(0)[1].points) == 2


def test_undo_of_a_first_box_removes_the_entry_and_clear_removes_a_mask():
    state = PromptState(video=VIDEO)
    state.set_box(5, 3, (0, 0, 64, 48))  # the whole frame is a valid box
    assert state.undo() == [5]
    assert state.clicks == {}
    state.set_mask(6, 3, _disc_mask())
    state.clear_clicks(6, 3)
    assert state.clicks == {} and state.undo() == [6] and state.clicks_on(6)[3].mask is not None


def test_names_are_removed_with_their_object_and_by_reset():
    state = _rich_state()
    state.set_name(1, "cat")
    state.set_name(1, "")
    assert state.names == {2: "the dog"}
    state.remove_object(2)
    assert state.names == {}
    state.set_name(7, "ball")
    assert 7 in state.object_ids
    state.reset()
    assert state.names == {}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.set_box(0, 1, (10, 5, 3, 20)), r"box \[10, 5, 3, 20\] on frame 0: .*inverted"),
        (lambda s: s.set_box(0, 1, (10, 5, 10, 20)), "empty or inverted"),
        (lambda s: s.set_box(0, 1, (10, 5, 65, 20)), "outside the 64x48 frame"),
        (lambda s: s.set_box(0, 1, (-1, 5, 6, 20)), "outside the 64x48 frame"),
        (lambda s: s.set_box(0, 1, (1, 5, 6)), "four finite numbers"),
        (lambda s: s.set_box(0, 1, (1, 5, 6, float("inf"))), "four finite numbers"),
        (lambda s: s.set_box(30, 1, (1, 5, 6, 9)), "frame 30 is outside the video"),
        (lambda s: s.set_mask(0, 1, np.ones((48, 63), bool)), "the mask is 63x48, the video 64x48"),
        (lambda s: s.set_mask(0, 1, np.zeros((48, 64), bool)), "mask on frame 0 is empty"),
        (lambda s: s.set_name(1, "x" * 41), "limit is 40"),
        (lambda s: s.set_name(1, 3), "must be text"),
    ],
)
def test_bad_boxes_masks_and_names_are_refused_and_change_nothing(edit, message):
    state = _rich_state()
    before = state.to_dict()
    with pytest.raises(PromptStateError, match=message):
        edit(state)
    assert state.to_dict() == before


def _mask_json(mask: np.ndarray) -> dict:
    encoded = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": encoded["size"], "counts": encoded["counts"].decode()}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_with_clicks({"0": {"1": {"box": [5, 5, 2, 9]}}}), r"clicks\['0'\]\['1'\]: .*inverted"),
        (_with_clicks({"2": {"1": {"box": [5, 5, 70, 9]}}}), r"clicks\['2'\]\['1'\]: .*outside the 64x48"),
        (_with_clicks({"0": {"1": {"box": "5 5 9 9"}}}), "four finite numbers"),
        (
            _with_clicks({"0": {"1": {"mask": _mask_json(np.ones((47, 64), bool))}}}),
            r"clicks\['0'\]\['1'\]: mask on frame 0: the mask is 64x47, the video 64x48",
        ),
        (
            _with_clicks({"0": {"1": {"mask": {"size": [48, 64], "counts": "!!"}}}}),
            r"clicks\['0'\]\['1'\]: 'mask' is not a COCO compressed RLE: .*'!'",
        ),
        (
            _with_clicks({"0": {"1": {"mask": {"size": [48, 64], "counts": "0"}}}}),
            "cover 0 pixels, not the 48x64",
        ),
        (
            _with_clicks({"0": {"1": {"points": [[1, 2]], "labels": [1], "mask": _mask_json(_disc_mask())}}}),
            "a mask replaces the clicks and box of its object on its frame",
        ),
        (_with_clicks({}, names={"2": 7}), r"names\['2'\]: name of object 2 must be text"),
        (_with_clicks({}, names={"two": "dog"}), "object id in 'names' 'two' is not an integer"),
        (_with_clicks({}, names=["dog"]), "'names' must map object ids to names"),
        (_with_clicks({"0": {"1": {"labels": [1]}}}), "expected an object with 'points' and 'labels'"),
    ],
)
def test_invalid_boxes_masks_and_names_name_the_offending_entry(data, message):
    with pytest.raises(PromptStateError, match=message):
        prompt_state_from_dict(data, VIDEO)


@pytest.mark.parametrize(
    "entry",
    [
        {"points": [[10**400, 1]], "labels": [1]},  # an integer no float holds: OverflowError before
        {"points": [[1e400, 1]], "labels": [1]},  # JSON's 1e400 is inf
        {"box": [10**400, 1, 2, 3]},
        {"box": [0, 0, float("nan"), 3]},
    ],
)
def test_huge_and_infinite_coordinates_are_bad_input(entry):
    with pytest.raises(PromptStateError, match="finite numbers"):
        prompt_state_from_dict({"version": 1, "clicks": {"0": {"1": entry}}}, VIDEO)


def test_a_click_at_a_huge_integer_is_bad_input():
    with pytest.raises(PromptStateError, match="finite numbers"):
        PromptState(video=VIDEO).add_click(0, 1, 10**400, 1, 1)


def test_the_overflowing_rle_of_issue_25_is_a_prompt_state_error():
    entry = {"mask": {"size": [48, 64], "counts": "oooooooooooo7oooooooooooo7RXh1"}}
    with pytest.raises(PromptStateError, match="'mask' is not a COCO compressed RLE"):
        prompt_state_from_dict({"version": 1, "clicks": {"0": {"1": entry}}}, VIDEO)


@pytest.mark.parametrize("name", ["a\u202egpj.exe", "nul\x00", "bell\x07", "zero\u200bwidth"])
def test_names_with_control_or_direction_characters_are_refused(name):
    with pytest.raises(PromptStateError, match="control or formatting character U\\+"):
        PromptState(video=VIDEO).set_name(1, name)


def test_names_in_other_scripts_are_kept():
    state = PromptState(video=VIDEO)
    state.set_name(1, "כלב 犬 Hund")
    assert state.names[1] == "כלב 犬 Hund"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000, "nests its JSON too deeply"),
        ('{"version": ' + "1" * 5000 + "}", "number too long"),
    ],
)
def test_hostile_json_is_bad_input(tmp_path, text, message):
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(PromptStateError, match=message):
        load_prompt_state(path, VIDEO)


def test_a_state_file_past_the_limit_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "MAX_STATE_FILE_MB", 1)
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 1, "pad": "x" * 2**20}))
    with pytest.raises(PromptStateError, match="larger than 1 MB"):
        load_prompt_state(path, VIDEO)


def test_a_video_entry_with_infinite_sizes_is_refused():
    with pytest.raises(PromptStateError, match="'video' entry is incomplete or not numeric"):
        prompt_state_from_dict(
            {"version": 1, "video": {"num_frames": 1e400, "width": 2, "height": 2, "fps": 1}}
        )
