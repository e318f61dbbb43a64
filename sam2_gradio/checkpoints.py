"""`python -m sam2_gradio.checkpoints`: fetch SAM 2.1 weights, kept at this documented name
(see `sam2_gradio.engine.checkpoints`)."""

from sam2_gradio.engine.checkpoints import main

if __name__ == "__main__":
    main()
