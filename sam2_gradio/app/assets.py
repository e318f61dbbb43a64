"""Browser-side pieces of the app: the Segment tab's keyboard shortcuts and a little CSS.

`page_setup_js()` is a JavaScript function the app runs once when a page loads (`demo.load(js=...)`), so
the app looks and behaves the same however it is launched. The shortcuts are those of the original OpenCV
script: ←/→ step through the frames, N adds an object, R resets, Enter propagates. Each presses the button
of that `elem_id`, so a shortcut does exactly what the button does; keys are ignored while typing in a
field and while the Segment tab is hidden.
"""

import json

# key (lower case for letters) -> elem_id of the button it presses
SHORTCUTS = {
    "ArrowLeft": "seg-prev",
    "ArrowRight": "seg-next",
    "n": "seg-new-object",
    "r": "seg-reset",
    "Enter": "seg-propagate",
}

FILE_HEIGHT = 110  # pixels of an empty file box (both tabs)

SHORTCUTS_HELP = "Keys: ←/→ previous/next frame · N new object · R reset · Enter propagate"

# Keeps the clickable frame and the composite preview within the window; lays out the object legend.
CSS = """
#seg-frame img, #cmp-preview img { object-fit: contain; width: 100%; max-height: 62vh; }
#seg-frame img { cursor: crosshair; }
.object-legend { display: flex; flex-wrap: wrap; gap: 0.3em 1.2em; padding: 0.2em 0; }
.object-legend .dot { font-size: 1.4em; line-height: 1; vertical-align: middle; }
"""

_PAGE_SETUP_TEMPLATE = """
() => {
  if (window.sam2GradioReady) return;
  window.sam2GradioReady = true;
  const style = document.createElement("style");
  style.textContent = %(css)s;
  document.head.appendChild(style);
  const shortcuts = %(shortcuts)s;
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    if (event.key === "Enter" && target.closest && target.closest("button, a")) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const button = document.getElementById(shortcuts[key]);
    if (!button || button.offsetParent === null || button.disabled) return;
    event.preventDefault();
    button.click();
  });
}
"""


def page_setup_js() -> str:
    """A JavaScript function (for `demo.load(js=...)`) that adds the CSS and the shortcuts, once per page."""
    return _PAGE_SETUP_TEMPLATE % {"css": json.dumps(CSS), "shortcuts": json.dumps(SHORTCUTS)}
