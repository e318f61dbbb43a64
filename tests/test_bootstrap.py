"""The bootstrap's pure logic: requirement parsing, torch choice, stamp hashes, skipping when set up."""

from __future__ import annotations

from pathlib import Path

import pytest

from sam2_gradio.cli import bootstrap


@pytest.fixture
def fake_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with its own requirements.txt, pyproject.toml and an existing .venv interpreter."""
    (tmp_path / "requirements.txt").write_text(
        "# comment\ngradio>=5.0,<7\ntorch>=2.5.1  # GPU bound\nsam2==1.1.0\n"
    )
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    monkeypatch.setattr(bootstrap, "REQUIREMENTS_FILE", tmp_path / "requirements.txt")
    monkeypatch.setattr(bootstrap, "PYPROJECT_FILE", tmp_path / "pyproject.toml")
    monkeypatch.setattr(bootstrap, "VENV_DIR", venv)
    monkeypatch.setattr(bootstrap, "STAMP_FILE", venv / "stamp.json")
    monkeypatch.setattr(bootstrap, "has_cuda_gpu", lambda: False)
    monkeypatch.setattr(bootstrap, "ensure_chromium", lambda: None)
    return tmp_path


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("torch>=2.5.1", "torch"),
        ("huggingface_hub>=0.24", "huggingface-hub"),
        ("sam2==1.1.0", "sam2"),
        ("numpy", "numpy"),
    ],
)
def test_requirement_name(line: str, name: str) -> None:
    assert bootstrap.requirement_name(line) == name


def test_torch_spec_cpu_pin_and_gpu_bound(fake_repo: Path) -> None:
    assert bootstrap.torch_spec(cuda=False) == bootstrap.CPU_TORCH_SPEC
    assert bootstrap.torch_spec(cuda=True) == "torch>=2.5.1"


def test_torch_spec_needs_torch_line(fake_repo: Path) -> None:
    (fake_repo / "requirements.txt").write_text("gradio\n")
    with pytest.raises(RuntimeError, match="no torch line"):
        bootstrap.torch_spec(cuda=True)


def test_stamp_changes_with_requirements(fake_repo: Path) -> None:
    before = bootstrap.stamp_hashes(cuda=False)
    (fake_repo / "requirements.txt").write_text("gradio>=6\ntorch>=2.5.1\n")
    after = bootstrap.stamp_hashes(cuda=False)
    assert before["base"] != after["base"] and before["test"] != after["test"]
    assert bootstrap.stamp_hashes(cuda=True)["base"] != after["base"]


def test_installs_once_then_skips(fake_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    installs: list[str] = []
    monkeypatch.setattr(bootstrap, "install_base", lambda cuda: installs.append("base"))
    monkeypatch.setattr(bootstrap, "install_test_packages", lambda: installs.append("test"))
    bootstrap.ensure_environment()
    bootstrap.ensure_environment()
    assert installs == ["base"]
    python = bootstrap.ensure_environment(extras=("test",))
    bootstrap.ensure_environment(extras=("test",))
    assert installs == ["base", "test"]
    assert python == fake_repo / ".venv" / "bin" / "python"


def test_unknown_extra_raises(fake_repo: Path) -> None:
    with pytest.raises(ValueError, match="'docs'"):
        bootstrap.ensure_environment(extras=("docs",))
