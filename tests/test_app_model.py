"""The app's model handle: the shared model when it can be built, else a message naming the fix."""

from __future__ import annotations

import pytest

from sam2_gradio import config
from sam2_gradio.app.model_holder import AppModel
from sam2_gradio.engine.model.predictor import ModelSettings
from sam2_gradio.errors import ModelUnavailable


@pytest.fixture
def offline_without_weights(tmp_path, monkeypatch):
    """An empty checkpoint folder, no SAM2_CHECKPOINT and no hub."""
    monkeypatch.setattr(config, "CHECKPOINT_DIR", tmp_path / "checkpoints")
    monkeypatch.delenv(config.CHECKPOINT_ENV, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path


def _assert_unavailable(model: AppModel, *fragments: str) -> None:
    assert model.available is False
    status = model.status
    assert status.startswith("Segmentation is unavailable: ")
    for fragment in fragments:
        assert fragment in status
    with pytest.raises(ModelUnavailable) as raised, model.use():
        pass
    assert str(raised.value) in status


def test_missing_weights_name_the_file_and_the_fetch_command(offline_without_weights):
    model = AppModel(ModelSettings(model_size="small", image_size=256, device="cpu"))
    _assert_unavailable(
        model,
        "sam2.1_hiera_small.pt",
        str(offline_without_weights / "checkpoints"),
        "`python -m sam2_gradio.checkpoints --model-size small`",
    )


def test_a_checkpoint_path_that_does_not_exist_is_named_with_the_fetch_command(offline_without_weights):
    missing = offline_without_weights / "nowhere" / "sam2.1_hiera_tiny.pt"
    model = AppModel(ModelSettings(model_size="tiny", checkpoint=str(missing), image_size=256, device="cpu"))
    _assert_unavailable(model, str(missing), "`python -m sam2_gradio.checkpoints --model-size tiny`")


def test_a_given_model_is_used_and_its_status_says_random_weights_plainly(random_model):
    model = AppModel(random_model.settings, model=random_model)
    assert model.available is True
    assert model.load() is random_model
    assert "random weights" in model.status and "masks are meaningless" in model.status
    with model.use() as predictor:
        assert predictor is random_model.predictor
