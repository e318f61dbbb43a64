"""Hostile inputs for every parser of untrusted input, built from each format's own grammar with
hypothesis, and the property each parser must keep: it answers with a result or `errors.BadInput`, never
another exception, within the time and memory the caller gives it.

`FUZZERS` maps a parser's name to its strategy and check; `fuzz(name, examples)` runs one of them
(tests/test_fuzz.py in the test suite, in-process and under `resource` limits in a subprocess;
benchmarks/bench_fuzz.py for longer runs, timing every example).
"""

from __future__ import annotations

import contextlib
import io
import json
import struct
import tempfile
import time
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from sam2_gradio import config
from sam2_gradio.app.sessions import check_video_upload
from sam2_gradio.compositor.layers import plan_layers
from sam2_gradio.compositor.motion import MAX_KEYFRAMES
from sam2_gradio.compositor.render import ComposeOptions
from sam2_gradio.config import options_from_values
from sam2_gradio.engine.tracking.prompts import load_prompt_state, prompt_state_from_dict
from sam2_gradio.errors import BadInput
from sam2_gradio.media.frames import VideoMeta
from sam2_gradio.media.mask_files import (
    DAVIS_PALETTE,
    combined_mask_name,
    decode_coverage,
    decode_labels,
    indexed_mask_name,
    load_mask_set,
    per_object_mask_name,
)
from sam2_gradio.media.rle import CompressedRle

VIDEO = VideoMeta(num_frames=20, width=64, height=48, fps=25.0)

# --- building blocks ----------------------------------------------------------------------------
huge_ints = st.sampled_from([0, -1, 2**31, 2**63 - 1, 2**63, 2**64 + 5, -(2**63), 10**400, 10**4000])
hostile_numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    huge_ints,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([True, False, None, "7", "1e400", [], {}]),
)
rle_characters = st.characters(min_codepoint=48, max_codepoint=111)  # "0" .. "o", the format's alphabet
counts_text = st.one_of(
    st.text(rle_characters, max_size=64),
    st.text(rle_characters, max_size=4).map(lambda text: text * 20_000),  # long, repetitive
    st.text(max_size=32),  # anything, non-ASCII included
    st.builds(lambda mask: CompressedRle.from_mask(mask).counts, st.just(np.eye(5, dtype=bool))),
)


@st.composite
def valid_rle_entries(draw: st.DrawFn) -> dict:
    """A well-formed entry for a random small mask, its counts string then maybe cut or mutated."""
    height, width = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    seed = draw(st.integers(0, 2**16))
    mask = np.random.default_rng(seed).random((height, width)) < draw(st.floats(0, 1))
    counts = CompressedRle.from_mask(mask).counts
    cut = draw(st.integers(0, len(counts)))
    mutated = draw(st.sampled_from(["as is", "cut", "flip", "append"]))
    if mutated == "cut":
        counts = counts[:cut]
    elif mutated == "flip" and counts:
        position = cut % len(counts)
        counts = counts[:position] + draw(rle_characters) + counts[position + 1 :]
    elif mutated == "append":
        counts += draw(st.text(rle_characters, max_size=8))
    return {"size": [height, width], "counts": counts}


rle_entries = st.one_of(
    valid_rle_entries(),
    st.fixed_dictionaries(
        {"size": st.one_of(st.lists(hostile_numbers, max_size=3), hostile_numbers), "counts": counts_text}
    ),
    st.fixed_dictionaries({"size": st.just([48, 64]), "counts": counts_text}),
    st.sampled_from([None, [], "x", {"size": [1, 1]}, {"counts": "1"}]),
)

json_leaves = st.one_of(st.none(), st.booleans(), hostile_numbers, st.text(max_size=12))
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
frame_keys = st.one_of(st.integers(-3, 40).map(str), st.sampled_from(["", " 1", "1.5", "٣", "9" * 50, "-0"]))
object_keys = st.one_of(st.integers(-2, 12).map(str), st.sampled_from(["2147483648", "1e3", "x"]))
points = st.lists(st.one_of(st.lists(hostile_numbers, max_size=3), json_leaves), max_size=4)
prompt_entries = st.one_of(
    st.fixed_dictionaries(
        {
            "points": points,
            "labels": st.lists(st.one_of(st.sampled_from([0, 1, 2, True]), json_leaves), max_size=4),
        }
    ),
    st.fixed_dictionaries({"box": st.one_of(st.lists(hostile_numbers, max_size=5), json_leaves)}),
    st.fixed_dictionaries({"mask": rle_entries}),
    json_values,
)
names = st.text(max_size=50)  # controls, RTL overrides and NUL included
prompt_states = st.fixed_dictionaries(
    {
        "version": st.one_of(st.just(1), json_leaves),
        "clicks": st.one_of(
            st.dictionaries(frame_keys, st.dictionaries(object_keys, prompt_entries, max_size=3), max_size=4),
            json_values,
        ),
    },
    optional={
        "video": st.one_of(
            st.fixed_dictionaries({k: hostile_numbers for k in ("num_frames", "width", "height", "fps")}),
            json_values,
        ),
        "names": st.one_of(
            st.dictionaries(object_keys, st.one_of(names, json_leaves), max_size=3), json_values
        ),
        "object_ids": st.one_of(st.lists(hostile_numbers, max_size=20), json_values),
    },
)
state_files = st.one_of(
    prompt_states.map(lambda state: json.dumps(state, allow_nan=True).encode()),
    st.binary(max_size=200),
    st.sampled_from(
        [b"[" * 50_000, b'{"version": ' + b"1" * 5000 + b"}", b"\xff\xfe{}", b"{" * 3 + b"}" * 3]
    ),
)


def png_bytes(width: int, height: int, *, mode: str = "L", value: int = 255) -> bytes:
    """A small PNG of one value everywhere; palette PNGs get the DAVIS palette."""
    image = Image.fromarray(np.full((height, width), value, np.uint8))
    if mode == "P":
        image.putpalette(DAVIS_PALETTE)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def forged_png(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk declaring `width` x `height`, and a tiny zlib stream after it."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    data = zlib.compress(b"\0" * 64)
    idat = struct.pack(">I", len(data)) + b"IDAT" + data + struct.pack(">I", zlib.crc32(b"IDAT" + data))
    return b"\x89PNG\r\n\x1a\n" + ihdr + idat


png_payloads = st.one_of(
    st.builds(
        png_bytes,
        st.integers(1, 40),
        st.integers(1, 40),
        mode=st.sampled_from(["L", "P"]),
        value=st.integers(0, 255),
    ),
    st.builds(
        forged_png,
        st.sampled_from([1, 64, 3840, 3841, 40_000, 2**31 - 1, 2**32 - 1]),
        st.sampled_from([1, 48, 40_000, 2**32 - 1]),
    ),
    st.binary(max_size=64),
    st.builds(
        lambda png, cut: png[:cut],
        st.builds(png_bytes, st.integers(1, 40), st.integers(1, 40)),
        st.integers(0, 80),
    ),
)
entry_names = st.one_of(
    st.builds(per_object_mask_name, st.integers(0, 30), st.integers(0, 300)),
    st.builds(combined_mask_name, st.integers(0, 30)),
    st.builds(indexed_mask_name, st.integers(0, 30)),
    st.sampled_from(
        ["../up.png", "/abs.png", "a/b/mask_00001.png", "__MACOSX/._x.png", "notes.txt", "C:\\x.png"]
    ),
)
mask_zips = st.lists(st.tuples(entry_names, png_payloads), max_size=8)
interpolations = st.one_of(st.sampled_from(["linear", "ease-in-out", "cubic"]), json_leaves)
keyframe_items = st.one_of(
    st.fixed_dictionaries(
        {"frame": st.one_of(st.integers(-2, 50), hostile_numbers)},
        optional={
            **{key: hostile_numbers for key in ("x", "y", "scale", "rotation")},
            "interpolation": interpolations,
        },
    ),
    json_values,
)
keyframe_lists = st.one_of(
    st.lists(keyframe_items, max_size=6),
    st.fixed_dictionaries(
        {"interpolation": interpolations, "keyframes": st.lists(keyframe_items, max_size=6)}
    ),
    json_values,
)
object_items = st.one_of(
    st.fixed_dictionaries(
        {"id": st.one_of(st.integers(0, 4), hostile_numbers)},
        optional={
            "placement": st.one_of(st.sampled_from(["relocate", "follow", "original"]), json_leaves),
            "size": hostile_numbers,
            "scale": hostile_numbers,
            "shadow": json_leaves,
            "blend_mode": st.one_of(st.sampled_from(["normal", "screen", "x"]), json_leaves),
            "keyframes": st.one_of(st.sampled_from(["k.json", "../k.json", "missing.json"]), keyframe_lists),
        },
    ),
    json_values,
)
hostile_json_files = st.one_of(
    st.binary(max_size=100),
    st.sampled_from([b"[" * 50_000, b'[{"id": ' + b"1" * 5000 + b"}]", b"\xff\xfe[]", b"[" * 3 + b"]" * 3]),
)


def _json_file(values: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(values.map(lambda value: json.dumps(value, allow_nan=True).encode()), hostile_json_files)


objects_files = st.tuples(  # (the objects file, the keyframe file k.json beside it), as bytes
    _json_file(
        st.one_of(
            st.lists(object_items, max_size=4),
            st.fixed_dictionaries({"objects": st.lists(object_items, max_size=4)}),
            json_values,
        )
    ),
    _json_file(keyframe_lists),
)
compose_values = st.dictionaries(
    st.sampled_from(
        ["size", "feather", "offset_x", "offset_y", "pos", "placement", "blend_mode", "objects", "loop"]
    ),
    st.one_of(hostile_numbers, json_leaves, st.lists(hostile_numbers, max_size=3)),
    max_size=5,
)


# --- the checks ---------------------------------------------------------------------------------
def check_rle(entry: Any) -> None:
    try:
        rle = CompressedRle.from_coco(entry)
    except BadInput:
        return
    mask = rle.to_mask()
    assert mask.shape == (rle.height, rle.width) and int(mask.sum()) == rle.area()


def check_prompt_state(data: Any) -> None:
    try:
        state = prompt_state_from_dict(data, VIDEO)
    except BadInput:
        return
    assert len(state.object_ids) <= config.MAX_OBJECTS
    json.dumps(state.to_dict())  # what loads saves


def check_state_file(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.json"
        path.write_bytes(data)
        with contextlib.suppress(BadInput):
            load_prompt_state(path, VIDEO)


def check_png(data: bytes) -> None:
    for decode in (decode_coverage, decode_labels):
        try:
            image = decode(data, "fuzz.png")
        except BadInput:
            continue
        assert image.dtype == np.uint8 and max(image.shape) <= config.MAX_MASK_SIDE


def check_mask_zip(entries: list[tuple[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "masks.zip"
        with zipfile.ZipFile(path, "w") as archive, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate entry names are one of the hostile inputs
            for name, payload in entries:
                archive.writestr(name, payload)
        try:
            masks = load_mask_set(path)
        except BadInput:
            return
        try:
            for frame in list(masks.frames)[:3]:
                masks.mask_for(frame, None, (64, 48))
        except BadInput:
            pass
        finally:
            masks.close()


def check_compose_options(values: dict) -> None:
    try:
        options = options_from_values(ComposeOptions, values)
    except BadInput:
        return
    assert 1 <= options.size <= config.MAX_OBJECT_SIZE and 0 <= options.feather <= config.MAX_FEATHER


def check_objects_file(files: tuple[bytes, bytes]) -> None:
    objects, keyframes = files
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "objects.json"
        path.write_bytes(objects)
        (Path(folder) / "k.json").write_bytes(keyframes)
        try:
            layers = plan_layers((1, 2, 3), ComposeOptions(objects_file=str(path), placement="relocate"))
        except BadInput:
            return
    for layer in layers:
        frames = [keyframe.frame for keyframe in layer.keyframes]
        assert frames == sorted(set(frames)) and len(frames) <= MAX_KEYFRAMES


video_files = st.one_of(
    st.binary(max_size=256),
    st.builds(
        lambda prefix, rest: prefix + rest,
        st.sampled_from(
            [b"\x00\x00\x00\x18ftypmp42", b"\x1aE\xdf\xa3", b"RIFF\x00\x00\x00\x00AVI ", b"GIF89a"]
        ),
        st.binary(max_size=256),
    ),
)


def check_video_file(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.mp4"
        path.write_bytes(data)
        with contextlib.suppress(BadInput):
            check_video_upload(path)


@dataclass(frozen=True)
class Fuzzer:
    """A parser's hostile inputs and the property it keeps on each."""

    strategy: st.SearchStrategy
    check: Callable[[Any], None]


FUZZERS: dict[str, Fuzzer] = {
    "rle": Fuzzer(rle_entries, check_rle),
    "prompt state": Fuzzer(prompt_states, check_prompt_state),
    "state file": Fuzzer(state_files, check_state_file),
    "mask png": Fuzzer(png_payloads, check_png),
    "mask zip": Fuzzer(mask_zips, check_mask_zip),
    "compose options": Fuzzer(compose_values, check_compose_options),
    "objects file": Fuzzer(objects_files, check_objects_file),
    "video file": Fuzzer(video_files, check_video_file),
}


@dataclass
class FuzzStats:
    """What one run saw: examples, their total time, and the slowest one."""

    examples: int = 0
    seconds: float = 0.0
    slowest_seconds: float = 0.0
    slowest_input: str = ""
    timings: list[float] = field(default_factory=list)


def fuzz(name: str, examples: int, *, deadline_ms: float | None = 2000, seed: int | None = None) -> FuzzStats:
    """Run `examples` hostile inputs through parser `name`; a failing property or an example slower than
    `deadline_ms` raises (hypothesis shrinks it first). Returns the run's timings."""
    fuzzer, stats = FUZZERS[name], FuzzStats()

    def timed(value: Any) -> None:
        started = time.perf_counter()
        fuzzer.check(value)
        spent = time.perf_counter() - started
        stats.examples += 1
        stats.seconds += spent
        stats.timings.append(spent)
        if spent > stats.slowest_seconds:
            stats.slowest_seconds, stats.slowest_input = spent, _shown(value)

    run = settings(
        max_examples=examples,
        deadline=deadline_ms,
        database=None,
        derandomize=seed is None,
        suppress_health_check=list(HealthCheck),
    )(given(fuzzer.strategy)(timed))
    if seed is not None:
        from hypothesis import seed as with_seed

        run = with_seed(seed)(run)
    run()
    return stats


def _shown(value: Any, limit: int = 90) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 25]}... ({len(text)} characters)"
