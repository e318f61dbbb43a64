"""`python -m sam2_gradio.checkpoints`: fetch SAM 2.1 weights, kept at this documented name
(see `sam2_gradio.engine.model.checkpoints`)."""

from sam2_gradio.engine.model.checkpoints import main

if __name__ == "__main__":
    main()
