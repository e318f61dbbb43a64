"""Helpers for tests that drive the launched app: start it in-process on a free port, build its model."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

from sam2_gradio.app.model_holder import AppModel
from sam2_gradio.app.server import create_app, protective_launch_options
from sam2_gradio.app.sessions import SessionStore
from sam2_gradio.engine.model.predictor import SharedModel

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def app_model_of(shared: SharedModel) -> AppModel:
    """The app's handle on an already built model (e.g. the `random_model` fixture)."""
    return AppModel(shared.settings, model=shared)


@contextlib.contextmanager
def running_app(model: AppModel, sessions_root: Path) -> Iterator[str]:
    """Launch the app on 127.0.0.1 (free port), session folders under `sessions_root`; yield its URL."""
    demo = create_app(model, sessions=SessionStore(sessions_root))
    _, url, _ = demo.launch(
        server_name=HOST,
        server_port=free_port(),
        prevent_thread_lock=True,
        quiet=True,
        **protective_launch_options(auth=None),
    )
    try:
        yield url
    finally:
        demo.close()
