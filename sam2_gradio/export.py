"""`python -m sam2_gradio.export`: the export CLI at its documented name (`sam2_gradio.cli.export`)."""

import sys

from sam2_gradio.cli.export import main

if __name__ == "__main__":
    sys.exit(main())
