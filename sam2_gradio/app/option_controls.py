"""The app's controls for an options dataclass (`ComposeOptions`, `SegmentOptions`), built from its fields.

Each field's spec (`config.OptionSpec`) says what control it gets: a choice a dropdown (or radio
buttons), a number a slider over its range (whole numbers in steps of 1, real ones of `REAL_STEP`), a
flag a checkbox, several choices checkboxes, a text a textbox, a file an upload box, a set of object ids
checkboxes that the app fills once it knows the objects (hidden until then). Controls are laid out by
kind: the choices in a row, the sliders two by two, the checkboxes in a row, texts, files, and the object
ids last.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import Field
from itertools import groupby

import gradio as gr

from sam2_gradio.app.assets import FILE_HEIGHT
from sam2_gradio.config import OptionSpec, option_fields

Component = gr.components.Component
# how the rows follow one another, and the most controls in a row of each kind
KIND_ORDER = ("choice", "choices", "number", "real", "flag", "text", "file", "ids")
PER_ROW = {"choice": 3, "choices": 3, "number": 2, "real": 2, "flag": 3, "text": 2, "file": 3, "ids": 1}
REAL_STEP = 0.05  # slider step of a real-number option


def option_controls(
    options_class: type, *, id_prefix: str, choice_control: type[Component] = gr.Dropdown
) -> dict[str, Component]:
    """One control per option field of `options_class`, by field name in field order.

    Each control's elem_id is `id_prefix` and the spec's `control_id` (or the field name, dashed).
    """
    specs = option_fields(options_class)
    controls: dict[str, Component] = {}
    for row in _rows(specs):
        with gr.Row() if len(row) > 1 else contextlib.nullcontext():
            for field, spec in row:
                elem_id = f"{id_prefix}-{spec.control_id or field.name.replace('_', '-')}"
                controls[field.name] = _control(field, spec, elem_id, choice_control)
    return {field.name: controls[field.name] for field, _ in specs}


def _rows(specs: Sequence[tuple[Field, OptionSpec]]) -> Iterator[list[tuple[Field, OptionSpec]]]:
    def kind(item: tuple[Field, OptionSpec]) -> int:
        field, spec = item
        return KIND_ORDER.index(spec.kind(field.default))

    for index, same_kind in groupby(sorted(specs, key=kind), key=kind):
        items, per_row = list(same_kind), PER_ROW[KIND_ORDER[index]]
        for start in range(0, len(items), per_row):
            yield items[start : start + per_row]


def _control(field: Field, spec: OptionSpec, elem_id: str, choice_control: type[Component]) -> Component:
    kind = spec.kind(field.default)
    if kind == "choice":
        return choice_control(list(spec.choices), value=field.default, label=spec.label, elem_id=elem_id)
    if kind == "choices":
        choices, value = list(spec.choices), list(field.default)
        return gr.CheckboxGroup(choices, value=value, label=spec.label, elem_id=elem_id)
    if kind == "flag":
        return gr.Checkbox(value=field.default, label=spec.label, elem_id=elem_id)
    if kind == "ids":
        return gr.CheckboxGroup([], value=[], label=spec.label, visible=False, elem_id=elem_id)
    if kind == "text":
        return gr.Textbox(value=field.default, label=spec.label, info=spec.help, elem_id=elem_id)
    if kind == "file":
        types = list(spec.file_types) or None
        return gr.File(label=spec.label, file_types=types, height=FILE_HEIGHT, elem_id=elem_id)
    if spec.slider is None:
        raise ValueError(f"option {field.name} needs a slider range (slider=(low, high)) to be shown")
    low, high = spec.slider
    step = 1 if kind == "number" else REAL_STEP
    return gr.Slider(low, high, value=field.default, step=step, label=spec.label, elem_id=elem_id)
