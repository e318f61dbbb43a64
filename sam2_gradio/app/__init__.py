"""The Gradio app. Each tab is a layout-and-wiring module (`segment_tab`, `compose_tab`) over a handlers
module (`segment_handlers`, `compose_handlers`); `edge` turns library errors into one sentence, wraps SAM 2
events for ZeroGPU and names the queue slots; `server` assembles the tabs and launches (`python app.py`).
Below them: page scripts (`assets`), browser sessions with their private folders (`sessions`), the Segment
and Compose actions the handlers call, without gradio (`segment_actions`, `compose_actions`), and the
app's handle on the shared model (`model_holder`). The top layer besides the CLIs; only the tab, handler,
edge and server modules import gradio. Importing this package imports none of its modules.
"""
