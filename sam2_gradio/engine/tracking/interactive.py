"""Clicking on a video: a prompt state plus instant masks of the shown frame.

`InteractiveSession` is what the Segment tab holds per browser session and what a script can drive: every
edit (click, box, paint, brush dab or stroke, absent mark, clear, new or removed object, reset, loaded
state) is one step of the `PromptState`'s undo history, and updates the masks of the affected frame,
computed by SAM 2 on that frame alone, exactly as propagation will treat it. The image features of the
video are kept (`features`, shared with propagations given it), so further clicks on a frame only run the
mask decoder (`prepare` encodes a shown frame before its first click), and the frame shown is the frame
the model reads (`DecodedFrames`): each is decoded once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from sam2_gradio.engine.exports.overlay import draw_clicks, draw_masks
from sam2_gradio.engine.model.features import FeatureStore
from sam2_gradio.engine.model.predictor import PredictorLender
from sam2_gradio.engine.tracking.gpu_tasks import model_tasks
from sam2_gradio.engine.tracking.prompts import BoxCorners, PromptState
from sam2_gradio.engine.tracking.strokes import paint_stroke
from sam2_gradio.media.frames import FrameSource, VideoMeta, read_frame

Masks = dict[int, np.ndarray]  # obj_id -> bool (H, W)
DECODED_FRAMES_KEPT = 8  # recently shown frames kept decoded, so clicks and browsing back are instant


def brush_disc(mask: np.ndarray, x: float, y: float, radius: float, *, erase: bool = False) -> np.ndarray:
    """`mask` (bool (H, W)) with the pixels whose centres lie within `radius` of (x, y) set, or cleared
    when `erase`. A new array; the disc may reach past the edges."""
    if radius <= 0:
        raise ValueError(f"brush radius must be positive, got {radius}")
    rows, cols = np.ogrid[: mask.shape[0], : mask.shape[1]]
    disc = (cols - x) ** 2 + (rows - y) ** 2 <= radius**2
    return mask & ~disc if erase else mask | disc


class DecodedFrames:
    """A `FrameSource` over `source` that keeps the last `DECODED_FRAMES_KEPT` frames it decoded.

    The Segment tab shows a frame, then the model reads the same frame when it is clicked: both go
    through here, so the frame is decoded once, and only the frames asked for are decoded.
    """

    def __init__(self, source: FrameSource) -> None:
        self.source = source  # where frames are decoded from
        self.meta: VideoMeta = source.meta
        self._kept: OrderedDict[int, np.ndarray] = OrderedDict()  # recently decoded frames, read-only

    def frame(self, index: int) -> np.ndarray:
        """Frame `index` as RGB uint8 (H, W, 3), read-only."""
        if index not in self._kept:
            image = read_frame(self.source, index)
            image.setflags(write=False)
            self._kept[index] = image
            while len(self._kept) > DECODED_FRAMES_KEPT:
                self._kept.popitem(last=False)
        self._kept.move_to_end(index)
        return self._kept[index]

    def read(self, start: int, stop: int) -> Iterator[np.ndarray]:
        """Yield frames `[start, stop)`, each decoded only when the consumer gets to it."""
        for index in range(start, min(stop, self.meta.num_frames)):
            yield self.frame(index)


class InteractiveSession:
    """One video being segmented: its frames, its clicks, and (after propagation) its mask folder."""

    def __init__(
        self, model: PredictorLender, source: FrameSource, prompts: PromptState | None = None
    ) -> None:
        self.model = model  # lends the shared SAM 2 model
        self._tasks = model_tasks(model)  # the calls that run it (on ZeroGPU: in a GPU worker)
        self.source = source  # the video's frames
        self.prompts = prompts or PromptState(video=source.meta)  # every click so far
        if self.prompts.video is None:
            self.prompts.video = source.meta
        self.tracked_masks: Callable[[int], Masks] | None = None  # frame -> the last propagation's masks
        self.features = FeatureStore()  # image features of the video, for clicks and propagations
        self._predicted: dict[int, Masks] = {}  # frame -> masks of the objects clicked there
        self._frames = DecodedFrames(source)  # recently shown frames, also what the model reads
        self._caches = threading.Lock()  # guards `_encoding` and `_frames`: `prepare` runs in its own thread
        self._encoding: dict[int, threading.Event] = {}  # frames `prepare` is encoding, set when done

    # --- frames and masks ----------------------------------------------------------------------
    def frame(self, index: int) -> np.ndarray:
        """Frame `index` as RGB uint8 (H, W, 3), read-only (the last few are kept decoded)."""
        with self._caches:
            return self._frames.frame(index)

    def prepare(self, frame: int) -> bool:
        """Encode `frame`'s image now, unless its features are kept, so that the first click there only
        runs SAM 2's mask decoder (the encoder takes about a second at 1024 px on a CPU). True if it
        encoded. Meant for a background thread while the user aims: it may run beside this session's
        edits, and a click on `frame` meanwhile waits for it instead of encoding the frame again."""
        with self._caches:
            if frame in self.features or frame in self._encoding:
                return False
            done = self._encoding[frame] = threading.Event()
        try:
            self._tasks.frame_features(self.frame(frame), frame, self.source.meta, self.features)
        finally:
            with self._caches:
                del self._encoding[frame]
            done.set()
        return True

    def masks_on(self, frame: int) -> Masks:
        """Every known mask on `frame`: propagated ones, replaced by live predictions where clicked."""
        tracked = self.tracked_masks(frame) if self.tracked_masks is not None else {}
        masks = {obj_id: mask for obj_id, mask in tracked.items() if obj_id in self.prompts.object_ids}
        if frame in self.prompts.clicks and frame not in self._predicted:
            self._predicted[frame] = self._predict(frame)
        masks.update(self._predicted.get(frame, {}))
        return masks

    def render(self, frame: int, masks: Masks | None = None) -> np.ndarray:
        """Frame `frame` with every mask and click drawn on it.

        `masks` are those an edit of `frame` just returned; without them they are looked up (`masks_on`).
        """
        image = draw_masks(self.frame(frame), self.masks_on(frame) if masks is None else masks)
        return draw_clicks(image, self.prompts.clicks_on(frame))

    # --- edits ---------------------------------------------------------------------------------
    def click(self, frame: int, obj_id: int, x: float, y: float, positive: bool = True) -> Masks:
        """Add a click and return the masks of `frame` (raises `PromptStateError` for a bad click).

        When the model cannot run (no weights, say) the click is taken back before the error is raised.
        """
        self.prompts.add_click(frame, obj_id, x, y, int(positive))
        return self._predict_edited(frame)

    def box(self, frame: int, obj_id: int, corners: BoxCorners) -> Masks:
        """Give `obj_id` the box `(x0, y0, x1, y1)` on `frame`, used with its clicks there; as `click`."""
        self.prompts.set_box(frame, obj_id, corners)
        return self._predict_edited(frame)

    def paint(self, frame: int, obj_id: int, mask: np.ndarray) -> Masks:
        """Give `obj_id` a painted bool (H, W) mask on `frame`; it replaces the object's clicks and box
        there (as in SAM 2). Otherwise as `click`."""
        self.prompts.set_mask(frame, obj_id, mask)
        return self._predict_edited(frame)

    def brush(
        self, frame: int, obj_id: int, x: float, y: float, radius: float, *, erase: bool = False
    ) -> Masks:
        """Paint (or `erase`) a disc of `radius` at video pixel (x, y) into the mask of `obj_id` on
        `frame` and give the result to SAM 2 as a mask prompt (`paint`). The dab goes into the object's
        painted mask there, else into the mask it shows (live or propagated), else into an empty one.
        Erasing the whole mask is refused (`PromptStateError`); clear the frame instead."""
        return self.paint(
            frame, obj_id, brush_disc(self._mask_to_brush(frame, obj_id), x, y, radius, erase=erase)
        )

    def stroke(
        self,
        frame: int,
        obj_id: int,
        points: Sequence[tuple[float, float]],
        radius: float,
        *,
        erase: bool = False,
    ) -> Masks:
        """Paint (or `erase`) a stroke along `points` (video pixels) with a brush of `radius`
        (`strokes.paint_stroke`, twice the radius wide) into the mask of `obj_id` on `frame`, as one
        mask prompt (one undo step); the mask it starts from is the one `brush` starts from."""
        painted = paint_stroke(self._mask_to_brush(frame, obj_id), points, 2 * radius, erase=erase)
        return self.paint(frame, obj_id, painted)

    def absent(self, frame: int, obj_id: int) -> Masks:
        """Tell SAM 2 that `obj_id` is not on `frame` (an empty mask prompt, `PromptState.mark_absent`);
        otherwise as `click`."""
        self.prompts.mark_absent(frame, obj_id)
        return self._predict_edited(frame)

    def _mask_to_brush(self, frame: int, obj_id: int) -> np.ndarray:
        entry = self.prompts.clicks_on(frame).get(obj_id)
        if entry is not None and entry.mask is not None:
            return entry.mask.to_mask()
        shown = self.masks_on(frame).get(obj_id)
        if shown is None:
            return np.zeros((self.source.meta.height, self.source.meta.width), dtype=bool)
        return shown

    def undo(self) -> list[int] | None:
        """Take back the latest edit of any kind; return the frames it changed, or None if none."""
        return self._refreshed(self.prompts.undo())

    def redo(self) -> list[int] | None:
        """Make the latest undone edit again; return the frames it changed, or None if none."""
        return self._refreshed(self.prompts.redo())

    def clear(self, frame: int, obj_id: int) -> Masks:
        """Remove the clicks of `obj_id` on `frame` and return the frame's masks."""
        self.prompts.clear_clicks(frame, obj_id)
        self._refresh(frame)
        return self.masks_on(frame)

    def new_object(self) -> int:
        """Create an object and return its id."""
        return self.prompts.add_object()

    def remove_object(self, obj_id: int) -> None:
        """Remove an object with all its clicks."""
        clicked_frames = [frame for frame, objects in self.prompts.clicks.items() if obj_id in objects]
        self.prompts.remove_object(obj_id)
        for frame in clicked_frames:
            self._refresh(frame)

    def reset(self) -> None:
        """Remove every object, click and propagated mask (undo brings the objects and clicks back)."""
        self.prompts.reset()
        self._predicted.clear()
        self.tracked_masks = None

    def replace_prompts(self, prompts: PromptState) -> None:
        """Use a loaded prompt state instead of the current one, as one undoable edit.

        Masks are recomputed lazily; the propagated masks no longer match and are dropped.
        """
        self.prompts.replace_with(prompts)
        self._predicted.clear()
        self.tracked_masks = None

    def _predict_edited(self, frame: int) -> Masks:
        """The masks of `frame` after an edit of it; the edit is taken back if the model fails."""
        try:
            self._refresh(frame)
            return self.masks_on(frame)
        except BaseException:
            self.prompts.take_back_last_edit()
            self._predicted.pop(frame, None)
            raise

    def _refreshed(self, frames: list[int] | None) -> list[int] | None:
        """`frames`, their masks forgotten (their prompts changed; they are predicted when next shown)."""
        for frame in frames or []:
            self._predicted.pop(frame, None)
        return frames

    def _refresh(self, frame: int) -> None:
        """Predict the masks of `frame` again after its clicks changed."""
        self._predicted[frame] = self._predict(frame) if frame in self.prompts.clicks else {}

    def _predict(self, frame: int) -> Masks:
        """One `ModelTasks.frame_masks` call: the frame, its prompts and the video's features."""
        with self._caches:
            encoding = self._encoding.get(frame)
        if encoding is not None:
            encoding.wait()  # `prepare` is encoding this frame: its features come next
        return self._tasks.frame_masks(self.frame(frame), frame, self.prompts, self.features)
