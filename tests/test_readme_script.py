"""The README's "In a script" examples, run as written: only the top-level API, on tiny synthetic videos,
with the README's model settings served by the random-weights model."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
from sam2_support import scene_frame

from sam2_gradio.engine.model import predictor
from sam2_gradio.engine.model.predictor import ModelSettings
from sam2_gradio.media.video import probe_video, read_frame

README = Path(__file__).resolve().parents[1] / "README.md"
NUM_FRAMES = 6


def script_blocks() -> list[str]:
    """The python blocks of the README's "In a script" section, in order."""
    section = README.read_text().split("\n## In a script\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_script_examples_import_only_the_top_level_api():
    blocks = script_blocks()
    assert len(blocks) == 3  # segment, compose, then holdouts
    for block in blocks:
        imports = [
            node for node in ast.walk(ast.parse(block)) if isinstance(node, ast.Import | ast.ImportFrom)
        ]
        assert imports and all(isinstance(node, ast.ImportFrom) for node in imports)
        assert {node.module for node in imports} == {"sam2_gradio"}


def test_the_script_examples_segment_and_compose(random_model, make_video, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # The README asks for ModelSettings(model_size="tiny"): the model cache answers with random weights.
    monkeypatch.setitem(predictor._shared, ModelSettings(model_size="tiny"), random_model)
    clip = make_video("clip.mp4", [scene_frame(index) for index in range(NUM_FRAMES)], fps=10)
    background = np.full((96, 128, 3), 90, np.uint8)
    bg = make_video("background.mp4", [background] * (NUM_FRAMES + 4), fps=10)
    assert (clip, bg) == (tmp_path / "clip.mp4", tmp_path / "background.mp4")
    clicks = {"0": {"1": {"points": [[30, 60]], "labels": [1]}}}  # the red disc of scene_frame(0)
    Path("interactive_state.json").write_text(json.dumps({"version": 1, "clicks": clicks}))
    post = {"0": {"1": {"points": [[10, 10]], "labels": [1]}}}  # a holdout clicked on the background
    Path("post_state.json").write_text(json.dumps({"version": 1, "clicks": post}))

    script: dict = {}  # the blocks are one script: each goes on with the names of the ones before
    for block in script_blocks():
        exec(compile(block, str(README), "exec"), script)  # noqa: S102 (the README's own code)

    per_object = sorted(path.name for path in (tmp_path / "masks" / "per_object").iterdir())
    assert per_object == [f"mask_{frame:05d}_obj_1.png" for frame in range(NUM_FRAMES)]
    assert probe_video(tmp_path / "preview.mp4").num_frames == NUM_FRAMES
    composite = probe_video(tmp_path / "composite.mp4")
    assert (composite.width, composite.height) == (128, 96)  # the background's size
    assert composite.num_frames == NUM_FRAMES  # the shorter video's length (no loop)
    pasted = np.abs(read_frame(tmp_path / "composite.mp4", 0).astype(int) - background).max(axis=2) > 40
    assert pasted.any() and not pasted.all()  # the tracked object, over part of the background
    assert (tmp_path / "projects" / "background" / "project.sqlite").exists()  # the holdouts' project
