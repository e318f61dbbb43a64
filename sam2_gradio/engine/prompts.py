"""The clicks a user gave: per frame, per object, positive and negative points.

`PromptState` is what the app edits, what `interactive_state.json` stores and what propagation reads.
Saved and loaded in exactly this schema (extra keys are ignored on load):

    {"version": 1,
     "video": {"num_frames": N, "width": W, "height": H, "fps": F},
     "clicks": {"<frame>": {"<obj_id>": {"points": [[x, y], ...], "labels": [1, 0, ...]}}}}

Coordinates are pixels of the original video; label 1 is positive, 0 negative. `video` is optional on
load and checked against the video when both are known. Every validation error names its entry.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sam2_gradio.jobs import BadInput
from sam2_gradio.media.frames import VideoMeta

SCHEMA_VERSION = 1
POSITIVE, NEGATIVE = 1, 0


class PromptStateError(BadInput):
    """A prompt state (JSON or click) that does not fit the schema or the video."""


@dataclass
class ObjectClicks:
    """The clicks of one object on one frame, in the order they were given."""

    points: list[tuple[float, float]] = field(default_factory=list)  # (x, y) video pixels
    labels: list[int] = field(default_factory=list)  # 1 positive, 0 negative


@dataclass
class PromptState:
    """Clicks per frame per object, the object list and the undo history of one video."""

    video: VideoMeta | None = None  # the video the clicks belong to, when known
    clicks: dict[int, dict[int, ObjectClicks]] = field(default_factory=dict)  # frame -> obj -> clicks
    object_ids: list[int] = field(default_factory=list)  # every object, including ones without clicks
    history: list[tuple[int, int]] = field(default_factory=list)  # (frame, obj) of each click, for undo

    # --- queries -------------------------------------------------------------------------------
    def prompted_frames(self) -> list[int]:
        """Frames that hold at least one click, in ascending order."""
        return sorted(frame for frame, objects in self.clicks.items() if objects)

    def clicks_on(self, frame: int) -> dict[int, ObjectClicks]:
        """The clicks of every object on `frame` (empty when none)."""
        return self.clicks.get(frame, {})

    def prompted_objects(self) -> list[int]:
        """Objects with at least one click anywhere, in object order."""
        clicked = {obj for objects in self.clicks.values() for obj in objects}
        return [obj for obj in self.object_ids if obj in clicked]

    def next_object_id(self) -> int:
        """The id a new object gets: one more than the largest so far (ids start at 1)."""
        return max(self.object_ids, default=0) + 1

    # --- edits ---------------------------------------------------------------------------------
    def add_object(self) -> int:
        """Create a new, click-less object and return its id."""
        obj_id = self.next_object_id()
        self.object_ids.append(obj_id)
        return obj_id

    def add_click(self, frame: int, obj_id: int, x: float, y: float, label: int) -> None:
        """Add a click after checking it against the video; unknown objects are created."""
        self._check_frame(frame, f"click on frame {frame}")
        self._check_point(x, y, f"click ({x}, {y}) on frame {frame}")
        if label not in (POSITIVE, NEGATIVE):
            raise PromptStateError(f"click label must be 1 (positive) or 0 (negative), got {label!r}")
        if obj_id not in self.object_ids:
            self.object_ids.append(obj_id)
        entry = self.clicks.setdefault(frame, {}).setdefault(obj_id, ObjectClicks())
        entry.points.append((float(x), float(y)))
        entry.labels.append(int(label))
        self.history.append((frame, obj_id))

    def undo_last_click(self) -> tuple[int, int] | None:
        """Remove the most recent click; return its (frame, obj_id), or None when there is none."""
        while self.history:
            frame, obj_id = self.history.pop()
            entry = self.clicks.get(frame, {}).get(obj_id)
            if entry and entry.points:
                entry.points.pop()
                entry.labels.pop()
                if not entry.points:
                    self._drop(frame, obj_id)
                return frame, obj_id
        return None

    def clear_clicks(self, frame: int, obj_id: int) -> None:
        """Remove every click of `obj_id` on `frame`."""
        self._drop(frame, obj_id)
        self.history = [step for step in self.history if step != (frame, obj_id)]

    def remove_object(self, obj_id: int) -> None:
        """Remove an object and all its clicks."""
        for frame in list(self.clicks):
            self._drop(frame, obj_id)
        self.object_ids = [obj for obj in self.object_ids if obj != obj_id]
        self.history = [step for step in self.history if step[1] != obj_id]

    def reset(self) -> None:
        """Remove every object and click (the video stays)."""
        self.clicks.clear()
        self.object_ids.clear()
        self.history.clear()

    def _drop(self, frame: int, obj_id: int) -> None:
        objects = self.clicks.get(frame, {})
        objects.pop(obj_id, None)
        if not objects:
            self.clicks.pop(frame, None)

    # --- checks --------------------------------------------------------------------------------
    def _check_frame(self, frame: int, where: str) -> None:
        if frame < 0 or (self.video is not None and frame >= self.video.num_frames):
            limit = f" (the video has {self.video.num_frames} frames)" if self.video else ""
            raise PromptStateError(f"{where}: frame {frame} is outside the video{limit}")

    def _check_point(self, x: float, y: float, where: str) -> None:
        if not (math.isfinite(x) and math.isfinite(y)):
            raise PromptStateError(f"{where}: coordinates must be finite numbers")
        if self.video is None:
            return
        if not (0 <= x < self.video.width and 0 <= y < self.video.height):
            raise PromptStateError(
                f"{where}: point ({x:g}, {y:g}) is outside the {self.video.width}x{self.video.height} frame"
            )

    # --- JSON ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The state in the interactive_state.json schema."""
        data: dict[str, Any] = {"version": SCHEMA_VERSION}
        if self.video is not None:
            data["video"] = {
                "num_frames": self.video.num_frames,
                "width": self.video.width,
                "height": self.video.height,
                "fps": self.video.fps,
            }
        data["clicks"] = {
            str(frame): {
                str(obj): {"points": [list(p) for p in entry.points], "labels": list(entry.labels)}
                for obj, entry in sorted(self.clicks[frame].items())
            }
            for frame in self.prompted_frames()
        }
        data["object_ids"] = list(self.object_ids)
        return data

    def save(self, path: str | Path) -> Path:
        """Write the state as JSON to `path` and return it."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path


def _as_index(key: Any, what: str) -> int:
    try:
        value = int(key)
    except (TypeError, ValueError):
        raise PromptStateError(f"{what} {key!r} is not an integer") from None
    if str(value) != str(key).strip() or value < 0:
        raise PromptStateError(f"{what} {key!r} is not a non-negative integer")
    return value


def _parse_video(data: Any) -> VideoMeta:
    if not isinstance(data, dict):
        raise PromptStateError("'video' must be an object with num_frames, width, height and fps")
    try:
        meta = VideoMeta(int(data["num_frames"]), int(data["width"]), int(data["height"]), float(data["fps"]))
    except (KeyError, TypeError, ValueError) as error:
        raise PromptStateError(f"'video' entry is incomplete or not numeric ({error})") from None
    if meta.num_frames <= 0 or meta.width <= 0 or meta.height <= 0:
        raise PromptStateError(f"'video' entry has non-positive sizes: {data}")
    return meta


def _check_same_video(saved: VideoMeta, actual: VideoMeta) -> None:
    for name in ("num_frames", "width", "height"):
        if getattr(saved, name) != getattr(actual, name):
            raise PromptStateError(
                f"the state was saved for another video: its {name} is {getattr(saved, name)}, "
                f"this video's is {getattr(actual, name)}"
            )


def _parse_object_clicks(entry: Any, where: str) -> list[tuple[float, float, int]]:
    if not isinstance(entry, dict) or "points" not in entry or "labels" not in entry:
        raise PromptStateError(f"{where}: expected an object with 'points' and 'labels'")
    points, labels = entry["points"], entry["labels"]
    if not isinstance(points, list) or not isinstance(labels, list) or len(points) != len(labels):
        raise PromptStateError(f"{where}: 'points' and 'labels' must be lists of the same length")
    parsed = []
    for point, label in zip(points, labels, strict=False):
        if not (
            isinstance(point, list)
            and len(point) == 2
            and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in point)
        ):
            raise PromptStateError(f"{where}: point {point!r} is not a pair of numbers [x, y]")
        if label not in (POSITIVE, NEGATIVE) or isinstance(label, bool):
            raise PromptStateError(f"{where}: unknown label {label!r} (use 1 positive, 0 negative)")
        parsed.append((float(point[0]), float(point[1]), int(label)))
    return parsed


def prompt_state_from_dict(data: Any, video: VideoMeta | None = None) -> PromptState:
    """Validate `data` (the parsed JSON) and build a `PromptState` tied to `video` when given."""
    if not isinstance(data, dict):
        raise PromptStateError("the prompt state must be a JSON object")
    if data.get("version") != SCHEMA_VERSION:
        raise PromptStateError(
            f"unsupported prompt state version {data.get('version')!r} (this program reads version 1)"
        )
    saved_video = _parse_video(data["video"]) if data.get("video") is not None else None
    if saved_video is not None and video is not None:
        _check_same_video(saved_video, video)
    state = PromptState(video=video or saved_video)
    clicks = data.get("clicks", {})
    if not isinstance(clicks, dict):
        raise PromptStateError("'clicks' must map frame numbers to objects")
    for frame_key in sorted(clicks, key=lambda key: (len(str(key)), str(key))):
        frame = _as_index(frame_key, "frame")
        objects = clicks[frame_key]
        if not isinstance(objects, dict):
            raise PromptStateError(f"clicks[{frame_key!r}] must map object ids to clicks")
        for obj_key, entry in objects.items():
            obj_id = _as_index(obj_key, f"object id on frame {frame}")
            where = f"clicks[{frame_key!r}][{obj_key!r}]"
            for x, y, label in _parse_object_clicks(entry, where):
                try:
                    state.add_click(frame, obj_id, x, y, label)
                except PromptStateError as error:
                    raise PromptStateError(f"{where}: {error}") from None
    extra_ids = data.get("object_ids", [])
    if isinstance(extra_ids, list):
        for obj_id in extra_ids:
            if isinstance(obj_id, int) and obj_id >= 0 and obj_id not in state.object_ids:
                state.object_ids.append(obj_id)
    return state


def load_prompt_state(path: str | Path, video: VideoMeta | None = None) -> PromptState:
    """Read and validate an interactive_state.json file (see `prompt_state_from_dict`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptStateError(f"state file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise PromptStateError(f"state file {path} cannot be read as text ({error})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise PromptStateError(
            f"state file {path.name} is not valid JSON: {error.msg} at line {error.lineno}, "
            f"column {error.colno}"
        ) from None
    return prompt_state_from_dict(data, video)
