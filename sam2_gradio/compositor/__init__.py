"""The compositor: every option of a composite (`options`), where a cut-out object goes (`placement`,
and in motion: `motion` for follow paths, keyframes and timing), several objects as layers in depth order
(`layers`), how its pixels mix with the background (`blend`), its contact shadow (`shadow`), and the
frame-exact render of a whole composite with audio and holdouts (`render`). Builds on `media`; needs no
model. Importing this package imports none of its modules.
"""
