"""Start the sam2-gradio app: `python3 app.py [flags]`.

The first run creates `.venv` (see sam2_gradio/cli/bootstrap.py) and restarts this script inside it.
"""

from sam2_gradio.cli import bootstrap

if __name__ == "__main__":
    bootstrap.reexec_in_venv()
    from sam2_gradio.app.server import main

    main()
