"""The segmentation engine: SAM 2 checkpoints and the one shared model (`checkpoints`, `model`), the prompt
state (`prompts`), streaming propagation equal to the official predictor (`propagation`, `model_frames`),
single-frame interaction (`interactive`), mask exports and the preview (`exports`, `overlay`) and the
whole flow in one call (`pipeline.segment_video`). Builds on `media`; torch and sam2 are imported only by
the modules that run the model. Importing this package imports none of its modules.
"""
