"""`python -m sam2_gradio.batch`: the batch CLI at its documented name (`sam2_gradio.cli.batch`)."""

import sys

from sam2_gradio.cli.batch import main

if __name__ == "__main__":
    sys.exit(main())
