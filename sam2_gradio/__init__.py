"""sam2-gradio: segment objects in a video with SAM 2 and composite them into another video.

Importing the package is cheap: torch and sam2 are imported only by the modules that run the model
(`sam2_gradio.model`, `sam2_gradio.propagation`), so the compositor and the CLIs start fast.
"""

__version__ = "0.1.0"
