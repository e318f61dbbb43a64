"""The Segment tab's timeline strip: ticks, tracked bars and cursor where the slider's thumb would be."""

from __future__ import annotations

import pytest
from timeline_support import Marks, style_percent

from sam2_gradio.app.timeline import TimelineObject, frame_ranges, timeline_html


def obj(obj_id: int, frames: list[int], label: str = "", color: str = "#123456") -> TimelineObject:
    return TimelineObject(obj_id, label or f"Object {obj_id}", color, frames)


def test_ticks_sit_where_the_slider_thumb_is_for_their_frame():
    num_frames = 90  # a slider from 0 to 89: frame f at f / 89 of the track
    markup = timeline_html(num_frames, [obj(1, [0, 30, 89]), obj(2, [45])], {}, current_frame=60)
    rows = Marks(markup).rows()
    for obj_id, frames in ((1, [0, 30, 89]), (2, [45])):
        ticks = rows[obj_id]["ticks"]
        assert [int(tick["data-frame"]) for tick in ticks] == frames
        for tick, frame in zip(ticks, frames, strict=True):
            assert style_percent(tick, "left") == pytest.approx(frame / 89 * 100, abs=0.001)
    (cursor,) = Marks(markup).of_class("tl-cursor")
    assert style_percent(cursor, "left") == pytest.approx(60 / 89 * 100, abs=0.001)


def test_each_row_has_its_colour_and_its_name_on_hover():
    markup = timeline_html(10, [obj(1, [], "Object 1 · a <dog>", "#ff8800"), obj(3, [2])], {}, 0)
    rows = Marks(markup).rows()
    assert list(rows) == [1, 3]
    (row,) = rows[1]["row"]
    assert "--tl-color:#ff8800" in row["style"] and row["title"] == "Object 1 · a <dog>"
    assert "<dog>" not in markup  # escaped
    assert rows[3]["ticks"][0]["title"] == "Object 3: prompt on frame 2"


def test_tracked_frames_become_merged_bars_covering_their_frame_cells():
    num_frames = 101  # frame f at f %
    tracked = {1: range(20, 61), 2: [5, 6, 7, 50, 52, 51, 100]}
    rows = Marks(timeline_html(num_frames, [obj(1, [20]), obj(2, [5])], tracked, 0)).rows()
    (bar,) = rows[1]["bars"]
    assert (bar["data-first"], bar["data-last"]) == ("20", "60")
    assert style_percent(bar, "left") == pytest.approx(19.5)  # half a frame before frame 20
    assert style_percent(bar, "width") == pytest.approx(41)  # to half a frame after frame 60
    spans = [(int(bar["data-first"]), int(bar["data-last"])) for bar in rows[2]["bars"]]
    assert spans == [(5, 7), (50, 52), (100, 100)]
    last = rows[2]["bars"][-1]
    assert style_percent(last, "left") + style_percent(last, "width") == pytest.approx(100)  # clipped


def test_a_long_video_tracked_whole_costs_one_bar_per_object():
    num_frames = 18_000
    objects = [obj(obj_id, [0, 17_999]) for obj_id in (1, 2, 3)]
    markup = timeline_html(num_frames, objects, dict.fromkeys((1, 2, 3), range(num_frames)), 9_000)
    marks = Marks(markup)
    assert len(marks.of_class("tl-bar")) == 3 and len(marks.of_class("tl-tick")) == 6
    assert len(marks.elements) == 1 + 3 + 3 + 6 + 1  # strip, rows, bars, ticks, cursor
    assert len(markup) < 2_000


def test_no_video_or_no_object_draws_nothing_and_a_one_frame_video_puts_everything_at_the_start():
    assert timeline_html(0, [obj(1, [])], {}, 0) == ""
    assert timeline_html(10, [], {}, 0) == ""
    rows = Marks(timeline_html(1, [obj(1, [0])], {1: range(1)}, 0)).rows()
    assert style_percent(rows[1]["ticks"][0], "left") == 0
    assert style_percent(rows[1]["bars"][0], "left") == 0


def test_frame_ranges_merges_runs_of_consecutive_frames():
    assert frame_ranges([]) == []
    assert frame_ranges([3, 1, 2, 2, 7, 9, 8, 12]) == [range(1, 4), range(7, 10), range(12, 13)]
    assert frame_ranges(range(5, 18_000)) == [range(5, 18_000)]
