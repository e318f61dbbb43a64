"""Make ``docs/motion_strip.png``: an object following its own path behind a holdout, with its shadow.

``python examples/make_motion_strip.py [--video out.mp4]``

Everything is drawn here or comes from this folder (no outside images):

* the object clip: a little figure (body, head, legs) walking right across 90 frames with a bob of its
  own, on a green backdrop, and its exact masks drawn with it;
* the background: ``background.mp4`` (made by ``make_example.py``) with a post painted into it, and the
  post's mask as the holdout (the background's own object that passes in front of the pasted one);
* the composite: ``placement="follow"`` at 0.8 scale from the bottom-left, a contact shadow, the post
  held out; four output frames side by side. ``--video`` also renders the whole composite.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

EXAMPLES = Path(__file__).resolve().parent
sys.path.insert(0, str(EXAMPLES.parent))

from sam2_gradio.compositor.render import ComposeOptions, output_frame, render  # noqa: E402
from sam2_gradio.media.mask_files import combined_mask_name, load_mask_set, save_mask_png  # noqa: E402
from sam2_gradio.media.video import VideoWriter, iter_frames, probe_video  # noqa: E402

FRAMES = 90
SIZE = (640, 360)
POST = (300, 90, 330, 360)  # x0, y0, x1, y1 of the post painted into the background
STRIP_FRAMES = (0, 30, 63, 89)
STRIP_TILE = (320, 180)


def draw_figure(canvas: np.ndarray, frame: int, value: tuple[int, int, int] | int) -> None:
    """Draw the walking figure of ``frame`` on ``canvas`` in ``value`` (a colour, or 255 for a mask)."""
    colour = (value, value, value) if isinstance(value, int) else value
    x = 60 + 5 * frame
    bob = int(round(4 * abs(np.sin(frame * np.pi / 8))))
    ground = 320
    stride = int(round(14 * np.sin(frame * np.pi / 8)))
    body, head, legs = colour, colour, colour
    if not isinstance(value, int):
        body, head, legs = (200, 60, 40), (240, 200, 160), (40, 50, 120)
    cv2.line(canvas, (x, ground - 60 - bob), (x - stride, ground), legs, 9)
    cv2.line(canvas, (x, ground - 60 - bob), (x + stride, ground), legs, 9)
    cv2.ellipse(canvas, (x, ground - 95 - bob), (22, 40), 0, 0, 360, body, -1)
    cv2.circle(canvas, (x, ground - 150 - bob), 18, head, -1)


def make_object(folder: Path) -> tuple[Path, Path]:
    """The figure's clip and its masks folder."""
    video, masks = folder / "figure.mp4", folder / "figure_masks"
    with VideoWriter(video, fps=30) as writer:
        for frame in range(FRAMES):
            picture = np.full((SIZE[1], SIZE[0], 3), (40, 170, 60), np.uint8)
            draw_figure(picture, frame, (0, 0, 0))
            writer.write(picture)
            mask = np.zeros((SIZE[1], SIZE[0]), np.uint8)
            draw_figure(mask, frame, 255)
            save_mask_png(masks / combined_mask_name(frame), mask)
    return video, masks


def make_background(folder: Path) -> tuple[Path, Path]:
    """``background.mp4`` with a post painted in, and the post's mask (the holdout)."""
    video, holdouts = folder / "lake_with_post.mp4", folder / "post_masks"
    x0, y0, x1, y1 = POST
    with VideoWriter(video, fps=probe_video(EXAMPLES / "background.mp4").fps) as writer:
        for picture in iter_frames(EXAMPLES / "background.mp4"):
            picture = picture.copy()
            picture[y0:y1, x0:x1] = (90, 60, 35)
            picture[y0:y1, x0 + 4 : x0 + 9] = (120, 85, 50)  # a lit edge
            writer.write(picture)
    mask = np.zeros((SIZE[1], SIZE[0]), np.uint8)
    mask[y0:y1, x0:x1] = 255
    save_mask_png(holdouts / combined_mask_name(0), mask)  # later frames reuse it
    return video, holdouts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(EXAMPLES.parent / "docs" / "motion_strip.png"), help="strip PNG")
    parser.add_argument("--video", help="also render the whole composite to this .mp4")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="motion-strip-") as temp:
        folder = Path(temp)
        obj, masks = make_object(folder)
        background, holdouts = make_background(folder)
        options = ComposeOptions(
            placement="follow", pos="bottom-left", scale=0.8, offset_x=40, offset_y=-20, shadow=True,
            shadow_angle=35, shadow_length=60, shadow_blur=5, shadow_opacity=0.55, holdout_mask=str(holdouts),
            feather=1,
        )  # fmt: skip
        mask_set = load_mask_set(masks)
        tiles = [
            cv2.resize(
                output_frame(background, obj, mask_set, index, options),
                STRIP_TILE,
                interpolation=cv2.INTER_AREA,
            )
            for index in STRIP_FRAMES
        ]
        strip = cv2.cvtColor(np.hstack(tiles), cv2.COLOR_RGB2BGR)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(args.out, strip)
        print(f"wrote {args.out} (output frames {', '.join(map(str, STRIP_FRAMES))})")
        if args.video:
            result = render(background, obj, mask_set, args.video, options)
            print(f"wrote {result.path}: {result.num_frames} frames in {result.seconds:.1f} s")
        mask_set.close()


if __name__ == "__main__":
    main()
