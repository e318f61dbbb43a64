"""The Gradio app: a Segment tab (click objects, track them with SAM 2) and a Compose tab (paste them
into another video), and its launch (`python app.py`).

Each tab is built the same way: `segment_tab` / `compose_tab` lay out the components and wire the
events to the handlers of `segment_handlers` / `compose_handlers`, which call the library's actions;
`edge` maps library errors to one sentence, wraps SAM 2 events for ZeroGPU and names the queue slots.

Named API endpoints (gradio_client): `/propagate` (video + state JSON -> preview, masks zip, state) and
`/compose` (object video + masks zip + background -> composite), plus one per control.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from sam2_gradio import config
from sam2_gradio.app import assets as ui_assets
from sam2_gradio.app.compose_handlers import ComposeHandlers
from sam2_gradio.app.compose_tab import build_compose_tab
from sam2_gradio.app.holdout_handlers import HoldoutHandlers
from sam2_gradio.app.model_holder import AppModel
from sam2_gradio.app.projects import ProjectLibrary
from sam2_gradio.app.segment_handlers import SegmentHandlers
from sam2_gradio.app.segment_tab import build_segment_tab, wire_restore
from sam2_gradio.app.sessions import SessionStore
from sam2_gradio.engine.model.checkpoints import add_model_arguments
from sam2_gradio.errors import BadInput, UserError
from sam2_gradio.limits import read_bounded

logger = logging.getLogger(__name__)


def create_app(
    model: AppModel,
    *,
    sessions: SessionStore | None = None,
    library: ProjectLibrary | None = None,
    public: bool = False,
) -> gr.Blocks:
    """The whole app, queue configured; each browser session's files go when its tab closes, its
    projects stay in `library` (default `config.PROJECTS_DIR`; when `public`, idle ones expire and each
    may take at most `config.PUBLIC_PROJECT_DISK_MB`, unless the library has its own cap)."""
    sessions = sessions if sessions is not None else SessionStore()
    library = library if library is not None else ProjectLibrary()
    if public:
        library.expire(config.PUBLIC_PROJECT_IDLE_HOURS)
        if library.disk_cap_mb is None:
            library.disk_cap_mb = config.PUBLIC_PROJECT_DISK_MB

    def close_session(request: gr.Request) -> None:
        sessions.close(request.session_hash)

    stale_seconds = int(config.STALE_SESSION_HOURS * 3600)
    with gr.Blocks(title="SAM 2: segment and compose", delete_cache=(3600, stale_seconds)) as demo:
        gr.Markdown(
            "## SAM 2 video segmentation and compositing\n"
            "Click objects in a video, let SAM 2 track them, then paste them into another video."
        )
        with gr.Tab("Segment", id="segment", elem_id="tab-segment"):
            segment_handlers = SegmentHandlers(model, sessions, library)
            segment_view = build_segment_tab(segment_handlers, projects_note=projects_note(library, public))
        with gr.Tab("Compose", id="compose", elem_id="tab-compose") as compose_tab:
            build_compose_tab(
                ComposeHandlers(sessions, library),
                compose_tab,
                segment_view.kept_projects,
                HoldoutHandlers(model, sessions),
            )
        demo.load(None, js=ui_assets.page_setup_js())
        wire_restore(segment_handlers, segment_view, demo)
        demo.unload(close_session)
    demo.queue(default_concurrency_limit=config.PREVIEW_CONCURRENCY)
    return demo


def projects_note(library: ProjectLibrary, public: bool) -> str:
    """What the Projects panel says about where the work is kept."""
    if public:
        cap = library.disk_cap_mb if library.disk_cap_mb is not None else config.PUBLIC_PROJECT_DISK_MB
        return (
            "Your work is kept in a project per video, found again by this browser after a reload or a "
            "restart. This is a public server: projects nobody opened for "
            f"{config.PUBLIC_PROJECT_IDLE_HOURS:g} hours are deleted, and a project may take at most "
            f"{cap:g} MB of disk (its video, masks and exports), so download what you need."
        )
    return (
        "Your work is kept in a project per video, found again by this browser after a reload, a closed "
        f"tab or a restart, in `{library.root}` (`--projects-dir`, `SAM2_GRADIO_PROJECTS_DIR`)."
    )


def build_parser() -> argparse.ArgumentParser:
    """The app's arguments: where to serve, and which model (the segment CLI's model flags)."""
    parser = argparse.ArgumentParser(
        prog="sam2-gradio",
        description="Segment objects in a video with SAM 2 and composite them into another.",
        allow_abbrev=False,  # "--auth USER:PASSWORD" must not pass for --auth-file
    )
    parser.add_argument(
        "--host", default=config.DEFAULT_HOST, help="address to serve on (0.0.0.0: every interface)"
    )
    parser.add_argument("--port", type=int, default=config.DEFAULT_PORT, help="port to serve on")
    parser.add_argument(
        "--share",
        action="store_true",
        help="also serve through a public gradio.live link: anyone with it can use the app (see --auth)",
    )
    parser.add_argument(
        "--auth-file",
        metavar="PATH",
        help=f"ask for the login USER:PASSWORD this file holds before the app opens (default: "
        f"${config.AUTH_ENV}, else no login); never on the command line, where ps would show it",
    )
    parser.add_argument(
        "--projects-dir",
        default=str(config.PROJECTS_DIR),
        help="where projects (one per uploaded video) are kept (default: $SAM2_GRADIO_PROJECTS_DIR or "
        "%(default)s)",
    )
    add_model_arguments(parser)
    return parser


def parse_auth(text: str | None) -> tuple[str, str] | None:
    """("user", "password") from "user:password" (the password may contain ":"); None for no login.

    Raises:
        ValueError: no ":", or an empty user or password (the message never repeats the text).
    """
    if not text:
        return None
    user, colon, password = text.partition(":")
    if not colon or not user or not password:
        raise BadInput("the login must be given as USER:PASSWORD, both non-empty")
    return user, password


def read_auth_file(path: str | os.PathLike) -> str:
    """The USER:PASSWORD line of a login file (surrounding blanks and the newline dropped)."""
    data = read_bounded(path, config.MAX_LOGIN_FILE_BYTES, "login file")
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise BadInput("the login file is not UTF-8 text") from None


def login_checker(
    auth: tuple[str, str], sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> Callable[[str, str], Awaitable[bool]]:
    """Gradio's `auth` callable for one login: after `config.LOGIN_FREE_FAILURES` wrong logins in a row,
    each further one is answered only after a delay that doubles up to `config.LOGIN_MAX_DELAY_SECONDS`,
    and attempts are answered one at a time (so thirty at once take minutes, not a moment). A right
    login resets the count. Passwords are compared in constant time and never logged."""
    user, password = auth
    failures = 0
    turn = asyncio.Lock()

    async def check(given_user: str, given_password: str) -> bool:
        nonlocal failures
        async with turn:
            right = secrets.compare_digest(given_user.encode(), user.encode()) & secrets.compare_digest(
                given_password.encode(), password.encode()
            )
            if right:
                failures = 0
                return True
            failures += 1
            if failures > config.LOGIN_FREE_FAILURES:
                extra = failures - config.LOGIN_FREE_FAILURES - 1
                await sleep(min(0.5 * 2.0**extra, config.LOGIN_MAX_DELAY_SECONDS))
            return False

    return check


def session_dir_problem(folder: Path, *, working_dir: Path | None = None) -> str | None:
    """Why gradio would refuse to hand out results from `folder`, or None when it is inside the system
    temp folder or the working directory (the only places gradio serves results from without
    `allowed_paths`, where session folders must never be)."""
    folder = folder.resolve()
    working_dir = (working_dir or Path.cwd()).resolve()
    if folder.is_relative_to(Path(tempfile.gettempdir()).resolve()) or folder.is_relative_to(working_dir):
        return None
    return (
        f"SAM2_GRADIO_SESSION_DIR={folder} is outside the temp folder ({tempfile.gettempdir()}) and the "
        "working directory, so gradio would refuse every result; choose a folder inside one of them"
    )


def protective_launch_options(auth: tuple[str, str] | None) -> dict[str, Any]:
    """The `launch()` options that keep the app within its limits: uploads over `config.MAX_UPLOAD_MB`
    refused while they arrive, files served only from the examples folder (and gradio's cache), and
    the login, if any."""
    return {
        "max_file_size": config.MAX_UPLOAD_MB * 2**20,
        "allowed_paths": [str(config.EXAMPLES_DIR)],
        "auth": login_checker(auth) if auth is not None else None,
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `python app.py`: parse, load the model (or learn what is missing), serve."""
    parser = build_parser()
    args = parser.parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")  # SAM 2's per-frame bar; the app shows its own progress
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    from sam2_gradio.engine.model.predictor import settings_from_args

    try:
        auth = parse_auth(
            read_auth_file(args.auth_file) if args.auth_file else os.environ.get(config.AUTH_ENV)
        )
    except ValueError as error:
        parser.exit(2, f"error: --auth-file / ${config.AUTH_ENV}: {error}\n")
    problem = session_dir_problem(config.SESSION_DIR)
    if problem:
        parser.exit(2, f"error: {problem}\n")
    try:
        model = AppModel(settings_from_args(args))
        if model.available:  # builds it now; a missing checkpoint is logged once by AppModel
            logger.info("%s", model.status)
    except UserError as error:
        parser.exit(2, f"error: {error}\n")
    public = args.share or bool(os.environ.get("SPACE_ID"))
    demo = create_app(model, library=ProjectLibrary(args.projects_dir), public=public)
    demo.launch(
        server_name=args.host, server_port=args.port, share=args.share, **protective_launch_options(auth)
    )


__all__ = [
    "build_parser",
    "create_app",
    "login_checker",
    "main",
    "parse_auth",
    "read_auth_file",
    "protective_launch_options",
    "session_dir_problem",
]
