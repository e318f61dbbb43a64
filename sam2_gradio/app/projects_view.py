"""What the browser keeps of its projects (`gr.BrowserState`: `{"current": id, "ids": [...]}`) and how
the Projects list shows them; pure functions, no Gradio state."""

from __future__ import annotations

import time
from typing import Any

import gradio as gr

from sam2_gradio import config
from sam2_gradio.app.projects import PROJECT_ID, ProjectEntry

EMPTY: dict[str, Any] = {"current": None, "ids": []}


def known(kept: Any) -> list[str]:
    """The well-formed project ids a browser sent (anything else it sends is ignored)."""
    ids = kept.get("ids", []) if isinstance(kept, dict) else []
    return [i for i in ids if isinstance(i, str) and PROJECT_ID.fullmatch(i)][: 4 * config.PROJECTS_LISTED]


def current(kept: Any) -> str | None:
    """The project the browser had open, if it sent a well-formed id."""
    value = kept.get("current") if isinstance(kept, dict) else None
    return value if isinstance(value, str) and PROJECT_ID.fullmatch(value) else None


def remembered(kept: Any, project_id: str | None) -> dict[str, Any]:
    """`kept` with `project_id` the current project, listed first."""
    if project_id is None:
        return {"current": current(kept), "ids": known(kept)}
    return {"current": project_id, "ids": [project_id, *(i for i in known(kept) if i != project_id)]}


def forgotten(kept: Any, project_id: str) -> dict[str, Any]:
    """`kept` without `project_id`."""
    now = current(kept)
    return {"current": None if now == project_id else now, "ids": [i for i in known(kept) if i != project_id]}


def entry_label(entry: ProjectEntry, now: float | None = None) -> str:
    """One line of the list, e.g. "dog.mp4 · 72/72 frames tracked · 5 min ago"."""
    minutes = max(0, round(((now or time.time()) - entry.updated) / 60))
    age = f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"
    return f"{entry.name} · {entry.frames_tracked}/{entry.frames} frames tracked · {age}"


def choices_update(entries: list[ProjectEntry]) -> dict:
    """The Projects dropdown's update: one choice per entry, none chosen."""
    return gr.update(choices=[(entry_label(e), e.project_id) for e in entries], value=None)
