"""The project store: one SQLite database per video holding everything a user's work produced.

`schema` owns the tables, the schema version and the migrations; `project` is the typed API over them
(`Project.create` / `Project.open`, prompts with their undo history, masks as RLE per frame and object,
runs and the propagation checkpoint). Nothing here runs the model.
"""
