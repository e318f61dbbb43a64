"""Streaming SAM 2 propagation in resumable steps: the official predictor's masks in flat memory.

SAM 2's `init_state` decodes the whole video and its state keeps every frame's memory for ever, and its
`propagate_in_video` generator runs a video from the first frame to the last. Yet on any frame the model
only attends to the conditioning (prompted) frames, the last `num_maskmem - 1` frames' memories and the
object pointers of the last `max_obj_ptrs_in_encoder - 1` frames. A `PropagationRun` does what the loop
body of `propagate_in_video` does, one frame at a time, over frames decoded batch by batch (`ModelFrames`),
and drops per-frame outputs once no later frame can attend to them. So the masks equal the official run
over the whole video while memory does not grow with its length, and the run advances in steps:

    run = start_propagation(source, prompts, direction="forward")
    while not run.done:
        with model.use() as predictor:          # the model is held for one step only
            for frame, obj_ids, masks in run.step(predictor, source, max_frames=8):
                ...
        run.park()                              # optional: tensors to the CPU, picklable

Between steps a run holds only what SAM 2 attends to; parked, it holds no CUDA tensor, no decoder, no
thread and no reference to the model, so it pickles (e.g. to a ZeroGPU worker process and back).

Semantics are those of the official predictor given all the prompts before propagating: the clicks and
box of each object on each frame are added in one call (a painted mask, which replaces them, in an
`add_new_mask` call), every prompted frame is a conditioning frame, and
`num_frames` is the true frame count (it shapes the object-pointer position encoding).
"""

from __future__ import annotations

import copy
import io
import logging
import pickle
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import torch

from sam2_gradio.engine.model.features import FeatureStore
from sam2_gradio.engine.model.model_frames import ModelFrames
from sam2_gradio.engine.model.object_batch import memory_groups, track_objects
from sam2_gradio.engine.options import DIRECTIONS
from sam2_gradio.engine.tracking.prompts import ObjectClicks, PromptState
from sam2_gradio.errors import BadInput, NotReady
from sam2_gradio.media.frames import FrameSource, VideoMeta

if TYPE_CHECKING:
    from sam2.sam2_video_predictor import SAM2VideoPredictor


CPU = torch.device("cpu")
logger = logging.getLogger(__name__)


FrameMasks = tuple[int, list[int], np.ndarray]  # (frame, object ids, bool masks (objects, H, W))


def new_inference_state(predictor: SAM2VideoPredictor, images: ModelFrames) -> dict[str, Any]:
    """An inference state like `SAM2VideoPredictor.init_state`'s, over lazily decoded `images`."""
    meta = images.source.meta
    return {
        "images": images,  # list-like frames; only a batch of them is ever decoded
        "num_frames": meta.num_frames,  # the true frame count (object-pointer position encoding)
        "offload_video_to_cpu": False,  # frames live in ModelFrames, not in the state
        "offload_state_to_cpu": False,  # outputs stay on the model's device
        "video_height": meta.height,  # masks are returned at the video's resolution
        "video_width": meta.width,
        "device": predictor.device,  # where the model runs
        "storage_device": predictor.device,  # where per-frame outputs are kept
        "point_inputs_per_obj": {},  # obj_idx -> {frame: clicks}
        "mask_inputs_per_obj": {},  # obj_idx -> {frame: mask prompt}
        "cached_features": {},  # {frame: (image, backbone features)} of the last encoded frame
        "constants": {},  # values shared by every frame (mask memory position encoding)
        "obj_id_to_idx": OrderedDict(),  # client object id -> model slot
        "obj_idx_to_id": OrderedDict(),  # model slot -> client object id
        "obj_ids": [],  # client object ids in slot order
        "output_dict_per_obj": {},  # obj_idx -> {"cond_frame_outputs", "non_cond_frame_outputs"}
        "temp_output_dict_per_obj": {},  # outputs of clicks not yet encoded into memory
        "frames_tracked_per_obj": {},  # obj_idx -> {frame: {"reverse": bool}}
    }


def add_prompts(
    predictor: SAM2VideoPredictor, state: dict[str, Any], prompts: PromptState, frame: int | None = None
) -> None:
    """Add the prompts of every object on every prompted frame (or only on `frame`) to `state`.

    Each object's clicks and box on a frame go in one `add_new_points_or_box` call (the box first, as
    SAM 2 puts it); a painted mask goes to `add_new_mask` instead, since it replaces them.
    """
    frames = prompts.prompted_frames() if frame is None else [frame]
    for index in frames:
        for obj_id, entry in sorted(prompts.clicks_on(index).items()):
            add_object_prompt(predictor, state, index, obj_id, entry)


def add_object_prompt(
    predictor: SAM2VideoPredictor, state: dict[str, Any], frame: int, obj_id: int, entry: ObjectClicks
) -> None:
    """Give SAM 2 one object's prompts on one frame: its mask, or its clicks with its box."""
    if entry.mask is not None:
        predictor.add_new_mask(state, frame_idx=frame, obj_id=obj_id, mask=entry.mask.to_mask())
        return
    has_clicks = bool(entry.points)
    predictor.add_new_points_or_box(
        state,
        frame_idx=frame,
        obj_id=obj_id,
        points=np.asarray(entry.points, dtype=np.float32) if has_clicks else None,
        labels=np.asarray(entry.labels, dtype=np.int32) if has_clicks else None,
        box=np.asarray(entry.box, dtype=np.float32) if entry.box is not None else None,
    )


def memory_reach(predictor: SAM2VideoPredictor) -> int:
    """How many frames back (in tracking order) a frame's memory or object pointers can reach."""
    stride = predictor.memory_temporal_stride_for_eval
    return max(1 + (predictor.num_maskmem - 2) * stride, predictor.max_obj_ptrs_in_encoder - 1)


class Pass(NamedTuple):
    """One `propagate_in_video` call of the official predictor."""

    start: int  # first frame visited
    reverse: bool  # True: towards frame 0
    skip_start: bool  # "both": the forward pass already gave the start frame (it is still tracked)

    def frames(self, num_frames: int) -> range:
        """The frames this pass visits, in order."""
        return range(self.start, -1, -1) if self.reverse else range(self.start, num_frames)


def _passes(direction: str, prompts: PromptState) -> list[Pass]:
    """The passes of the official predictor for `direction` (SAM 2 skips a reverse pass from frame 0)."""
    frames = prompts.prompted_frames()
    if direction == "forward":
        return [Pass(frames[0], False, False)]
    if direction == "backward":
        return [Pass(frames[-1], True, False)]
    if direction == "both":
        return [Pass(frames[0], False, False)] + ([Pass(frames[0], True, True)] if frames[0] > 0 else [])
    raise BadInput(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")


def frames_to_track(direction: str, prompts: PromptState, num_frames: int) -> int:
    """How many frames a propagation in `direction` yields."""
    passes = _passes(direction, prompts)
    return sum(len(p.frames(num_frames)) - p.skip_start for p in passes)


def _forget_old_outputs(state: dict[str, Any], frame: int, reverse: bool, reach: int, keep: range) -> None:
    """Drop the non-conditioning outputs no frame after `frame` (in tracking order) can attend to."""
    stale = frame + reach + 1 if reverse else frame - reach - 1
    if stale in keep or not 0 <= stale < state["num_frames"]:
        return
    for outputs in state["output_dict_per_obj"].values():
        outputs["non_cond_frame_outputs"].pop(stale, None)
    for tracked in state["frames_tracked_per_obj"].values():
        tracked.pop(stale, None)


def _check_ready(prompts: PromptState, meta: VideoMeta) -> None:
    if not prompts.prompted_frames():
        raise NotReady("no clicks yet: add a click on an object first")
    last = prompts.prompted_frames()[-1]
    if last >= meta.num_frames:
        raise BadInput(f"clicks on frame {last}, but the video has {meta.num_frames} frames")


def same_clicks(first: PromptState, second: PromptState) -> bool:
    """Whether two prompt states hold the same clicks (what propagation's masks depend on)."""
    return first.to_dict()["clicks"] == second.to_dict()["clicks"]


@torch.inference_mode()
def track_frame(predictor: Any, state: dict[str, Any], frame: int, reverse: bool) -> torch.Tensor:
    """Track every object of `state` on `frame`: the loop body of `SAM2VideoPredictor.propagate_in_video`.

    Stores each object's new output in the state (conditioning frames keep theirs) and returns the
    mask logits at the video's resolution, (objects, 1, H, W) on the model's device. Objects whose
    memories hold the same frames run as one batch (`object_batch`), with the same masks.
    """
    pred_masks: dict[int, torch.Tensor] = {}  # obj_idx -> (1, 1, h, w) low-resolution logits
    to_track = []
    for obj_idx in range(len(state["obj_idx_to_id"])):
        obj_output_dict = state["output_dict_per_obj"][obj_idx]
        if frame in obj_output_dict["cond_frame_outputs"]:
            current_out = obj_output_dict["cond_frame_outputs"][frame]
            pred_masks[obj_idx] = current_out["pred_masks"].to(state["device"], non_blocking=True)
            if predictor.clear_non_cond_mem_around_input:
                predictor._clear_obj_non_cond_mem_around_input(state, frame, obj_idx)
        else:
            to_track.append(obj_idx)
        state["frames_tracked_per_obj"][obj_idx][frame] = {"reverse": reverse}
    for group in memory_groups(predictor, state, to_track):
        pred_masks.update(zip(group, track_objects(predictor, state, frame, reverse, group), strict=True))
    ordered = [pred_masks[obj_idx] for obj_idx in sorted(pred_masks)]
    all_pred_masks = torch.cat(ordered, dim=0) if len(ordered) > 1 else ordered[0]
    _, video_res_masks = predictor._get_orig_video_res_output(state, all_pred_masks)
    return video_res_masks


def _moved(value: Any, device: torch.device) -> Any:
    """`value` (tensors inside dicts, lists and tuples) with every tensor on `device`."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = _moved(item, device)
        return value
    if isinstance(value, list):
        value[:] = [_moved(item, device) for item in value]
        return value
    if isinstance(value, tuple):
        return tuple(_moved(item, device) for item in value)
    return value


def _share_position_encoding(state: dict[str, Any]) -> None:
    """Make every output's memory position encoding a view of the one constant copy, as SAM 2 keeps it."""
    constant = state["constants"].get("maskmem_pos_enc")
    if constant is None:
        return
    for per_obj in (*state["output_dict_per_obj"].values(), *state["temp_output_dict_per_obj"].values()):
        for outputs in per_obj.values():
            for out in outputs.values():
                if out.get("maskmem_pos_enc") is not None:
                    batch = out["maskmem_pos_enc"][0].size(0)
                    out["maskmem_pos_enc"] = [x.expand(batch, -1, -1, -1) for x in constant]


class PropagationRun:
    """One propagation of a video's clicks that advances in steps and can be parked between them.

    Made by `start_propagation`; no model is needed until the first `step`, which adds the clicks and
    encodes the prompted frames' memory. Each `step` runs under `SharedModel.use()` (the model lock,
    inference mode and autocast) and yields `(frame, obj_ids, masks)` for up to `max_frames` frames.
    The frame decoder stays open between steps until `park` or `close`; a parked run (`park`) keeps its
    tensors on the CPU and pickles; `step` moves it back to the model's device by itself.
    Given a `FeatureStore` (`features`), the run encodes only the frames the store lacks and keeps what it
    encodes there; the store is not pickled with the run (give it again to the unpickled run).
    """

    def __init__(
        self,
        meta: VideoMeta,
        prompts: PromptState,
        direction: str,
        batch_size: int,
        features: FeatureStore | None = None,
    ) -> None:
        if batch_size < 1:
            raise BadInput(f"batch_size must be at least 1, got {batch_size}")
        _check_ready(prompts, meta)
        self.meta = meta  # the video tracked (each step's source must match it)
        self.prompts = copy.deepcopy(prompts)  # the clicks tracked, as they were at the start
        self.direction = direction  # "forward", "backward" or "both"
        self.batch_size = batch_size  # frames decoded at a time
        self.passes = _passes(direction, self.prompts)  # the official predictor's passes, in order
        self.total = frames_to_track(direction, self.prompts, meta.num_frames)  # frames the run yields
        self.frames_done = 0  # frames yielded so far
        self.state: dict[str, Any] | None = None  # SAM 2 inference state, built by the first step
        self.reach = 0  # frames back a frame can attend to (the model's, set by the first step)
        self._pass = 0  # index of the pass under way
        self._position = 0  # frames of that pass visited so far
        self._tracked = (0, 0)  # [first, stop) of the frames yielded so far (always contiguous)
        self._frames: ModelFrames | None = None  # the open decoder (never pickled)
        self.features = features  # image features lent and kept across runs (never pickled)
        self._scan: int | None = None  # this run's token in `features` (its frames are not dropped for it)

    # --- where the run stands ------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """True when every frame has been tracked."""
        return self._pass >= len(self.passes)

    @property
    def device(self) -> torch.device | None:
        """Where the run's tensors are (None before the first step)."""
        return None if self.state is None else self.state["device"]

    @property
    def tracked_frames(self) -> range:
        """The frames yielded so far, ascending (they are always one contiguous range)."""
        return range(*self._tracked)

    def next_frame(self) -> int | None:
        """The frame the next step starts with (None when done)."""
        if self.done:
            return None
        return self.passes[self._pass].frames(self.meta.num_frames)[self._position]

    @property
    def checkpointable(self) -> bool:
        """Whether the run's state holds every frame it counts (not while a GPU worker steps it: its
        frames are counted as they come, its state comes back with the chunk's end)."""
        visited = sum(len(p.frames(self.meta.num_frames)) - p.skip_start for p in self.passes[: self._pass])
        if not self.done:
            visited += self._position - (self.passes[self._pass].skip_start and self._position > 0)
        return visited == self.frames_done

    def tracks(self, prompts: PromptState, direction: str) -> bool:
        """Whether this run's masks are those of `prompts` propagated in `direction` (so it can resume)."""
        return direction == self.direction and same_clicks(prompts, self.prompts)

    # --- stepping ------------------------------------------------------------------------------
    def step(self, predictor: Any, source: FrameSource, *, max_frames: int) -> Iterator[FrameMasks]:
        """Track up to `max_frames` more frames, yielding `(frame, obj_ids, bool masks (objects, H, W))`.

        Run it under `SharedModel.use()`. Each frame is counted as done before it is yielded, so a
        consumer that stops early leaves the run right after the last frame it received.
        """
        if max_frames < 1:
            raise ValueError(f"max_frames must be at least 1, got {max_frames}")
        if source.meta != self.meta:
            raise ValueError(f"this run tracks a video of {self.meta}, not one of {source.meta}")
        if self.done:
            return
        self._attach(predictor, source)
        try:
            yielded = 0
            while yielded < max_frames and not self.done:
                current = self.passes[self._pass]
                frame = self.next_frame()
                self._frames.reverse = current.reverse
                self._lend_features(predictor, [frame])
                logits = track_frame(predictor, self.state, frame, current.reverse)
                self._keep_features(predictor)
                keep = self._kept_for_reverse_pass(current)
                _forget_old_outputs(self.state, frame, current.reverse, self.reach, keep)
                self._advance()
                if current.skip_start and frame == current.start:
                    continue
                masks = (logits[:, 0] > 0).cpu().numpy()
                self._count(frame)
                yielded += 1
                yield frame, list(self.state["obj_ids"]), masks
        finally:
            self.state.pop("images", None)
            if self.done:
                self.close()

    def _attach(self, predictor: Any, source: FrameSource) -> None:
        """Open the decoder, bring the state to the model's device, and build it on the first step."""
        if self._frames is not None and (
            self._frames.source is not source or self._frames.device != predictor.device
        ):
            self.close()
        if self._frames is None:
            self._frames = ModelFrames(
                source, predictor.image_size, predictor.device, batch_size=self.batch_size
            )
        if self.features is not None and self._scan is None:
            self._scan = self.features.new_scan()
        if self.state is None:
            self._begin(predictor)
        elif self.device != predictor.device:
            self.unpark(predictor.device)
        self.state["images"] = self._frames

    def _begin(self, predictor: Any) -> None:
        """Add every click and encode the prompted frames' memory (`propagate_in_video_preflight`)."""
        images, prompted = self._frames, self.prompts.prompted_frames()
        images.pin(prompted)
        try:
            self.state = new_inference_state(predictor, images)
            for frame in prompted:
                self._lend_features(predictor, [frame])
                add_prompts(predictor, self.state, self.prompts, frame)
                self._keep_features(predictor)
            self._lend_features(predictor, prompted)
            predictor.propagate_in_video_preflight(self.state)
            self._keep_features(predictor)
        except BaseException:
            self.state = None
            raise
        finally:
            images.unpin()
        self.reach = memory_reach(predictor)

    def _lend_features(self, predictor: Any, frames: list[int]) -> None:
        if self.features is not None:
            self.features.lend(predictor, self.state, frames, scan=self._scan)

    def _keep_features(self, predictor: Any) -> None:
        if self.features is not None:
            self.features.keep(predictor, self.state, scan=self._scan)

    def _kept_for_reverse_pass(self, current: Pass) -> range:
        """Forward outputs that the reverse pass of "both" will attend to from its start."""
        if current.reverse or self.direction != "both":
            return range(0)
        return range(current.start, current.start + self.reach + 1)

    def _advance(self) -> None:
        self._position += 1
        if self._position >= len(self.passes[self._pass].frames(self.meta.num_frames)):
            self._pass, self._position = self._pass + 1, 0

    def record_frame(self, frame: int) -> None:
        """Count `frame` as tracked when the run is being stepped elsewhere (a GPU worker), so that
        `frames_done` and `tracked_frames` follow it; `adopt` then brings the rest of its state."""
        self._count(frame)

    def counters(self) -> tuple[int, tuple[int, int]]:
        """Where the run stands (`frames_done` and `tracked_frames`), for `rewind`."""
        return self.frames_done, self._tracked

    def rewind(self, counters: tuple[int, tuple[int, int]]) -> None:
        """Go back to `counters`: the frames `record_frame` counted since then are not tracked after all
        (their chunk's state never came back)."""
        self.frames_done, self._tracked = counters

    def adopt(self, advanced: PropagationRun) -> None:
        """Take over the state of `advanced`: this run, stepped in another process and sent back parked
        (this run's `features` stay: a store never travels with a run)."""
        if advanced is self:
            return
        self.close()
        self.__dict__.update({**advanced.__dict__, "features": self.features})

    def _count(self, frame: int) -> None:
        self.frames_done += 1
        first, stop = self._tracked
        self._tracked = (frame, frame + 1) if first == stop else (min(first, frame), max(stop, frame + 1))

    # --- parking -------------------------------------------------------------------------------
    @torch.inference_mode()
    def park(self) -> PropagationRun:
        """Close the decoder, drop the cached image features and move every tensor to the CPU.

        A parked run pickles; it resumes on any device (`unpark`, or just `step`). Returns the run.
        """
        self.close()
        if self.state is not None:
            self.state["cached_features"] = {}  # the next frame is never the cached one
            self._move(CPU)
        return self

    @torch.inference_mode()
    def unpark(self, device: torch.device | str) -> PropagationRun:
        """Move every tensor of the run to `device` (the model's). Returns the run."""
        if self.state is not None:
            self._move(torch.device(device))
        return self

    def _move(self, device: torch.device) -> None:
        _moved(self.state, device)
        _share_position_encoding(self.state)
        self.state["device"] = self.state["storage_device"] = device

    def close(self) -> None:
        """Stop the frame decoder (the next step opens a new one)."""
        if self._frames is not None:
            self._frames.close()
            self._frames = None

    # --- checkpoints -------------------------------------------------------------------------
    def checkpoint(self) -> bytes:
        """The run as bytes (`torch.save` of plain containers and tensors), to be continued later, in
        another process too, by `PropagationRun.from_checkpoint`: exactly, as if it never stopped.

        May be taken between any two frames, also while a step is suspended after yielding one, as long
        as the run is `checkpointable`.
        """
        if not self.checkpointable:
            raise RuntimeError("a run stepped by a GPU worker is checkpointed at the end of its chunk")
        state = None
        if self.state is not None:
            state = {key: value for key, value in self.state.items() if key not in _NOT_CHECKPOINTED}
        fields = {name: getattr(self, name) for name in _CHECKPOINT_FIELDS}
        fields["passes"] = [tuple(p) for p in self.passes]
        fields["meta"] = [self.meta.num_frames, self.meta.width, self.meta.height, self.meta.fps]
        buffer = io.BytesIO()
        torch.save({"fields": fields, "state": state}, buffer)
        return buffer.getvalue()

    @classmethod
    def from_checkpoint(cls, data: bytes, prompts: PromptState) -> PropagationRun:
        """The run saved by `checkpoint`, on the CPU, given the `prompts` it tracks.

        Loads with `torch.load(weights_only=True)` (no code runs from the bytes). Raises `BadInput` when
        the bytes are not a checkpoint or were taken of a run of other prompts.
        """
        try:
            saved = torch.load(io.BytesIO(data), map_location=CPU, weights_only=True)
            fields = saved["fields"]
            run = cls(VideoMeta(*fields["meta"]), prompts, fields["direction"], fields["batch_size"])
        except (KeyError, TypeError, RuntimeError, pickle.UnpicklingError, EOFError) as error:
            raise BadInput(f"the propagation checkpoint cannot be read ({error}); track again") from None
        saved_passes = [tuple(p) for p in fields["passes"]]
        if [tuple(p) for p in run.passes] != saved_passes or run.total != fields["total"]:
            raise BadInput("the propagation checkpoint belongs to other prompts; track again")
        for name in _CHECKPOINT_FIELDS:
            setattr(run, name, fields[name])
        run._tracked = tuple(fields["_tracked"])
        run.state = saved["state"]
        if run.state is not None:
            run.state["cached_features"] = {}
            run.state["device"] = run.state["storage_device"] = CPU
        return run

    def __getstate__(self) -> dict[str, Any]:
        if self.device is not None and self.device.type != "cpu":
            raise RuntimeError("park() the propagation run before pickling it: its tensors are on the GPU")
        return {**self.__dict__, "_frames": None, "features": None}


_CHECKPOINT_FIELDS = (  # what a checkpoint keeps besides the SAM 2 state
    "direction", "batch_size", "total", "frames_done", "reach", "_pass", "_position", "_tracked",
)  # fmt: skip
_NOT_CHECKPOINTED = ("images", "cached_features")  # the decoder; a cache of the last encoded frame


def start_propagation(
    source: FrameSource,
    prompts: PromptState,
    *,
    direction: str = "forward",
    batch_size: int = 32,
    features: FeatureStore | None = None,
) -> PropagationRun:
    """A `PropagationRun` of `prompts` through `source` in `direction`, `batch_size` frames decoded at once.

    With `features` (the video's `FeatureStore`) the image encoder runs only on frames not kept there.

    Checks the clicks and the direction now (RuntimeError without clicks, ValueError for a click past
    the video's end or an unknown direction); no model is needed before the first step.
    """
    return PropagationRun(source.meta, prompts, direction, batch_size, features)


@torch.inference_mode()
def encode_frame(
    predictor: SAM2VideoPredictor, images: ModelFrames, frame: int, features: FeatureStore
) -> None:
    """Run SAM 2's image encoder on `frame` and keep its features in `features` (unless already there),
    exactly as a click on that frame would compute them."""
    if frame in features:
        return
    state = new_inference_state(predictor, images)
    predictor._get_image_feature(state, frame, batch_size=1)
    features.keep(predictor, state)


def predict_prompted_frame(
    predictor: SAM2VideoPredictor,
    images: ModelFrames,
    prompts: PromptState,
    frame: int,
    features: FeatureStore | None = None,
) -> dict[int, np.ndarray]:
    """Masks of every object clicked on `frame`, as the frame's conditioning output will be.

    Runs SAM 2 on that frame alone (no memory), exactly as propagation treats a prompted frame.
    `features` lends and keeps the frame's image features.
    Returns obj_id -> bool (H, W) mask.
    """
    state = new_inference_state(predictor, images)
    if features is not None:
        features.lend(predictor, state, [frame])
    add_prompts(predictor, state, prompts, frame)
    if features is not None:
        features.keep(predictor, state)
    if not state["obj_ids"]:
        return {}
    consolidated = predictor._consolidate_temp_output_across_obj(
        state, frame, is_cond=True, consolidate_at_video_res=True
    )
    _, logits = predictor._get_orig_video_res_output(state, consolidated["pred_masks_video_res"])
    masks = (logits[:, 0] > 0).cpu().numpy()
    return dict(zip(state["obj_ids"], masks, strict=True))
