"""The command-line tools: `segment` (propagate a saved prompt state and export masks) and `compose` (paste
masked objects into a background video), with the error contract they share (`common`), and `bootstrap`,
which sets up `.venv` for `python3 app.py` and `python3 tests/run.py` with the standard library only. Each
parses its flags before importing anything heavy. Importing this package imports none of its modules.
"""
