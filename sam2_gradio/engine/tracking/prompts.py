"""The prompts a user gave: per frame, per object, clicks, a box or a painted mask; and object names.

`PromptState` is what the app edits, what `interactive_state.json` stores and what propagation reads.
Saved and loaded in exactly this schema (extra keys are ignored on load):

    {"version": 1,
     "video": {"num_frames": N, "width": W, "height": H, "fps": F},
     "clicks": {"<frame>": {"<obj_id>": {"points": [[x, y], ...], "labels": [1, 0, ...],
                                         "box": [x0, y0, x1, y1],
                                         "mask": {"size": [H, W], "counts": "<COCO compressed RLE>"}}}},
     "names": {"<obj_id>": "dog"}}

Coordinates are pixels of the original video; label 1 is positive, 0 negative. `box` (optional) is a
rectangle with x0 < x1 and y0 < y1 inside the frame; SAM 2 gets it with the object's clicks on that
frame. `mask` (optional) is a painted mask at the video's size; as in SAM 2 (`add_new_mask`), a mask
prompt replaces the clicks and box of its object on its frame, so an entry holds either a mask or
clicks and/or a box, never both; an empty mask says the object is not on that frame (`mark_absent`).
`video` and `names` are optional on load; `video` is checked against
the video when both are known. Every validation error names its entry. A state holds at most
`config.MAX_OBJECTS` objects and `config.MAX_CLICKS` prompts (clicks, boxes and masks), with object ids
up to `config.MAX_OBJECT_ID`; anything more is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sam2_gradio import config
from sam2_gradio.cpu_budget import check_parse_budget, parse_budget
from sam2_gradio.errors import BadInput, PromptStateError
from sam2_gradio.limits import check_name_text, finite_float, parse_json, read_bounded
from sam2_gradio.media.atomic import atomic_path
from sam2_gradio.media.frames import VideoMeta
from sam2_gradio.media.rle import CompressedRle

SCHEMA_VERSION = 1
POSITIVE, NEGATIVE = 1, 0


BoxCorners = tuple[float, float, float, float]  # (x0, y0, x1, y1) video pixels


@dataclass
class ObjectClicks:
    """The prompts of one object on one frame: clicks in the order given, a box, or a painted mask.

    A mask replaces clicks and box (SAM 2's `add_new_mask` drops them), so `mask` is never set together
    with `points` or `box`.
    """

    points: list[tuple[float, float]] = field(default_factory=list)  # (x, y) video pixels
    labels: list[int] = field(default_factory=list)  # 1 positive, 0 negative
    box: BoxCorners | None = None  # (x0, y0, x1, y1) video pixels, given with the clicks
    mask: CompressedRle | None = None  # painted mask at the video's size

    def is_empty(self) -> bool:
        """True when the entry holds no click, box or mask."""
        return not self.points and self.box is None and self.mask is None

    def copy(self) -> ObjectClicks:
        """An independent copy (the box and mask are immutable and shared)."""
        return ObjectClicks(list(self.points), list(self.labels), self.box, self.mask)


@dataclass(frozen=True)
class PromptSnapshot:
    """What a `PromptState` held at one moment: its prompts, objects and names (independent copies)."""

    clicks: dict[int, dict[int, ObjectClicks]]  # frame -> obj -> prompts
    object_ids: tuple[int, ...]
    names: dict[int, str]


@dataclass
class EditHistory:
    """One undo history of every edit: the state before each edit, and after each undone one (redo).

    At most `limit` steps are kept (the oldest go first); a limit of 0 records nothing (loading a file).
    """

    limit: int = config.UNDO_STEPS  # steps kept for undo
    undo_steps: list[PromptSnapshot] = field(default_factory=list)  # oldest first
    redo_steps: list[PromptSnapshot] = field(default_factory=list)  # the most recently undone last

    def record(self, before: PromptSnapshot) -> None:
        """Remember the state before a new edit; a new edit ends what could be redone."""
        self.undo_steps.append(before)
        del self.undo_steps[: max(0, len(self.undo_steps) - self.limit)]
        self.redo_steps.clear()

    def can_undo(self) -> bool:
        """True when there is an edit to take back."""
        return bool(self.undo_steps)

    def can_redo(self) -> bool:
        """True when an undone edit can be made again."""
        return bool(self.redo_steps)


@dataclass
class PromptState:
    """Prompts per frame per object, the object list, their names and the undo history of one video.

    Every edit (click, box, mask, clear, new or removed object, name, reset, replacement by a loaded
    state) is one step of `history`: `undo` takes it back and `redo` makes it again. An edit that fails
    its checks changes nothing and records nothing.
    """

    video: VideoMeta | None = None  # the video the prompts belong to, when known
    clicks: dict[int, dict[int, ObjectClicks]] = field(default_factory=dict)  # frame -> obj -> prompts
    object_ids: list[int] = field(default_factory=list)  # every object, including ones without prompts
    names: dict[int, str] = field(default_factory=dict)  # obj -> the name the user gave it
    history: EditHistory = field(default_factory=EditHistory)  # every edit, for undo and redo

    # --- queries -------------------------------------------------------------------------------
    def prompted_frames(self) -> list[int]:
        """Frames that hold at least one click, box or mask, in ascending order."""
        return sorted(frame for frame, objects in self.clicks.items() if objects)

    def clicks_on(self, frame: int) -> dict[int, ObjectClicks]:
        """The prompts of every object on `frame` (empty when none)."""
        return self.clicks.get(frame, {})

    def prompted_objects(self) -> list[int]:
        """Objects with at least one click, box or mask anywhere, in object order."""
        clicked = {obj for objects in self.clicks.values() for obj in objects}
        return [obj for obj in self.object_ids if obj in clicked]

    def next_object_id(self) -> int:
        """The id a new object gets: one more than the largest so far (ids start at 1)."""
        return max(self.object_ids, default=0) + 1

    def display_name(self, obj_id: int) -> str:
        """The object's name, or "object <id>" when it has none."""
        return self.names.get(obj_id) or f"object {obj_id}"

    # --- edits ---------------------------------------------------------------------------------
    def add_object(self) -> int:
        """Create a new, click-less object and return its id."""
        obj_id = self.next_object_id()
        with self._one_edit():
            self._add_object_id(obj_id)
        return obj_id

    def ensure_an_object(self) -> None:
        """Give a state without objects object 1, outside the undo history: a page always offers one
        object to click, and undoing its appearance would take back nothing the user did."""
        if not self.object_ids:
            self._add_object_id(1)

    def add_click(self, frame: int, obj_id: int, x: float, y: float, label: int) -> None:
        """Add a click after checking it against the video; unknown objects are created."""
        self._check_frame(frame, f"click on frame {frame}")
        self._check_point(x, y, f"click ({x}, {y}) on frame {frame}")
        if label not in (POSITIVE, NEGATIVE):
            raise PromptStateError(f"click label must be 1 (positive) or 0 (negative), got {label!r}")
        self._check_no_mask(frame, obj_id, "a click")
        self._check_prompt_count()
        with self._one_edit():
            entry = self._entry(frame, obj_id)
            entry.points.append((float(x), float(y)))
            entry.labels.append(int(label))

    def set_box(self, frame: int, obj_id: int, box: BoxCorners) -> None:
        """Give `obj_id` the box `(x0, y0, x1, y1)` on `frame` (replacing its box there, keeping clicks)."""
        self._check_frame(frame, f"box on frame {frame}")
        corners = self._checked_box(box, f"box {list(box)} on frame {frame}")
        self._check_no_mask(frame, obj_id, "a box")
        self._check_prompt_count()
        with self._one_edit():
            self._entry(frame, obj_id).box = corners

    def set_mask(
        self, frame: int, obj_id: int, mask: np.ndarray | CompressedRle, *, allow_empty: bool = False
    ) -> None:
        """Give `obj_id` a painted mask on `frame` ((H, W) bool or RLE at the video's size).

        The mask replaces the object's clicks and box on that frame (undo brings them back). An empty
        mask is refused unless `allow_empty` (it says the object is not there: `mark_absent`).
        """
        self._check_frame(frame, f"mask on frame {frame}")
        rle = mask if isinstance(mask, CompressedRle) else CompressedRle.from_mask(np.asarray(mask))
        self._check_mask(rle, f"mask on frame {frame}")
        if rle.area() == 0 and not allow_empty:
            raise PromptStateError(
                f"mask on frame {frame} is empty: paint the object, mark it absent here, or clear its prompts"
            )
        self._check_prompt_count()
        with self._one_edit():
            entry = self._entry(frame, obj_id)
            entry.points, entry.labels, entry.box, entry.mask = [], [], None, rle

    def mark_absent(self, frame: int, obj_id: int) -> None:
        """Tell SAM 2 that `obj_id` is not on `frame`: an empty mask prompt, which replaces the object's
        clicks, box or painted mask there (one undoable edit). Needs the video's size (`video`)."""
        if self.video is None:
            raise PromptStateError("marking an object absent needs the video's size: open a video first")
        empty = np.zeros((self.video.height, self.video.width), dtype=bool)
        self.set_mask(frame, obj_id, empty, allow_empty=True)

    def set_name(self, obj_id: int, name: str) -> None:
        """Name an object ("dog"); an empty name removes it. Unknown objects are created."""
        if not isinstance(name, str):
            raise PromptStateError(f"name of object {obj_id} must be text, got {name!r}")
        name = " ".join(name.split())
        try:
            check_name_text(name, f"name of object {obj_id}")
        except BadInput as error:
            raise PromptStateError(str(error)) from None
        if len(name) > config.MAX_OBJECT_NAME_LENGTH:
            raise PromptStateError(
                f"name of object {obj_id} is {len(name)} characters; the limit is "
                f"{config.MAX_OBJECT_NAME_LENGTH}"
            )
        with self._one_edit():
            if obj_id not in self.object_ids:
                self._add_object_id(obj_id)
            if name:
                self.names[obj_id] = name
            else:
                self.names.pop(obj_id, None)

    def clear_clicks(self, frame: int, obj_id: int) -> None:
        """Remove every prompt (clicks, box, mask) of `obj_id` on `frame`."""
        with self._one_edit():
            self._drop(frame, obj_id)

    def remove_object(self, obj_id: int) -> None:
        """Remove an object with all its prompts and its name."""
        with self._one_edit():
            for frame in list(self.clicks):
                self._drop(frame, obj_id)
            self.object_ids = [obj for obj in self.object_ids if obj != obj_id]
            self.names.pop(obj_id, None)

    def reset(self) -> None:
        """Remove every object, prompt and name (the video stays; undo brings them back)."""
        with self._one_edit():
            self.clicks.clear()
            self.object_ids.clear()
            self.names.clear()

    def replace_with(self, other: PromptState) -> None:
        """Take the prompts, objects and names of `other` (a loaded state) as one edit."""
        loaded = other.snapshot()
        with self._one_edit():
            self._restore(loaded)

    # --- undo and redo -------------------------------------------------------------------------
    def undo(self) -> list[int] | None:
        """Take back the latest edit; return the frames whose prompts it changed, or None if none."""
        if not self.history.can_undo():
            return None
        now = self.snapshot()
        before = self.history.undo_steps.pop()
        self.history.redo_steps.append(now)
        self._restore(before)
        return _changed_frames(now.clicks, before.clicks)

    def redo(self) -> list[int] | None:
        """Make the latest undone edit again; return the frames it changed, or None if none."""
        if not self.history.can_redo():
            return None
        now = self.snapshot()
        after = self.history.redo_steps.pop()
        self.history.undo_steps.append(now)
        self._restore(after)
        return _changed_frames(now.clicks, after.clicks)

    def take_back_last_edit(self) -> None:
        """Undo the latest edit for good, leaving nothing to redo (an edit the model could not run)."""
        if self.history.can_undo():
            self._restore(self.history.undo_steps.pop())

    @classmethod
    def from_snapshot(cls, snapshot: PromptSnapshot, video: VideoMeta | None = None) -> PromptState:
        """A state holding `snapshot`'s prompts, objects and names (with no history)."""
        state = cls(video=video)
        state._restore(snapshot)
        return state

    def snapshot(self) -> PromptSnapshot:
        """An independent copy of the prompts, objects and names."""
        clicks = {
            frame: {obj: entry.copy() for obj, entry in objects.items()}
            for frame, objects in self.clicks.items()
        }
        return PromptSnapshot(clicks, tuple(self.object_ids), dict(self.names))

    def _restore(self, snapshot: PromptSnapshot) -> None:
        self.clicks = {
            frame: {obj: entry.copy() for obj, entry in objects.items()}
            for frame, objects in snapshot.clicks.items()
        }
        self.object_ids = list(snapshot.object_ids)
        self.names = dict(snapshot.names)

    @contextmanager
    def _one_edit(self) -> Iterator[None]:
        """Record the edit made inside as one undo step (none when it changed nothing, or failed)."""
        if self.history.limit <= 0:
            yield
            return
        before = self.snapshot()
        try:
            yield
        except BaseException:
            self._restore(before)
            raise
        if before != self.snapshot():
            self.history.record(before)

    def _entry(self, frame: int, obj_id: int) -> ObjectClicks:
        """The entry of `obj_id` on `frame`, created (with the object) if needed."""
        if obj_id not in self.object_ids:
            self._add_object_id(obj_id)
        return self.clicks.setdefault(frame, {}).setdefault(obj_id, ObjectClicks())

    def _drop(self, frame: int, obj_id: int) -> None:
        objects = self.clicks.get(frame, {})
        objects.pop(obj_id, None)
        if not objects:
            self.clicks.pop(frame, None)

    def _add_object_id(self, obj_id: int) -> None:
        """Append a new object id after checking it and the object limit."""
        check_object_id(obj_id)
        if len(self.object_ids) >= config.MAX_OBJECTS:
            raise PromptStateError(f"a video may have at most {config.MAX_OBJECTS} objects")
        self.object_ids.append(obj_id)

    # --- checks --------------------------------------------------------------------------------
    def _check_prompt_count(self) -> None:
        """Refuse one more prompt when the state holds `config.MAX_CLICKS` clicks, boxes and masks."""
        count = sum(
            len(entry.points) + (entry.box is not None) + (entry.mask is not None)
            for objects in self.clicks.values()
            for entry in objects.values()
        )
        if count >= config.MAX_CLICKS:
            raise PromptStateError(f"a video may have at most {config.MAX_CLICKS} clicks, boxes and masks")

    def _check_frame(self, frame: int, where: str) -> None:
        if frame < 0 or (self.video is not None and frame >= self.video.num_frames):
            limit = f" (the video has {self.video.num_frames} frames)" if self.video else ""
            raise PromptStateError(f"{where}: frame {frame} is outside the video{limit}")

    def _check_point(self, x: float, y: float, where: str) -> None:
        try:
            x, y = finite_float(x, "x"), finite_float(y, "y")
        except BadInput:
            raise PromptStateError(f"{where}: coordinates must be finite numbers") from None
        if self.video is None:
            return
        if not (0 <= x < self.video.width and 0 <= y < self.video.height):
            raise PromptStateError(
                f"{where}: point ({x:g}, {y:g}) is outside the {self.video.width}x{self.video.height} frame"
            )

    def _checked_box(self, box: Any, where: str) -> BoxCorners:
        if not (isinstance(box, (list, tuple)) and len(box) == 4):
            raise PromptStateError(f"{where}: a box is four finite numbers [x0, y0, x1, y1]")
        try:
            x0, y0, x1, y1 = (finite_float(c, "a box corner") for c in box)
        except BadInput:
            raise PromptStateError(f"{where}: a box is four finite numbers [x0, y0, x1, y1]") from None
        if not (x0 < x1 and y0 < y1):
            raise PromptStateError(f"{where}: the box is empty or inverted (needs x0 < x1 and y0 < y1)")
        if self.video is not None and not (
            min(x0, y0) >= 0 and x1 <= self.video.width and y1 <= self.video.height
        ):
            raise PromptStateError(
                f"{where}: the box is outside the {self.video.width}x{self.video.height} frame"
            )
        return x0, y0, x1, y1

    def _check_mask(self, rle: CompressedRle, where: str) -> None:
        if self.video is not None and (rle.height, rle.width) != (self.video.height, self.video.width):
            raise PromptStateError(
                f"{where}: the mask is {rle.width}x{rle.height}, "
                f"the video {self.video.width}x{self.video.height}"
            )

    def _check_no_mask(self, frame: int, obj_id: int, what: str) -> None:
        entry = self.clicks.get(frame, {}).get(obj_id)
        if entry is not None and entry.mask is not None:
            raise PromptStateError(
                f"object {obj_id} has a painted mask on frame {frame}, which replaces clicks and boxes "
                f"there: clear it before adding {what}"
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
            str(frame): {str(obj): _entry_to_dict(entry) for obj, entry in sorted(self.clicks[frame].items())}
            for frame in self.prompted_frames()
        }
        data["object_ids"] = list(self.object_ids)
        if self.names:
            data["names"] = {str(obj): name for obj, name in sorted(self.names.items())}
        return data

    def save(self, path: str | Path) -> Path:
        """Write the state as JSON to `path` (atomically, flushed to disk) and return it."""
        path = Path(path)
        with atomic_path(path, fsync=True) as temp:
            temp.write_text(json.dumps(self.to_dict(), indent=2))
        return path


def prompts_key(prompts: PromptState) -> str:
    """A hash of the clicks, boxes and masks of `prompts`: what propagation's masks depend on (names and
    objects without prompts do not count)."""
    text = json.dumps(prompts.to_dict()["clicks"], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _changed_frames(
    before: dict[int, dict[int, ObjectClicks]], after: dict[int, dict[int, ObjectClicks]]
) -> list[int]:
    """The frames whose prompts differ between two `clicks` maps, in ascending order."""
    return sorted(frame for frame in before.keys() | after.keys() if before.get(frame) != after.get(frame))


def _entry_to_dict(entry: ObjectClicks) -> dict[str, Any]:
    data: dict[str, Any] = {"points": [list(p) for p in entry.points], "labels": list(entry.labels)}
    if entry.box is not None:
        data["box"] = list(entry.box)
    if entry.mask is not None:
        data["mask"] = entry.mask.to_coco()
    return data


def box_from_corners(first: tuple[float, float], second: tuple[float, float]) -> BoxCorners:
    """The box `(x0, y0, x1, y1)` whose opposite corners are the points `first` and `second` (any two)."""
    (xa, ya), (xb, yb) = first, second
    return min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb)


def check_object_id(obj_id: int) -> int:
    """`obj_id` when it is an integer from 0 to `config.MAX_OBJECT_ID`, else `PromptStateError`."""
    if isinstance(obj_id, bool) or not isinstance(obj_id, int) or not 0 <= obj_id <= config.MAX_OBJECT_ID:
        raise PromptStateError(f"object id {obj_id!r} is not an integer from 0 to {config.MAX_OBJECT_ID}")
    return obj_id


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
    except (KeyError, TypeError, ValueError, OverflowError) as error:
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
    has_other_prompt = isinstance(entry, dict) and ("box" in entry or "mask" in entry)
    if not isinstance(entry, dict) or (
        ("points" not in entry or "labels" not in entry) and not has_other_prompt
    ):
        raise PromptStateError(f"{where}: expected an object with 'points' and 'labels' (or 'box', 'mask')")
    points, labels = entry.get("points", []), entry.get("labels", [])
    if not isinstance(points, list) or not isinstance(labels, list) or len(points) != len(labels):
        raise PromptStateError(f"{where}: 'points' and 'labels' must be lists of the same length")
    parsed = []
    for point, label in zip(points, labels, strict=False):
        check_parse_budget()
        if not (
            isinstance(point, list)
            and len(point) == 2
            and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in point)
        ):
            raise PromptStateError(f"{where}: point {point!r} is not a pair of numbers [x, y]")
        if label not in (POSITIVE, NEGATIVE) or isinstance(label, bool):
            raise PromptStateError(f"{where}: unknown label {label!r} (use 1 positive, 0 negative)")
        try:
            parsed.append((finite_float(point[0], "x"), finite_float(point[1], "y"), int(label)))
        except BadInput:
            raise PromptStateError(f"{where}: point coordinates must be finite numbers") from None
    return parsed


def prompt_state_from_dict(data: Any, video: VideoMeta | None = None) -> PromptState:
    """Validate `data` (the parsed JSON) and build a `PromptState` tied to `video` when given, in at most
    `config.MAX_PARSE_CPU_SECONDS` of CPU (checked at each object entry, click, RLE mask, id and name)."""
    with parse_budget("prompt state"):
        return _prompt_state_from_dict(data, video)


def _prompt_state_from_dict(data: Any, video: VideoMeta | None) -> PromptState:
    if not isinstance(data, dict):
        raise PromptStateError("the prompt state must be a JSON object")
    if data.get("version") != SCHEMA_VERSION:
        raise PromptStateError(
            f"unsupported prompt state version {data.get('version')!r} (this program reads version 1)"
        )
    saved_video = _parse_video(data["video"]) if data.get("video") is not None else None
    if saved_video is not None and video is not None:
        _check_same_video(saved_video, video)
    state = PromptState(video=video or saved_video, history=EditHistory(limit=0))
    clicks = data.get("clicks", {})
    if not isinstance(clicks, dict):
        raise PromptStateError("'clicks' must map frame numbers to objects")
    for frame_key in sorted(clicks, key=lambda key: (len(str(key)), str(key))):
        frame = _as_index(frame_key, "frame")
        objects = clicks[frame_key]
        if not isinstance(objects, dict):
            raise PromptStateError(f"clicks[{frame_key!r}] must map object ids to clicks")
        for obj_key, entry in objects.items():
            check_parse_budget()
            obj_id = _as_index(obj_key, f"object id on frame {frame}")
            where = f"clicks[{frame_key!r}][{obj_key!r}]"
            try:
                _add_entry(state, frame, obj_id, entry, where)
            except PromptStateError as error:
                raise PromptStateError(f"{where}: {error}") from None
    extra_ids = data.get("object_ids", [])
    if isinstance(extra_ids, list):
        known = set(state.object_ids)  # a set: ids are deduplicated in linear time
        for obj_id in extra_ids:
            check_parse_budget()
            if isinstance(obj_id, int) and not isinstance(obj_id, bool) and obj_id not in known:
                try:
                    state._add_object_id(obj_id)
                except PromptStateError as error:
                    raise PromptStateError(f"'object_ids': {error}") from None
                known.add(obj_id)
    _add_names(state, data.get("names", {}))
    state.object_ids.sort()  # listed in id order, whatever the file's order
    state.history = EditHistory()  # a loaded state starts with nothing to undo
    return state


def _add_entry(state: PromptState, frame: int, obj_id: int, entry: Any, where: str) -> None:
    clicks = _parse_object_clicks(entry, where)
    if entry.get("mask") is not None:
        if clicks or entry.get("box") is not None:
            raise PromptStateError(
                "a mask replaces the clicks and box of its object on its frame: give one or the other"
            )
        check_parse_budget()  # before the RLE string is decoded (``from_coco`` turns errors into messages)
        try:
            rle = CompressedRle.from_coco(entry["mask"])
        except ValueError as error:
            raise PromptStateError(f"'mask' is not a COCO compressed RLE: {error}") from None
        state.set_mask(frame, obj_id, rle, allow_empty=True)  # an empty mask: absent from the frame
    for x, y, label in clicks:
        state.add_click(frame, obj_id, x, y, label)
    if entry.get("box") is not None:
        state.set_box(frame, obj_id, entry["box"])


def _add_names(state: PromptState, names: Any) -> None:
    if not isinstance(names, dict):
        raise PromptStateError("'names' must map object ids to names")
    for obj_key, name in names.items():
        check_parse_budget()
        obj_id = _as_index(obj_key, "object id in 'names'")
        try:
            state.set_name(obj_id, name)
        except PromptStateError as error:
            raise PromptStateError(f"names[{obj_key!r}]: {error}") from None


def load_prompt_state(path: str | Path, video: VideoMeta | None = None) -> PromptState:
    """Read and validate an interactive_state.json file (see `prompt_state_from_dict`; reading and
    validating share one CPU budget)."""
    path = Path(path)
    with parse_budget(f"state file {path.name}"):
        return _load_prompt_state(path, video)


def _load_prompt_state(path: Path, video: VideoMeta | None) -> PromptState:
    try:  # size, then text, then JSON: each checked before the next step's work
        data = read_bounded(path, config.MAX_STATE_FILE_MB * 2**20, "state file")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput(f"state file {path.name} is not UTF-8 text") from None
        parsed = parse_json(text, f"state file {path.name}")
    except BadInput as error:
        raise PromptStateError(str(error)) from None
    return prompt_state_from_dict(parsed, video)
