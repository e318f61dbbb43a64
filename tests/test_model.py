"""The model factory: device choice, image size, loud failure on wrong or missing weights."""

from __future__ import annotations

import sys
import threading

import pytest
import torch

from sam2_gradio import config
from sam2_gradio.engine.model.predictor import ModelSettings, SharedModel, build_predictor, choose_device
from sam2_gradio.errors import CheckpointUnavailable


def test_device_choice():
    assert choose_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert choose_device(None).type in ("cpu", "mps")
        with pytest.raises(ValueError, match="CUDA is not available"):
            choose_device("cuda")


def test_image_size_must_be_a_multiple_of_16():
    with pytest.raises(ValueError, match="multiple of 16, got 250"):
        build_predictor(ModelSettings(random_weights=True, image_size=250, device="cpu"))


@pytest.mark.slow
def test_image_size_override_reaches_the_model(random_model):
    assert random_model.predictor.image_size == 256
    assert random_model.description == "SAM 2.1 tiny at 256 px on cpu, random weights (no checkpoint)"


def test_the_model_runs_in_float32_on_the_cpu_unless_bf16_is_asked_for(random_model, monkeypatch):
    image = torch.rand(1, 3, 256, 256)
    with random_model.use() as predictor:
        assert not torch.is_autocast_enabled("cpu")
        features = predictor.forward_image(image)["vision_features"]
    assert features.dtype == torch.float32
    monkeypatch.setattr(config, "CPU_BF16", True)
    with random_model.use() as predictor:
        assert torch.get_autocast_dtype("cpu") == torch.bfloat16 and torch.is_autocast_enabled("cpu")
        assert predictor.image_encoder.trunk.patch_embed(image).dtype == torch.bfloat16
    assert not torch.is_autocast_enabled("cpu")


def test_the_model_keeps_the_log_quiet(random_model, capsys):
    import sam2.sam2_video_predictor as video_predictor_module

    for _ in video_predictor_module.tqdm(range(3), desc="propagate in video"):
        pass
    assert "propagate in video" not in capsys.readouterr().err  # no per-frame bar
    assert random_model.predictor.fill_hole_area == 0  # its CUDA kernel cannot run here: no warning per click


def test_missing_weights_offline_raise_with_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "CHECKPOINT_DIR", tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CheckpointUnavailable, match="--model-size base\\+"):
        build_predictor(ModelSettings(model_size="b+", image_size=256, device="cpu"))


@pytest.mark.slow
def test_weights_that_do_not_fit_fail_loudly(tmp_path):
    wrong = tmp_path / "wrong.pt"
    torch.save({"model": {"image_encoder.bogus": torch.zeros(1)}}, wrong)
    with pytest.raises(
        RuntimeError, match=r"does not fit the SAM 2.1 tiny model: \d+ missing and 1 unexpected"
    ):
        build_predictor(ModelSettings(checkpoint=str(wrong), image_size=256, device="cpu"))
    not_a_checkpoint = tmp_path / "notes.pt"
    not_a_checkpoint.write_text("hello")
    with pytest.raises(RuntimeError, match="is not a SAM 2 checkpoint"):
        build_predictor(ModelSettings(checkpoint=str(not_a_checkpoint), image_size=256, device="cpu"))


@pytest.mark.slow
def test_real_checkpoint_round_trip_loads(random_model, tmp_path):
    saved = tmp_path / "sam2.1_hiera_tiny.pt"
    torch.save({"model": random_model.predictor.state_dict()}, saved)
    loaded = build_predictor(ModelSettings(checkpoint=str(saved), image_size=256, device="cpu"))
    bias = loaded.sam_mask_decoder.pred_obj_score_head.layers[-1].bias
    assert torch.all(bias == 5.0)


def test_shared_model_lets_one_job_at_a_time_use_the_predictor():
    class StandInPredictor:
        device = torch.device("cpu")

    model = SharedModel(StandInPredictor(), ModelSettings(device="cpu"))
    inside, overlaps = [], []

    def job() -> None:
        with model.use():
            inside.append(1)
            overlaps.append(len(inside))
            threading.Event().wait(0.02)
            inside.pop()

    threads = [threading.Thread(target=job) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [1, 1, 1, 1]


def test_the_model_and_the_app_never_import_torchvision(random_model, scene_jpegs, tmp_path):
    """torchvision's wheels here are CUDA builds that fail beside CPU torch: nothing may need them."""
    import sam2_gradio.app.server  # noqa: F401
    import sam2_gradio.cli.compose  # noqa: F401
    import sam2_gradio.cli.segment  # noqa: F401
    from sam2_gradio.engine.exports.project_exports import OutputRequest
    from sam2_gradio.engine.options import SegmentOptions
    from sam2_gradio.engine.tracking.pipeline import segment_video
    from sam2_gradio.engine.tracking.prompts import PromptState
    from sam2_gradio.media.frames import open_frames

    source = open_frames(scene_jpegs)
    prompts = PromptState(source.meta)
    prompts.add_click(0, 1, 30, 60, 1)
    outputs = OutputRequest(mask_dir=tmp_path / "no_vision_masks")
    result = segment_video(random_model, scene_jpegs, prompts, outputs, options=SegmentOptions(batch_size=8))
    assert result.frames_tracked == source.meta.num_frames
    assert not [name for name in sys.modules if name.split(".")[0] == "torchvision"]
