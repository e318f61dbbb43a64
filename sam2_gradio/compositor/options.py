"""`ComposeOptions`: every option of a composite, declared once (the compose CLI's flags, the Compose tab's
controls and `/compose`'s parameters are built from its fields). `render` re-exports it."""

from __future__ import annotations

from dataclasses import dataclass

from sam2_gradio import config
from sam2_gradio.compositor.blend import BLEND_MODES
from sam2_gradio.compositor.edges import EDGE_MODES
from sam2_gradio.compositor.motion import parse_trim
from sam2_gradio.compositor.placement import ANCHORS, PLACEMENTS
from sam2_gradio.config import check_options, option


@dataclass(frozen=True)
class ComposeOptions:
    """How the object is placed, blended and timed; every field has a usable default.

    Each field is declared once, with its help, choices or range: the compose CLI's flags, the Compose
    tab's controls and `/compose`'s parameters are built from (and tested against) these fields. New
    fields go after the older ones, so that `/compose`'s positional parameters keep their places.
    """

    placement: str = option(
        "relocate",
        choices=PLACEMENTS,
        label="Placement",
        help="relocate: crop, rescale and anchor the object; original: keep it where it was; "
        "follow: keep its own motion, starting at the anchor, scaled by --scale",
    )
    pos: str = option(
        "center", choices=ANCHORS, label="Position", help="anchor of the relocated object (follow: its start)"
    )
    size: int = option(
        config.DEFAULT_OBJECT_SIZE,
        minimum=1,
        maximum=config.MAX_OBJECT_SIZE,
        slider=(16, 2048),
        label="Size (px)",
        help="longer side of the relocated object in pixels, aspect kept",
    )
    offset_x: int = option(
        0, slider=(-2000, 2000), label="Offset x (px)", help="pixels right of the anchor (negative: left)"
    )
    offset_y: int = option(
        0, slider=(-2000, 2000), label="Offset y (px)", help="pixels below the anchor (negative: up)"
    )
    blend_mode: str = option(
        "normal",
        choices=BLEND_MODES,
        label="Blend mode",
        control_id="blend",
        help="W3C blend mode of the object (source) over the background (backdrop)",
    )
    brightness_match: bool = option(
        False,
        label="Match brightness",
        control_id="brightness",
        help="bring the object's mean luma toward the background's around it (clamped gain, gamma curve)",
    )
    loop: bool = option(
        False,
        label="Loop the shorter video",
        help="restart the shorter video so the output lasts as long as the longer (default: the shorter)",
    )
    feather: int = option(
        config.DEFAULT_FEATHER,
        minimum=0,
        maximum=config.MAX_FEATHER,
        slider=(0, 32),
        label="Feather (px)",
        help="soften the hard edge inwards over this many pixels (0: binary; --edge hard only)",
    )
    edge: str = option(
        config.DEFAULT_EDGE,
        choices=EDGE_MODES,
        label="Edge",
        help="hard: the mask as is (with --feather); refine: edge-aware alpha and the object's own edge "
        "colours, smoothed along the motion (fast); matte: a matting solve in the band (seconds per frame)",
    )
    edge_band: int = option(
        config.DEFAULT_EDGE_BAND,
        minimum=1,
        slider=(1, 32),
        label="Edge band (px)",
        help="pixels on either side of the mask's edge that refine may change (matte: 1.5 times as many)",
    )
    objects: tuple[int, ...] | None = option(
        None, ids=True, label="Objects", help="object ids to paste (default: every object in the masks)"
    )
    scale: float = option(
        1.0,
        minimum=0.01,
        maximum=16.0,
        slider=(0.05, 4.0),
        label="Scale (follow)",
        help="follow: multiplies the object's own size and motion",
    )
    mirror: bool = option(
        False, label="Mirror", help="flip the object left to right (follow: its motion too)"
    )
    keyframes: str | None = option(
        None,
        file=True,
        file_types=(".json",),
        label="Keyframes (JSON)",
        help="JSON file of offsets, scale and rotation at output frames, interpolated (relocate, follow)",
    )
    start_frame: int = option(
        0,
        minimum=0,
        slider=(0, 3000),
        label="Start frame",
        help="background frame at which the object's clip starts (none before it)",
    )
    trim: str = option(
        "", label="Trim (IN:OUT)", help="object frames IN to OUT-1 make its clip, e.g. 10:120 (empty: all)"
    )
    holdout_mask: str | None = option(
        None,
        file=True,
        file_types=(".zip",),
        label="Holdout masks (zip)",
        help="folder or .zip of mask PNGs of the background video: those pixels pass in front of the objects",
    )
    shadow: bool = option(
        False, label="Contact shadow", help="cast a shadow from the object's mask onto the background"
    )
    shadow_angle: int = option(
        60,
        minimum=-180,
        maximum=180,
        slider=(-180, 180),
        label="Shadow angle (°)",
        help="direction the shadow falls from the object's base, degrees (0: right, 90: up, -90: down)",
    )
    shadow_length: int = option(
        40,
        minimum=0,
        maximum=400,
        slider=(0, 300),
        label="Shadow length (%)",
        help="length of the shadow in percent of the object's height",
    )
    shadow_blur: int = option(
        6, minimum=0, maximum=200, slider=(0, 64), label="Shadow blur (px)", help="softness of the shadow"
    )
    shadow_opacity: float = option(
        0.5,
        minimum=0.0,
        maximum=1.0,
        slider=(0.0, 1.0),
        label="Shadow opacity",
        help="how dark the shadow is at its darkest (0..1)",
    )
    color_match: float = option(
        0.0,
        minimum=0.0,
        maximum=1.0,
        slider=(0.0, 1.0),
        label="Colour match",
        help="strength of the Lab colour transfer of the object toward the background around it (0: off)",
    )
    objects_file: str | None = option(
        None,
        file=True,
        file_types=(".json",),
        label="Objects file (JSON)",
        help="JSON list of objects, back to front, each with its own placement, position, size, blend...",
    )

    def __post_init__(self) -> None:
        check_options(self)
        parse_trim(self.trim)

    @property
    def trim_range(self) -> tuple[int, int | None]:
        """(in, out) object frames of ``trim`` (see ``motion.parse_trim``)."""
        return parse_trim(self.trim)
