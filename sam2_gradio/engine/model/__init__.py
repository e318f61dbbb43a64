"""SAM 2 itself: checkpoints and their download, the predictor factory and the shared model lock
(`predictor`), frames as the model sees them (`model_frames`), image features kept across clicks and
runs (`features`) and objects tracked together in batches (`object_batch`)."""
