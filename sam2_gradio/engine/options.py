"""The segmentation's user-facing options, declared once: the segment CLI's `--direction` and
`--batch-size` and the Segment tab's controls are built from `SegmentOptions`' fields, the Segment tab's
export checkboxes and the matching `/propagate` parameters from `ExportChoices`' fields.

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
        maximum=config.MAX_BATCH_SIZE,
        slider=(1, 128),
        label="Batch size (frames)",
        help="frames decoded and handed to the model at a time",
    )

    def __post_init__(self) -> None:
        check_options(self)


ALPHA_VIDEO_FORMATS: tuple[str, ...] = ("webm", "mov")


@dataclass(frozen=True)
class ExportChoices:
    """Which exports the app writes after a propagation, beside the masks zip; by default none."""

    coco: bool = option(
        False,
        label="COCO JSON (YouTube-VIS)",
        help="the masks as a YouTube-VIS style JSON with COCO compressed RLE, named by the objects' names",
    )
    davis: bool = option(
        False,
        label="DAVIS PNGs (zip)",
        help="one indexed-palette PNG per frame (pixel value = object id), zipped",
    )
    alpha_video: tuple[str, ...] = option(
        (),
        choices=ALPHA_VIDEO_FORMATS,
        label="Alpha videos",
        help="the objects on transparency, in any of the formats: webm (VP9, browsers), mov (ProRes 4444, "
        "video editors)",
    )
    feather: int = option(
        config.DEFAULT_FEATHER,
        minimum=0,
        maximum=config.MAX_FEATHER,
        slider=(0, 32),
        label="Alpha video feather (pixels)",
        help="soft edge of the alpha video's objects in pixels, as the compositor's feather (edge hard only)",
    )
    edge: str = option(
        config.DEFAULT_EDGE,
        choices=config.EDGE_MODES,
        label="Alpha edge",
        control_id="edge",
        help="edge of the alpha video's and PNGs' objects, as the compositor's: hard (the mask, feathered), "
        "refine (edge-aware alpha and edge colours) or matte (a matting solve, seconds per frame)",
    )
    edge_band: int = option(
        config.DEFAULT_EDGE_BAND,
        minimum=1,
        slider=(1, 32),
        label="Alpha edge band (px)",
        control_id="edge-band",
        help="pixels on either side of the mask's edge that refine and matte may change",
    )

    def __post_init__(self) -> None:
        check_options(self)

    @property
    def wanted(self) -> bool:
        """True when at least one export is asked for."""
        return self.coco or self.davis or bool(self.alpha_video)
