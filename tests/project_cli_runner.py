"""Run a sam2-gradio CLI in this process with the tests' random-weights model (masks not empty).

    python tests/project_cli_runner.py segment --video ... --random-weights --image-size 256

The model is `sam2_support.build_random_model()`, which the tests build in process too, so a CLI run's
masks can be compared with an in-process run bit for bit.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sam2_support import build_random_model  # noqa: E402

from sam2_gradio.cli import export, segment  # noqa: E402
from sam2_gradio.engine.model import predictor  # noqa: E402

if __name__ == "__main__":
    shared = build_random_model()
    predictor.get_shared_model = lambda settings: shared  # the CLI asks for it after parsing its flags
    command, *argv = sys.argv[1:]
    sys.exit({"segment": segment.main, "export": export.main}[command](argv))
