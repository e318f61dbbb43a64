"""Checkpoint resolution: explicit path, env var, checkpoint folder, hub download; no network."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sam2_gradio import config
from sam2_gradio.engine.model import checkpoints
from sam2_gradio.errors import CheckpointUnavailable


@pytest.fixture
def checkpoint_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty checkpoint folder, no SAM2_CHECKPOINT, and a hub that is offline."""
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    monkeypatch.setattr(config, "CHECKPOINT_DIR", folder)
    monkeypatch.delenv(config.CHECKPOINT_ENV, raising=False)

    def offline_download(*args: object, **kwargs: object) -> str:
        raise OSError("network is unreachable")

    monkeypatch.setattr("huggingface_hub.hf_hub_download", offline_download)
    return folder


def write_weights(path: Path) -> Path:
    """A stand-in weight file (content is never read)."""
    path.write_bytes(b"weights")
    return path


def test_explicit_path_wins(checkpoint_dir: Path, tmp_path: Path) -> None:
    weights = write_weights(tmp_path / "mine.pt")
    write_weights(checkpoint_dir / "sam2.1_hiera_tiny.pt")
    assert checkpoints.resolve_checkpoint("tiny", path=weights) == weights


def test_env_var_path(checkpoint_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    weights = write_weights(tmp_path / "from_env.pt")
    monkeypatch.setenv(config.CHECKPOINT_ENV, str(weights))
    assert checkpoints.resolve_checkpoint("large") == weights


def test_found_in_checkpoint_dir(checkpoint_dir: Path) -> None:
    weights = write_weights(checkpoint_dir / "sam2.1_hiera_base_plus.pt")
    assert checkpoints.resolve_checkpoint("b+") == weights


def test_downloads_into_checkpoint_dir(checkpoint_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_download(repo_id: str, filename: str, *, local_dir: Path) -> str:
        calls.append((repo_id, filename, local_dir))
        return str(write_weights(Path(local_dir) / filename))

    monkeypatch.setattr("huggingface_hub.hf_hub_download", fake_download)
    monkeypatch.setattr(checkpoints, "hub_reachable", lambda: True)
    assert checkpoints.resolve_checkpoint("small") == checkpoint_dir / "sam2.1_hiera_small.pt"
    assert calls == [("facebook/sam2.1-hiera-small", "sam2.1_hiera_small.pt", checkpoint_dir)]


def test_missing_and_offline_names_fetch_command(checkpoint_dir: Path) -> None:
    with pytest.raises(CheckpointUnavailable) as raised:
        checkpoints.resolve_checkpoint("tiny")
    message = str(raised.value)
    assert "python -m sam2_gradio.checkpoints --model-size tiny" in message
    assert "sam2.1_hiera_tiny.pt" in message
    assert isinstance(raised.value, RuntimeError)


def test_unreachable_hub_fails_fast_without_calling_the_downloader(
    checkpoint_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("huggingface_hub.hf_hub_download", pytest.fail)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CheckpointUnavailable, match="cannot be reached"):
        checkpoints.resolve_checkpoint("tiny")


def test_download_not_allowed(checkpoint_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_download(*args: object, **kwargs: object) -> str:
        raise AssertionError("download attempted")

    monkeypatch.setattr("huggingface_hub.hf_hub_download", must_not_download)
    with pytest.raises(CheckpointUnavailable, match="--model-size large"):
        checkpoints.resolve_checkpoint("l", allow_download=False)


@pytest.mark.parametrize("from_env", [False, True])
def test_explicit_missing_path_raises_without_download(
    checkpoint_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, from_env: bool
) -> None:
    missing = tmp_path / "nope.pt"
    monkeypatch.setattr("huggingface_hub.hf_hub_download", pytest.fail)
    if from_env:
        monkeypatch.setenv(config.CHECKPOINT_ENV, str(missing))
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        checkpoints.resolve_checkpoint("tiny", path=None if from_env else missing)


def _trunk_size(config_file: Path) -> int:
    """embed_dim² × number of blocks of a SAM 2 config's Hiera trunk: how big its image encoder is."""
    import inspect

    import yaml
    from sam2.modeling.backbones.hieradet import Hiera

    trunk = yaml.safe_load(config_file.read_text())["model"]["image_encoder"]["trunk"]
    default_stages = inspect.signature(Hiera).parameters["stages"].default
    return trunk["embed_dim"] ** 2 * sum(trunk.get("stages", default_stages))


def test_each_size_names_a_config_that_sam2_ships_and_the_hub_repo_of_its_file() -> None:
    import sam2

    for spec in checkpoints.MODELS.values():
        config_file = Path(sam2.__file__).parent / spec.config_name
        assert config_file.is_file(), spec  # build_sam2_video_predictor finds it
        assert spec.repo_id == "facebook/" + Path(spec.file_name).stem.replace("_", "-"), spec


def test_sizes_are_listed_small_to_large_with_download_sizes_in_the_same_order() -> None:
    import sam2

    specs = list(checkpoints.MODELS.values())
    trunk_sizes = [_trunk_size(Path(sam2.__file__).parent / spec.config_name) for spec in specs]
    assert trunk_sizes == sorted(set(trunk_sizes))  # strictly growing encoders
    assert [spec.approx_mb for spec in specs] == sorted({spec.approx_mb for spec in specs})


@pytest.mark.parametrize(
    ("alias", "size"),
    [
        ("t", "tiny"),
        ("s", "small"),
        ("b+", "base+"),
        ("base_plus", "base+"),
        ("l", "large"),
        ("Large", "large"),
    ],
)
def test_aliases(alias: str, size: str) -> None:
    assert checkpoints.model_spec(alias).size == size


def test_bad_size_names_value_and_choices() -> None:
    with pytest.raises(ValueError, match="'huge'.*tiny, small, base\\+, large"):
        checkpoints.model_spec("huge")


@pytest.mark.parametrize("size", ["tiny", "small", "base+", "large"])
def test_config_maps_back_to_size(size: str) -> None:
    config_name = checkpoints.MODELS[size].config_name
    assert checkpoints.size_from_config(config_name) == size
    assert checkpoints.size_from_config(Path(config_name).name) == size


def test_unknown_config_raises() -> None:
    with pytest.raises(ValueError, match="sam2_hiera_t.yaml"):
        checkpoints.size_from_config("configs/sam2/sam2_hiera_t.yaml")


def test_default_size_is_a_canonical_size_name() -> None:
    assert checkpoints.model_spec(config.DEFAULT_MODEL_SIZE).size == config.DEFAULT_MODEL_SIZE


def test_cli_offline_exits_with_fetch_command(
    checkpoint_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        checkpoints.main(["--model-size", "s"])
    assert raised.value.code == 1
    assert "--model-size small" in capsys.readouterr().err


def test_does_not_import_torch() -> None:
    code = (
        "import sys, sam2_gradio.engine.model.checkpoints; "
        "sys.exit('torch' in sys.modules or 'sam2' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_app_and_the_segment_cli_take_the_same_model_flags():
    from sam2_gradio.app import server
    from sam2_gradio.cli import segment
    from sam2_gradio.engine.model.predictor import settings_from_args

    argv = ["--model-size", "small", "--image-size", "512", "--device", "cpu", "--checkpoint", "w.pt"]
    argv += ["--vos-optimized", "--random-weights"]
    app_args = server.build_parser().parse_args(argv)
    cli_args = segment.build_parser().parse_args([*argv, "--state-file", "state.json"])
    expected = {
        "model_size": "small",
        "image_size": 512,
        "device": "cpu",
        "checkpoint": "w.pt",
        "vos_optimized": True,
        "random_weights": True,
    }
    for name, value in expected.items():
        assert getattr(app_args, name) == getattr(cli_args, name) == value, name
    settings = settings_from_args(app_args)
    assert (settings.model_size, settings.image_size, settings.vos_optimized) == ("small", 512, True)
    assert settings_from_args(app_args, model_size="l").model_size == "large"
