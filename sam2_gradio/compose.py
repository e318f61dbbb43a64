"""`python -m sam2_gradio.compose`: the compose CLI at its documented name (`sam2_gradio.cli.compose`)."""

import sys

from sam2_gradio.cli.compose import main

if __name__ == "__main__":
    sys.exit(main())
