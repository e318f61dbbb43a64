"""The compositor: where a cut-out object goes (`placement`), how its pixels mix with the background
(`blend`), and the frame-exact render of a whole composite with audio (`render`). Builds on `media`; needs
no model. Importing this package imports none of its modules.
"""
