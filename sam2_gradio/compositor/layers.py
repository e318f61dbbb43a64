"""Several objects, each placed: the layers of a composite, back to front, and where each one lands.

Without an objects file the selected objects are one layer (their union mask), placed as the options
say. An objects file (``--objects-file``) lists the objects back to front (the last one is in front),
each with its own settings; a key left out takes the value of the options::

    {"objects": [
        {"id": 2, "placement": "follow", "pos": "bottom-left", "scale": 0.5, "shadow": true},
        {"id": 1, "placement": "relocate", "pos": "bottom-right", "size": 300, "blend_mode": "screen",
         "keyframes": "car_keys.json"}
    ]}

A bare list is accepted too. ``keyframes`` is a file path (relative to the objects file) or the keyframes
themselves (``motion.parse_keyframes``). With ``objects`` also given, only those ids of the file are pasted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sam2_gradio.compositor.motion import (
    Keyframe,
    KeyframeValues,
    PathPoint,
    Placed,
    follow_box,
    interpolate,
    load_keyframes,
    parse_keyframes,
    read_json_file,
)
from sam2_gradio.compositor.options import ComposeOptions
from sam2_gradio.compositor.placement import relocate
from sam2_gradio.config import option_fields
from sam2_gradio.cpu_budget import check_parse_budget, parse_budget
from sam2_gradio.errors import BadInput
from sam2_gradio.media.mask_files import Box

PER_OBJECT_FIELDS = (
    "placement", "pos", "size", "offset_x", "offset_y", "scale", "mirror", "keyframes", "blend_mode",
    "brightness_match", "color_match", "feather", "shadow", "shadow_angle", "shadow_length", "shadow_blur",
    "shadow_opacity",
)  # fmt: skip
_NO_KEYFRAME = KeyframeValues(None, None, 1.0, 0.0)


@dataclass(frozen=True)
class Layer:
    """Objects pasted together (their union mask), with their own options and keyframes."""

    obj_ids: tuple[int, ...]
    options: ComposeOptions  # the composite's options with this layer's own settings
    keyframes: tuple[Keyframe, ...] = ()  # none: the options' offsets, scale 1, no rotation


def plan_layers(object_ids: Sequence[int], options: ComposeOptions) -> tuple[Layer, ...]:
    """The layers, back to front, of a composite of masks holding ``object_ids`` (see the module doc).

    Raises:
        BadInput: an id that the masks lack, a bad objects or keyframe file, or keyframes with the
            ``original`` placement.
    """
    if options.objects_file is None:
        selected = _selected(object_ids, options.objects)
        layers: tuple[Layer, ...] = (Layer(selected, options, _file_keyframes(options.keyframes)),)
    else:
        with parse_budget(f"objects file {Path(options.objects_file).name}"):  # with its keyframe files
            layers = _file_layers(object_ids, options)
    for layer in layers:
        if layer.keyframes and layer.options.placement == "original":
            raise BadInput("keyframes need the relocate or follow placement, not original")
    return layers


def place(
    layer: Layer,
    mask_box: Box,
    background_size: tuple[int, int],
    output_index: int,
    path: tuple[PathPoint, PathPoint] | None = None,
) -> Placed:
    """Where ``layer``'s object, whose mask box is ``mask_box`` in its own video, lands on output frame
    ``output_index`` of a background of ``background_size``; ``path`` is (start, current) of its smoothed
    path, needed by ``follow``."""
    options = layer.options
    values = interpolate(layer.keyframes, output_index) if layer.keyframes else _NO_KEYFRAME
    offset_x = options.offset_x if values.x is None else values.x
    offset_y = options.offset_y if values.y is None else values.y
    if options.placement == "original":
        box = mask_box
    elif options.placement == "relocate":
        size = max(1, round(options.size * values.scale))
        box = relocate(
            mask_box, background_size, size=size, pos=options.pos, offset_x=round(offset_x),
            offset_y=round(offset_y),
        )  # fmt: skip
    else:
        if path is None:
            raise ValueError("the follow placement needs the object's path")
        start, current = path
        box = follow_box(
            start, current, background_size, scale=options.scale * values.scale, pos=options.pos,
            offset_x=offset_x, offset_y=offset_y, mirror=options.mirror,
        )  # fmt: skip
    return Placed(box, values.rotation, options.mirror)


def _selected(object_ids: Sequence[int], wanted: Sequence[int] | None) -> tuple[int, ...]:
    if wanted is None:
        return tuple(object_ids)
    unknown = sorted(set(wanted) - set(object_ids))
    if unknown:
        have = ", ".join(str(obj_id) for obj_id in object_ids)
        raise BadInput(f"object ids {unknown} are not in the masks (they hold {have})")
    return tuple(wanted)


def _file_keyframes(path: str | None) -> tuple[Keyframe, ...]:
    return () if path is None else load_keyframes(path)


def _file_layers(object_ids: Sequence[int], options: ComposeOptions) -> tuple[Layer, ...]:
    path = Path(options.objects_file)
    name = f"objects file {path.name}"
    data = read_json_file(path, "objects file")
    if isinstance(data, dict) and set(data) == {"objects"}:
        data = data["objects"]
    if not isinstance(data, list) or not data:
        raise BadInput(f"{name} must hold a non-empty list of objects")
    layers = [
        _file_layer(item, f"{name}, entry {index}", path.parent, options) for index, item in enumerate(data)
    ]
    ids = [layer.obj_ids[0] for layer in layers]
    twice = sorted({obj_id for obj_id in ids if ids.count(obj_id) > 1})
    if twice:
        raise BadInput(f"{name} lists object {twice[0]} twice")
    _selected(object_ids, ids)  # every listed id must be in the masks
    wanted = set(_selected(object_ids, options.objects)) if options.objects is not None else set(ids)
    return tuple(layer for layer in layers if layer.obj_ids[0] in wanted)


def _file_layer(item: Any, where: str, folder: Path, options: ComposeOptions) -> Layer:
    check_parse_budget()
    if not isinstance(item, dict) or "id" not in item:
        raise BadInput(f"{where} must be an object with an id")
    obj_id = item["id"]
    if isinstance(obj_id, bool) or not isinstance(obj_id, int):
        raise BadInput(f"{where}: id must be a whole number, got {obj_id!r}")
    unknown = sorted(set(item) - {"id", *PER_OBJECT_FIELDS})
    if unknown:
        raise BadInput(f"{where}: unknown key {unknown[0]!r} (use id, {', '.join(PER_OBJECT_FIELDS)})")
    settings = {key: value for key, value in item.items() if key not in ("id", "keyframes")}
    kinds = {field.name: spec.kind(field.default) for field, spec in option_fields(ComposeOptions)}
    for key, value in settings.items():
        _check_type(key, value, kinds[key], where)
    try:
        layer_options = dataclasses.replace(options, **settings, keyframes=None, objects_file=None)
    except BadInput as error:
        raise BadInput(f"{where}: {error}") from None
    given = item.get("keyframes")
    if "keyframes" not in item:
        keyframes = _file_keyframes(options.keyframes)
    elif isinstance(given, str):
        keyframes = _file_keyframes(str(folder / given))
    else:
        keyframes = () if given is None else parse_keyframes(given, f"{where}, keyframes")
    return Layer((obj_id,), layer_options, keyframes)


def _check_type(key: str, value: Any, kind: str, where: str) -> None:
    expected = {"flag": bool, "number": int, "real": (int, float), "choice": str}[kind]
    if isinstance(value, bool) != (kind == "flag") or not isinstance(value, expected):
        raise BadInput(f"{where}: {key} must be a {_KIND_WORDS[kind]}, got {value!r}")


_KIND_WORDS = {"flag": "true or false", "number": "whole number", "real": "number", "choice": "name"}
