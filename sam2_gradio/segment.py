"""`python -m sam2_gradio.segment`: the segment CLI at its documented name (`sam2_gradio.cli.segment`)."""

import sys

from sam2_gradio.cli.segment import main

if __name__ == "__main__":
    sys.exit(main())
