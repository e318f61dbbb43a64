"""The Segment tab's per-object timeline: where the prompts are and which frames were tracked.

`timeline_html` draws one thin row per object, in the object's colour, under the frame slider: a tick at
every frame holding a prompt of the object, a lighter bar over the frames the latest propagation tracked
for it, and a cursor line at the shown frame. Frame f sits at f / (n - 1) of the strip's width, as the
slider's thumb does (the page aligns the strip with the slider's track, `assets.TIMELINE_JS`); a tracked
bar covers its frames' cells, half a frame either side of the first and last. Consecutive tracked frames
are merged into one bar, so a long video costs a few elements, not one per frame.

Pure presentation: plain values in, an HTML string out (no gradio).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TimelineObject:
    """One object's row: who it is, its colour and where its prompts are."""

    obj_id: int
    label: str  # what hovering the row says, e.g. "Object 2 · dog"
    color: str  # CSS colour of its masks, "#rrggbb"
    prompted_frames: Sequence[int]  # frames holding a click, box or painted mask of the object


def frame_ranges(frames: Iterable[int]) -> list[range]:
    """`frames` as the fewest ranges of consecutive frames, in ascending order (duplicates ignored)."""
    if isinstance(frames, range) and frames.step == 1:  # what propagation gives: already one run
        return [frames] if frames else []
    ranges: list[range] = []
    for frame in sorted(set(frames)):
        if ranges and ranges[-1].stop == frame:
            ranges[-1] = range(ranges[-1].start, frame + 1)
        else:
            ranges.append(range(frame, frame + 1))
    return ranges


def frame_position(frame: float, num_frames: int) -> float:
    """Where `frame` sits on the strip, as a fraction of its width: as the slider's thumb, 0 to 1
    over frames 0 to n - 1 (a one-frame video's slider runs 0 to 1)."""
    return min(max(frame / max(num_frames - 1, 1), 0.0), 1.0)


def timeline_html(
    num_frames: int,
    objects: Sequence[TimelineObject],
    tracked: Mapping[int, Iterable[int]],
    current_frame: int,
) -> str:
    """The timeline strip for a video of `num_frames` frames (empty string without frames).

    `tracked` gives, per object id, the frames the latest propagation tracked for it (a range or any
    iterable of frame indices; objects missing from it have no bar). Each tick carries its frame in
    `data-frame`, each bar its first and last frames in `data-first` and `data-last`.
    """
    if num_frames <= 0 or not objects:
        return ""
    rows = "".join(_row(obj, frame_ranges(tracked.get(obj.obj_id, ())), num_frames) for obj in objects)
    cursor = _percent(frame_position(current_frame, num_frames))
    return (
        f'<div class="seg-timeline" data-frames="{num_frames}">{rows}'
        f'<span class="tl-cursor" style="left:{cursor}" title="frame {current_frame}"></span></div>'
    )


def _row(obj: TimelineObject, tracked: list[range], num_frames: int) -> str:
    label = html.escape(obj.label, quote=True)
    bars = "".join(_bar(span, num_frames, label) for span in tracked)
    ticks = "".join(
        f'<span class="tl-tick" data-frame="{frame}"'
        f' style="left:{_percent(frame_position(frame, num_frames))}"'
        f' title="{label}: prompt on frame {frame}"></span>'
        for frame in sorted(set(obj.prompted_frames))
    )
    return (
        f'<div class="tl-row" data-object="{obj.obj_id}" style="--tl-color:{html.escape(obj.color)}"'
        f' title="{label}">{bars}{ticks}</div>'
    )


def _bar(span: range, num_frames: int, label: str) -> str:
    first, last = span.start, span.stop - 1
    left = frame_position(first - 0.5, num_frames)
    right = frame_position(last + 0.5, num_frames)
    return (
        f'<span class="tl-bar" data-first="{first}" data-last="{last}"'
        f' style="left:{_percent(left)};width:{_percent(right - left)}"'
        f' title="{label}: tracked over frames {first}–{last}"></span>'
    )


def _percent(fraction: float) -> str:
    """`fraction` of the width as a CSS percentage, to a thousandth of a percent."""
    return f"{fraction * 100:.3f}".rstrip("0").rstrip(".") + "%"
