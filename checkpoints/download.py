"""Download SAM 2.1 weights into this folder: `python checkpoints/download.py [tiny|small|base+|large]`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sam2_gradio.engine.model.checkpoints import main  # noqa: E402  (the repository root must be on sys.path first)

if __name__ == "__main__":
    main(["--model-size", *sys.argv[1:2]] if len(sys.argv) > 1 else [])
