"""`media.atomic`: a writer that fails midway leaves the old output intact and no temporary file."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pytest

from sam2_gradio.engine.exports.mask_folder import zip_pngs
from sam2_gradio.engine.tracking.prompts import PromptState, load_prompt_state
from sam2_gradio.media.atomic import atomic_path, temp_sibling
from sam2_gradio.media.frames import VideoMeta
from sam2_gradio.media.mask_files import save_mask_png

VIDEO = VideoMeta(num_frames=4, width=16, height=12, fps=10.0)


def _names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_a_block_that_ends_replaces_the_file_and_one_that_raises_leaves_it(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="midway"), atomic_path(target) as temp:
        temp.write_text("half of the new")
        raise RuntimeError("failed midway")
    assert target.read_text() == "old" and _names(tmp_path) == ["out.json"]
    with atomic_path(target) as temp:
        assert temp.parent == tmp_path and temp.name.startswith(".out.partial-") and temp.suffix == ".json"
        temp.write_text("new")
        assert target.read_text() == "old"  # readers see the old file until the block ends
    assert target.read_text() == "new" and _names(tmp_path) == ["out.json"]


def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path):
    target = tmp_path / "masks"
    target.mkdir()
    (target / "old.png").write_bytes(b"old")
    with pytest.raises(OSError), atomic_path(target) as temp:
        temp.mkdir()
        (temp / "new.png").write_bytes(b"new")
        raise OSError(28, "No space left on device")
    assert _names(target) == ["old.png"] and _names(tmp_path) == ["masks"]
    with atomic_path(target, fsync=True) as temp:
        temp.mkdir()
        (temp / "new.png").write_bytes(b"new")
    assert _names(target) == ["new.png"] and _names(tmp_path) == ["masks"]


def test_temp_siblings_are_hidden_unique_and_keep_the_suffix(tmp_path):
    first, second = temp_sibling(tmp_path / "preview.mp4"), temp_sibling(tmp_path / "preview.mp4")
    assert first != second and first.suffix == ".mp4" and first.name.startswith(".preview.partial-")


def _fill_half_then_fail(self: Path, text: str, *args: object, **kwargs: object) -> int:
    with open(self, "w") as written:
        written.write(text[: len(text) // 2])
    raise OSError(28, "No space left on device")


def test_prompts_save_that_fails_midway_keeps_the_saved_prompts(tmp_path, monkeypatch):
    path = tmp_path / "interactive_state.json"
    saved = PromptState(video=VIDEO)
    saved.add_click(0, 1, 4, 5, 1)
    saved.save(path)
    edited = PromptState(video=VIDEO)
    edited.add_click(2, 1, 8, 9, 1)
    monkeypatch.setattr(Path, "write_text", _fill_half_then_fail)
    with pytest.raises(OSError, match="No space"):
        edited.save(path)
    monkeypatch.undo()
    assert load_prompt_state(path, VIDEO).to_dict() == saved.to_dict()
    assert json.loads(path.read_text()) == saved.to_dict() and _names(tmp_path) == [path.name]


def test_a_mask_png_and_a_zip_that_fail_leave_the_old_files(tmp_path, monkeypatch):
    mask = tmp_path / "mask.png"
    save_mask_png(mask, np.ones((12, 16), dtype=bool))
    before = mask.read_bytes()
    written = Path.write_bytes

    def disk_full(self: Path, data: bytes) -> int:  # half the PNG goes to disk, then the disk is full
        written(self, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_mask_png(mask, np.zeros((12, 16), dtype=bool))
    monkeypatch.undo()
    assert mask.read_bytes() == before and _names(tmp_path) == ["mask.png"]
    zipped = tmp_path / "pngs.zip"
    zipped.write_bytes(b"old zip")
    monkeypatch.setattr(Path, "read_bytes", lambda self: (_ for _ in ()).throw(OSError("unreadable")))
    with pytest.raises(OSError, match="unreadable"):
        zip_pngs(tmp_path, zipped)
    monkeypatch.undo()
    assert zipped.read_bytes() == b"old zip" and _names(tmp_path) == ["mask.png", "pngs.zip"]
