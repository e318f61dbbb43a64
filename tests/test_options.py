"""Options declared once: the CLI flags, the app's controls and the API handlers' parameters all follow
the fields of `ComposeOptions` and `SegmentOptions`."""

from __future__ import annotations

import dataclasses
import inspect

import gradio as gr
import pytest

from sam2_gradio import config
from sam2_gradio.app.compose_handlers import ComposeHandlers
from sam2_gradio.app.option_controls import option_controls
from sam2_gradio.app.segment_handlers import SegmentHandlers
from sam2_gradio.cli import compose as compose_cli
from sam2_gradio.cli import segment as segment_cli
from sam2_gradio.cli.common import options_from_args
from sam2_gradio.compositor.render import ComposeOptions
from sam2_gradio.config import options_from_values
from sam2_gradio.engine.options import ExportChoices, SegmentOptions

# The flags of the original scripts (README, "Command line"): their names must not change.
COMPOSE_FLAGS = (
    "--placement", "--pos", "--size", "--offset-x", "--offset-y", "--blend-mode",
    "--brightness-match", "--loop", "--feather", "--objects",
)  # fmt: skip
# The flags of issue 24 (compositing in motion and depth): scripts rely on these names too.
MOTION_FLAGS = (
    "--scale", "--mirror", "--keyframes", "--start-frame", "--trim", "--holdout-mask", "--shadow",
    "--shadow-angle", "--shadow-length", "--shadow-blur", "--shadow-opacity", "--color-match",
    "--objects-file",
)  # fmt: skip
SEGMENT_FLAGS = ("--direction", "--batch-size")
# The Compose controls' elem_ids as they were (pages and scripts find the controls by them).
COMPOSE_ELEM_IDS = (
    "cmp-placement", "cmp-pos", "cmp-size", "cmp-offset-x", "cmp-offset-y", "cmp-blend",
    "cmp-brightness", "cmp-loop", "cmp-feather", "cmp-objects",
)  # fmt: skip


def _flags(parser) -> dict[str, object]:
    return {flag: action for action in parser._actions for flag in action.option_strings}


@pytest.mark.parametrize(
    ("parser", "options_class", "flags"),
    [
        (compose_cli.build_parser(), ComposeOptions, COMPOSE_FLAGS + MOTION_FLAGS),
        (segment_cli.build_parser(), SegmentOptions, SEGMENT_FLAGS),
    ],
)
def test_each_option_field_is_a_flag_with_the_field_default_and_the_original_names_stay(
    parser, options_class, flags
):
    actions = _flags(parser)
    for field in dataclasses.fields(options_class):
        action = actions["--" + field.name.replace("_", "-")]
        assert action.dest == field.name
        assert action.default == field.default
        assert action.help == field.metadata["option"].help
    assert set(flags) <= set(actions)


def test_compose_flags_parse_into_the_options_they_name():
    args = compose_cli.build_parser().parse_args(
        ["--bg", "b.mp4", "--obj", "o.mp4", "--mask", "m.zip", "--pos", "bottom-left", "--size", "300"]
        + ["--offset-x", "-4", "--blend-mode", "screen", "--brightness-match", "--objects", "2", "3"]
    )
    assert options_from_args(ComposeOptions, args) == ComposeOptions(
        pos="bottom-left", size=300, offset_x=-4, blend_mode="screen", brightness_match=True, objects=(2, 3)
    )
    moving = compose_cli.build_parser().parse_args(
        ["--bg", "b.mp4", "--obj", "o.mp4", "--mask", "m.zip", "--placement", "follow", "--scale", "0.5"]
        + [
            "--mirror",
            "--keyframes",
            "k.json",
            "--start-frame",
            "12",
            "--trim",
            "3:40",
            "--holdout-mask",
            "h",
        ]
        + ["--shadow", "--shadow-angle", "-30", "--shadow-opacity", "0.25", "--color-match", "0.7"]
        + ["--objects-file", "objects.json"]
    )
    assert options_from_args(ComposeOptions, moving) == ComposeOptions(
        placement="follow", scale=0.5, mirror=True, keyframes="k.json", start_frame=12, trim="3:40",
        holdout_mask="h", shadow=True, shadow_angle=-30, shadow_opacity=0.25, color_match=0.7,
        objects_file="objects.json",
    )  # fmt: skip
    plain = compose_cli.build_parser().parse_args(["--bg", "b.mp4", "--obj", "o.mp4", "--mask", "m.zip"])
    assert options_from_args(ComposeOptions, plain) == ComposeOptions()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--size", "0"], "argument --size: must be at least 1, got 0"),
        (["--feather", "-1"], "argument --feather: must be at least 0, got -1"),
        (["--offset-x", "ten"], "argument --offset-x: invalid int value: 'ten'"),
        (["--pos", "middle"], "argument --pos: invalid choice: 'middle'"),
        (["--scale", "big"], "argument --scale: invalid float value: 'big'"),
        (["--color-match", "2"], "argument --color-match: must be at most 1.0, got 2.0"),
        (["--start-frame", "-1"], "argument --start-frame: must be at least 0, got -1"),
    ],
)
def test_compose_flags_outside_their_declaration_are_one_line_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        compose_cli.build_parser().parse_args(["--bg", "b.mp4", "--obj", "o.mp4", "--mask", "m.zip", *argv])
    assert stop.value.code == 2
    assert capsys.readouterr().err.startswith(f"error: {message}")


def test_options_from_values_converts_the_values_of_the_controls():
    values = dict(
        placement="relocate", pos="bottom-left", size=120.0, offset_x=-3.0, offset_y=4.0, blend_mode="screen",
        brightness_match=1, loop=0, feather=2.0, objects=["2", 3], request=None,
    )  # fmt: skip
    assert options_from_values(ComposeOptions, values) == ComposeOptions(
        placement="relocate", pos="bottom-left", size=120, offset_x=-3, offset_y=4, blend_mode="screen",
        brightness_match=True, loop=False, feather=2, objects=(2, 3),
    )  # fmt: skip
    assert options_from_values(ComposeOptions, {"objects": []}).objects is None  # none ticked: all of them
    assert options_from_values(SegmentOptions, {"batch_size": 8.0}) == SegmentOptions(batch_size=8)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: ComposeOptions(placement="sideways"),
            "placement must be one of relocate, original, follow, got 'sideways'",
        ),
        (
            lambda: ComposeOptions(blend_mode="darken"),
            "blend mode must be one of normal, multiply, screen, overlay",
        ),
        (lambda: ComposeOptions(size=0), "size must be at least 1, got 0"),
        (lambda: ComposeOptions(feather=-2), "feather must be at least 0, got -2"),
        (lambda: ComposeOptions(objects=()), "objects must name at least one object id"),
        (lambda: ComposeOptions(scale=0.0), "scale must be at least 0.01, got 0.0"),
        (lambda: ComposeOptions(shadow_opacity=1.5), "shadow opacity must be at most 1.0, got 1.5"),
        (lambda: ComposeOptions(trim="20:10"), "trim must be IN:OUT with 0 <= IN < OUT"),
        (lambda: ComposeOptions(trim="ten"), "trim must be IN:OUT in object frames"),
        (lambda: SegmentOptions(direction="sideways"), "direction must be one of forward, backward, both"),
        (lambda: SegmentOptions(batch_size=0), "batch size must be at least 1, got 0"),
        (lambda: ExportChoices(alpha_video=("webm", "gif")), "alpha video must be some of webm, mov"),
        (lambda: ExportChoices(alpha_video="webm"), "alpha video must be some of webm, mov"),
    ],
)
def test_options_outside_their_declaration_raise_a_value_error_naming_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    ("handler", "options_classes"),
    [
        (ComposeHandlers.compose, (ComposeOptions,)),
        (SegmentHandlers.propagate, (SegmentOptions, ExportChoices)),
    ],
)
def test_api_handler_parameters_are_the_option_fields(handler, options_classes):
    """`/compose` and `/propagate` keep explicit signatures (gradio documents the API from them)."""
    parameters = list(inspect.signature(handler).parameters.values())
    names = [parameter.name for parameter in parameters]
    fields = [field for options_class in options_classes for field in dataclasses.fields(options_class)]
    first = names.index(fields[0].name)
    declared = parameters[first : first + len(fields)]
    assert [(p.name, p.default) for p in declared] == [(f.name, f.default) for f in fields]
    assert names[first + len(fields) :] == ["request", "progress"]  # no option after gradio's own
    documented = inspect.getdoc(handler).split("Parameters:")[1]
    for field in fields:
        assert f"{field.name}: " in documented


def test_compose_controls_follow_the_fields_with_their_elem_ids_and_defaults():
    with gr.Blocks():
        controls = option_controls(ComposeOptions, id_prefix="cmp")
    assert list(controls) == [field.name for field in dataclasses.fields(ComposeOptions)]
    assert set(COMPOSE_ELEM_IDS) <= {control.elem_id for control in controls.values()}
    assert isinstance(controls["pos"], gr.Dropdown) and controls["pos"].value == "center"
    assert isinstance(controls["size"], gr.Slider) and controls["size"].value == config.DEFAULT_OBJECT_SIZE
    assert (controls["size"].minimum, controls["size"].maximum) == (16, 2048)
    assert isinstance(controls["loop"], gr.Checkbox) and controls["loop"].value is False
    assert isinstance(controls["objects"], gr.CheckboxGroup) and not controls["objects"].visible
    assert isinstance(controls["scale"], gr.Slider) and (controls["scale"].value, controls["scale"].step) == (
        1,
        0.05,
    )
    assert isinstance(controls["keyframes"], gr.File) and controls["keyframes"].elem_id == "cmp-keyframes"
    assert isinstance(controls["trim"], gr.Textbox) and controls["trim"].value == ""
    assert controls["holdout_mask"].elem_id == "cmp-holdout-mask" and controls["shadow"].value is False


def test_segment_controls_use_radio_buttons_for_the_direction():
    with gr.Blocks():
        controls = option_controls(SegmentOptions, id_prefix="seg", choice_control=gr.Radio)
    assert isinstance(controls["direction"], gr.Radio) and controls["direction"].elem_id == "seg-direction"
    assert controls["batch_size"].value == config.DEFAULT_BATCH_SIZE
    assert controls["batch_size"].elem_id == "seg-batch-size"


@pytest.mark.parametrize(
    ("given", "formats"),
    [
        ("none", ()),
        ("webm", ("webm",)),
        (["mov", "webm"], ("mov", "webm")),
        (["webm", "webm"], ("webm",)),
        ([], ()),
    ],
)
def test_several_alpha_formats_come_from_a_list_or_one_name(given, formats):
    assert options_from_values(ExportChoices, {"alpha_video": given}).alpha_video == formats


def test_the_alpha_formats_are_checkboxes_in_the_exports_panel():
    with gr.Blocks():
        controls = option_controls(ExportChoices, id_prefix="seg-export", choice_control=gr.Radio)
    alpha = controls["alpha_video"]
    assert isinstance(alpha, gr.CheckboxGroup) and alpha.elem_id == "seg-export-alpha-video"
    assert [choice[1] for choice in alpha.choices] == ["webm", "mov"] and alpha.value == []
