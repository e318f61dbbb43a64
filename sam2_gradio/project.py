"""`python -m sam2_gradio.project`: the project CLI at its documented name (`sam2_gradio.cli.project`)."""

import sys

from sam2_gradio.cli.project import main

if __name__ == "__main__":
    sys.exit(main())
