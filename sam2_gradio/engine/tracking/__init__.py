"""From clicks to masks: prompts with their undo history (`prompts`), one-frame prediction
(`interactive`), resumable streamed propagation (`propagation`) driven in steps (`steps`), the calls that
run on a GPU or a ZeroGPU worker (`gpu_tasks`), tracking into a project (`track_project`) and the
one-call `segment_video` (`pipeline`)."""
