"""The Gradio app: components and event wiring (`ui`), page scripts (`assets`), browser sessions with their
private folders (`sessions`), the Segment and Compose actions the handlers call (`segment_actions`,
`compose_actions`) and the app's handle on the shared model (`model_holder`). The top layer besides the
CLIs; only `ui` imports gradio. Importing this package imports none of its modules.
"""
