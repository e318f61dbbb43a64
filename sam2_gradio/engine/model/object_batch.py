"""Several objects of a frame tracked in one batched SAM 2 call, with the official predictor's masks.

`SAM2VideoPredictor.propagate_in_video` runs `_run_single_frame_inference` once per object
(`batch_size=1`), so a frame's memory attention and mask decoder run once per object. Objects whose
memories hold the same frames (`memory_groups`: prompted on the same frames, tracked since the same
frame) give SAM 2 memory of the same layout, so they can go through `track_step` as one batch in which
each row attends to its own object's memory (`StackedOutputs`). What SAM 2 stores stays per object.

Rows of a batch equal single-object runs bit for bit on the CPU in float32, which the tests check.
With another memory layout or another number of rows PyTorch picks another kernel, whose sums round
differently in the last bits. Two things keep each row's arithmetic that of a single object:

- `batch_invariant_layouts` (hooks set when the model is built) gives memory attention and the mask
  decoder's first upscaling layer their inputs in the layout one object's run gives them, and on the
  CPU runs the layers that see a few tokens per object object by object: the mask decoder's
  transformer projections (8 tokens each) and the heads fed one token (mask hypernetworks, IoU, object
  score, object pointer). A matrix product of a few rows takes a small-matrix kernel whose sums depend
  on the row count, on some CPUs and not others (AVX-512 Xeons do; the hooks were first written on a
  CPU where only the one-row products did).
- The memory encoder still runs per object (`_run_memory_encoder` with `batch_size=1`, as SAM 2 does
  after consolidating clicks): batched, its layers' layouts differ from one object's in several places,
  and it is the smaller part of the work.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch

from sam2_gradio import config

OUTPUT_KINDS = ("cond_frame_outputs", "non_cond_frame_outputs")  # SAM 2's two kinds of per-object outputs


def memory_groups(predictor: Any, state: dict[str, Any], obj_indices: list[int]) -> list[list[int]]:
    """`obj_indices` in groups whose memories hold the same conditioning and non-conditioning frames
    (in first-seen order), of at most `max_batch` objects.

    Each object is alone with SAM 2's compiled predictor (`vos_optimized`): its mask decoder is
    compiled for one batch size, so every new group size would be compiled again (minutes with its
    max-autotune).
    """
    size = 1 if _compiled(predictor) else max(1, max_batch(state["device"]))
    if size == 1:  # SAM 2's own loop: no layouts to compare
        return [[obj_idx] for obj_idx in obj_indices]
    layouts: dict[tuple, list[int]] = {}
    for obj_idx in obj_indices:
        outputs = state["output_dict_per_obj"][obj_idx]
        layout = tuple(tuple(sorted(outputs[kind])) for kind in OUTPUT_KINDS)
        layouts.setdefault(layout, []).append(obj_idx)
    return [group[i : i + size] for group in layouts.values() for i in range(0, len(group), size)]


def max_batch(device: torch.device) -> int:
    """The most objects tracked in one call on `device` (`config.OBJECT_BATCH_CPU`, `_CUDA`)."""
    return config.OBJECT_BATCH_CUDA if device.type == "cuda" else config.OBJECT_BATCH_CPU


def _compiled(predictor: Any) -> bool:
    from sam2.sam2_video_predictor import SAM2VideoPredictorVOS

    return isinstance(predictor, SAM2VideoPredictorVOS)


def track_objects(
    predictor: Any, state: dict[str, Any], frame: int, reverse: bool, group: list[int]
) -> list[torch.Tensor]:
    """Track the objects of one memory group on `frame` (not a conditioning frame of theirs).

    Stores each object's compact output in its `non_cond_frame_outputs`, as `_run_single_frame_inference`
    does, and returns each object's low-resolution mask logits, (1, 1, h, w) on the model's device.
    """
    per_object = [state["output_dict_per_obj"][obj_idx] for obj_idx in group]
    if len(group) == 1:
        current_out, pred_masks = predictor._run_single_frame_inference(
            inference_state=state,
            output_dict=per_object[0],
            frame_idx=frame,
            batch_size=1,
            is_init_cond_frame=False,
            point_inputs=None,
            mask_inputs=None,
            reverse=reverse,
            run_mem_encoder=True,
        )
        per_object[0]["non_cond_frame_outputs"][frame] = current_out
        return [pred_masks]
    batched = _batched_track_step(predictor, state, frame, reverse, per_object)
    masks = []
    for row, outputs in enumerate(per_object):
        outputs["non_cond_frame_outputs"][frame] = _object_output(predictor, state, frame, batched, row)
        masks.append(batched["pred_masks"][row : row + 1])
    return masks


def _batched_track_step(
    predictor: Any, state: dict[str, Any], frame: int, reverse: bool, per_object: list[dict]
) -> dict[str, Any]:
    """`track_step` for several objects at once, without the memory encoder; holes filled as SAM 2 does."""
    from sam2.utils.misc import fill_holes_in_mask_scores

    _, _, vision_feats, vision_pos, feat_sizes = predictor._get_image_feature(state, frame, len(per_object))
    memory = {kind: StackedOutputs([outputs[kind] for outputs in per_object]) for kind in OUTPUT_KINDS}
    out = predictor.track_step(
        frame_idx=frame,
        is_init_cond_frame=False,
        current_vision_feats=vision_feats,
        current_vision_pos_embeds=vision_pos,
        feat_sizes=feat_sizes,
        point_inputs=None,
        mask_inputs=None,
        output_dict=memory,
        num_frames=state["num_frames"],
        track_in_reverse=reverse,
        run_mem_encoder=False,
        prev_sam_mask_logits=None,
    )
    if predictor.fill_hole_area > 0:
        out["pred_masks"] = fill_holes_in_mask_scores(out["pred_masks"], predictor.fill_hole_area)
    return out


def _object_output(
    predictor: Any, state: dict[str, Any], frame: int, batched: dict[str, Any], row: int
) -> dict[str, Any]:
    """Row `row` of a batched `track_step` as the compact output `_run_single_frame_inference` stores,
    its memory encoded for that object alone (rows copied, so no object keeps the batch alive)."""
    score = batched["object_score_logits"][row : row + 1].clone()
    features, pos_enc = predictor._run_memory_encoder(
        state,
        frame,
        1,
        high_res_masks=batched["pred_masks_high_res"][row : row + 1].clone(),  # holes not filled
        object_score_logits=score,
        is_mask_from_pts=False,
    )
    return {
        "maskmem_features": features,
        "maskmem_pos_enc": pos_enc,
        "pred_masks": batched["pred_masks"][row : row + 1].to(state["storage_device"], copy=True),
        "obj_ptr": batched["obj_ptr"][row : row + 1].clone(),
        "object_score_logits": score,
    }


class StackedOutputs(Mapping):
    """frame -> the outputs of several objects on that frame, stacked along the batch dimension.

    What SAM 2's memory reads (`_prepare_memory_conditioned_features`: features, position encoding and
    object pointer) is stacked on first use, for the few frames it reads. Every object must hold the
    same frames (`memory_groups`).
    """

    def __init__(self, per_object: list[dict[int, dict[str, Any]]]) -> None:
        self._per_object = per_object
        self._stacked: dict[int, dict[str, Any]] = {}

    def __getitem__(self, frame: int) -> dict[str, Any]:
        if frame not in self._stacked:
            outs = [outputs[frame] for outputs in self._per_object]
            batch = len(outs)
            self._stacked[frame] = {
                "maskmem_features": torch.cat([out["maskmem_features"] for out in outs]),
                # one constant for every object and frame (`_get_maskmem_pos_enc`), expanded as SAM 2 does
                "maskmem_pos_enc": [x[:1].expand(batch, -1, -1, -1) for x in outs[0]["maskmem_pos_enc"]],
                "obj_ptr": torch.cat([out["obj_ptr"] for out in outs]),
            }
        return self._stacked[frame]

    def __contains__(self, frame: object) -> bool:
        return frame in self._per_object[0]

    def __iter__(self) -> Iterator[int]:
        return iter(self._per_object[0])

    def __len__(self) -> int:
        return len(self._per_object[0])


def batch_invariant_layouts(predictor: Any) -> None:
    """Hooks on `predictor` that give each row of a batch of objects the arithmetic it has alone.

    - Memory attention gets its memory (tokens x batch x channels) batch-first contiguous: transposed
      inside, a batch's memory is strided where one object's is contiguous, and its key and value
      projections then take another matrix-product path.
    - The mask decoder's first upscaling layer gets a contiguous input: for a batch the transposed
      decoder tokens would take the channels-last convolution, for one object the contiguous one.
    - On the CPU, the mask decoder transformer's linear layers (a few tokens per object) and the heads
      fed one token per object run object by object (`_rows_alone`). On CUDA, where equality is not
      established and each extra call costs a kernel launch, the batch runs as it is.

    None changes anything for one object (the official predictor's case).
    """
    predictor.memory_attention.register_forward_pre_hook(_batch_first_memory, with_kwargs=True)
    decoder = predictor.sam_mask_decoder
    decoder.output_upscaling[0].register_forward_pre_hook(_contiguous_batch)
    token_linears = [m for m in decoder.transformer.modules() if isinstance(m, torch.nn.Linear)]
    heads = (*decoder.output_hypernetworks_mlps, decoder.iou_prediction_head, predictor.obj_ptr_proj)
    for module in (*token_linears, *heads):
        module.register_forward_hook(_rows_alone)
    if decoder.pred_obj_scores:
        decoder.pred_obj_score_head.register_forward_hook(_rows_alone)


def _batch_first_memory(module: torch.nn.Module, args: tuple, kwargs: dict[str, Any]) -> tuple:
    for key in ("memory", "memory_pos"):
        value = kwargs.get(key)
        if value is not None and value.size(1) > 1:
            kwargs[key] = value.transpose(0, 1).contiguous().transpose(0, 1)
    return args, kwargs


def _rows_alone(module: torch.nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
    (tokens,) = args
    if tokens.dim() < 2 or tokens.size(0) == 1 or tokens.device.type != "cpu":
        return None
    return torch.cat([module.forward(tokens[row : row + 1]) for row in range(tokens.size(0))])


def _contiguous_batch(module: torch.nn.Module, args: tuple) -> tuple:
    return tuple(a.contiguous() if isinstance(a, torch.Tensor) and a.size(0) > 1 else a for a in args)
