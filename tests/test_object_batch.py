"""Objects tracked in one batch give, bit for bit, the mask logits of SAM 2's one-object-at-a-time loop."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import torch

from sam2_gradio import config
from sam2_gradio.engine.model import object_batch
from sam2_gradio.engine.tracking import propagation, steps
from sam2_gradio.engine.tracking.prompts import PromptState
from sam2_gradio.media.frames import JpegFolderFrames

# Three objects prompted together, a fourth from frame 4 and a correction of object 2 on frame 6: the
# batch splits and regroups as the objects' memories come to hold different frames.
REGROUPING_CLICKS = [
    (3, 1, 30, 60, 1),
    (3, 2, 120, 40, 1),
    (3, 3, 80, 100, 1),
    (4, 4, 60, 20, 1),
    (6, 2, 20, 100, 0),
]


def _prompts(meta, clicks) -> PromptState:
    prompts = PromptState(video=meta)
    for click in clicks:
        prompts.add_click(*click)
    return prompts


@contextmanager
def _recorded(monkeypatch, module, name):
    """Record (args, result) of every call of `module.name` while the block runs."""
    calls = []
    original = getattr(module, name)

    def record(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append((args, result))
        return result

    monkeypatch.setattr(module, name, record)
    yield calls
    monkeypatch.setattr(module, name, original)


def _logits(model, source, prompts, direction, batch, monkeypatch) -> list[torch.Tensor]:
    """The video-resolution mask logits `track_frame` returns on each frame, `batch` objects at most
    in one call (1: one by one)."""
    monkeypatch.setattr(config, "OBJECT_BATCH_CPU", batch)
    with _recorded(monkeypatch, propagation, "track_frame") as calls:
        list(steps.propagate(model, source, prompts, direction=direction, batch_size=4))
    return [logits.clone() for _, logits in calls]


@pytest.mark.slow
def test_batched_logits_equal_one_object_at_a_time_bit_for_bit(random_model, scene_jpegs, monkeypatch):
    source = JpegFolderFrames.open(scene_jpegs)
    prompts = _prompts(source.meta, REGROUPING_CLICKS)
    one_by_one = _logits(random_model, source, prompts, "both", 1, monkeypatch)
    batched = _logits(random_model, source, prompts, "both", 3, monkeypatch)
    assert len(batched) == len(one_by_one) == 21 + 4  # forward from frame 3, then back from it
    unequal = [i for i, (a, b) in enumerate(zip(batched, one_by_one, strict=True)) if not torch.equal(a, b)]
    assert unequal == []
    assert any((logits > 0).any() for logits in batched), "masks are all empty: the comparison is vacuous"


@pytest.mark.slow
def test_objects_with_the_same_memory_run_as_one_batch(random_model, scene_jpegs, monkeypatch):
    monkeypatch.setattr(config, "OBJECT_BATCH_CPU", 3)
    batch_sizes: list[int] = []
    attention = random_model.predictor.memory_attention
    handle = attention.register_forward_hook(lambda m, a, out: batch_sizes.append(out.size(1)))
    try:
        source = JpegFolderFrames.open(scene_jpegs)
        prompts = _prompts(source.meta, REGROUPING_CLICKS[:4])  # objects 1-3 on frame 3, 4 on frame 4
        with _recorded(monkeypatch, propagation, "memory_groups") as calls:
            list(steps.propagate(random_model, source, prompts))
    finally:
        handle.remove()
    groups = [result for _, result in calls]
    # frame 3: the three are prompted there (no tracking), object 4 is not yet; frame 4: object 4's own
    # prompt; later frames: the three share their memory, object 4 holds other frames
    assert groups == [[[3]], [[0, 1, 2]]] + [[[0, 1, 2], [3]]] * 19
    assert batch_sizes == [1, 3] + [3, 1] * 19


def test_memory_groups_follow_the_frames_each_object_holds_in_batches_of_the_devices_size(monkeypatch):
    outputs = {
        0: {"cond_frame_outputs": {0: {}}, "non_cond_frame_outputs": {1: {}, 2: {}}},
        1: {"cond_frame_outputs": {0: {}}, "non_cond_frame_outputs": {1: {}, 2: {}}},
        2: {"cond_frame_outputs": {0: {}, 2: {}}, "non_cond_frame_outputs": {1: {}}},
        3: {"cond_frame_outputs": {0: {}}, "non_cond_frame_outputs": {2: {}, 1: {}}},
    }
    state = {"output_dict_per_obj": outputs, "device": torch.device("cpu")}
    monkeypatch.setattr(config, "OBJECT_BATCH_CPU", 3)
    monkeypatch.setattr(config, "OBJECT_BATCH_CUDA", 1)
    assert object_batch.memory_groups(object(), state, [0, 1, 2, 3]) == [[0, 1, 3], [2]]
    assert object_batch.memory_groups(object(), state, [2, 1]) == [[2], [1]]
    monkeypatch.setattr(config, "OBJECT_BATCH_CPU", 2)
    assert object_batch.memory_groups(object(), state, [3, 2, 1, 0]) == [[3, 1], [0], [2]]
    state["device"] = torch.device("cuda")
    assert object_batch.memory_groups(object(), state, [0, 1, 3]) == [[0], [1], [3]]


def _output(value: float) -> dict:
    pos = torch.arange(4.0).reshape(1, 1, 2, 2)
    return {
        "maskmem_features": torch.full((1, 2, 2, 2), value),
        "maskmem_pos_enc": [pos],
        "obj_ptr": torch.full((1, 3), value),
    }


def test_stacked_outputs_stack_only_the_frames_read_in_object_order():
    per_object = [{5: _output(1.0), 6: _output(2.0)}, {5: _output(10.0), 6: _output(20.0)}]
    stacked = object_batch.StackedOutputs(per_object)
    assert sorted(stacked) == [5, 6] and len(stacked) == 2 and 6 in stacked and 7 not in stacked
    assert stacked.get(7) is None
    assert stacked._stacked == {}  # membership and listing stack nothing
    frame = stacked[6]
    assert list(stacked._stacked) == [6]
    assert frame["maskmem_features"][:, 0, 0, 0].tolist() == [2.0, 20.0]
    assert frame["obj_ptr"][:, 0].tolist() == [2.0, 20.0]
    (pos,) = frame["maskmem_pos_enc"]
    assert pos.shape == (2, 1, 2, 2) and torch.equal(pos[1], per_object[0][6]["maskmem_pos_enc"][0][0])
    assert stacked[6] is frame  # stacked once


def test_layout_hooks_leave_a_single_object_untouched():
    memory = torch.randn(10, 1, 4)
    _, kwargs = object_batch._batch_first_memory(None, (), {"memory": memory, "memory_pos": memory})
    assert kwargs["memory"] is memory and kwargs["memory_pos"] is memory
    tokens = torch.randn(1, 8, 4, 4).permute(0, 1, 3, 2)
    assert object_batch._contiguous_batch(None, (tokens,))[0] is tokens
    assert object_batch._rows_alone(torch.nn.Linear(4, 2), (torch.randn(1, 4),), torch.zeros(1, 2)) is None
    assert (
        object_batch._rows_alone(torch.nn.Linear(4, 2), (torch.randn(1, 8, 4),), torch.zeros(1, 8, 2)) is None
    )


def test_a_batch_of_token_rows_gets_each_objects_own_single_call_result():
    torch.manual_seed(0)
    linear = torch.nn.Linear(256, 256)
    tokens = torch.randn(6, 8, 256)  # six objects' eight decoder tokens
    alone = object_batch._rows_alone(linear, (tokens,), linear(tokens))
    for row in range(6):
        assert torch.equal(alone[row : row + 1], linear(tokens[row : row + 1]))


def test_layout_hooks_give_a_batch_each_rows_own_layout_and_arithmetic():
    memory = torch.randn(2, 10, 4).transpose(0, 1)  # tokens x batch x channels, batch-first in storage
    seq_first = memory.contiguous()
    _, kwargs = object_batch._batch_first_memory(None, (), {"memory": seq_first, "memory_pos": None})
    assert torch.equal(kwargs["memory"], seq_first) and kwargs["memory"].transpose(0, 1).is_contiguous()
    (contiguous,) = object_batch._contiguous_batch(None, (torch.randn(2, 8, 4, 4).transpose(2, 3),))
    assert contiguous.is_contiguous()
    head = torch.nn.Linear(16, 8)
    tokens = torch.randn(3, 16)
    rows = object_batch._rows_alone(head, (tokens,), head(tokens))
    assert all(torch.equal(rows[i : i + 1], head(tokens[i : i + 1])) for i in range(3))
