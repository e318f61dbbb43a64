"""The segmentation's user-facing options, declared once: the segment CLI's `--direction` and
`--batch-size` and the Segment tab's controls are built from `SegmentOptions`' fields.

Light on purpose (no torch): the CLI builds its flags from here before it loads the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from sam2_gradio import config
from sam2_gradio.config import check_options, option

DIRECTIONS: tuple[str, ...] = ("forward", "backward", "both")


@dataclass(frozen=True)
class SegmentOptions:
    """How a propagation runs; every field has a usable default."""

    direction: str = option(
        "forward",
        choices=DIRECTIONS,
        label="Direction",
        help="propagate forward from the first prompted frame, backward from the last, or both",
    )
    batch_size: int = option(
        config.DEFAULT_BATCH_SIZE,
        minimum=1,
        slider=(1, 128),
        label="Batch size (frames)",
        help="frames decoded and handed to the model at a time",
    )

    def __post_init__(self) -> None:
        check_options(self)
