"""Decoders kept open between single-frame reads (`media.frame_cursors`): the frames `read_frame` gives,
forward, backward and far ahead, with a bounded number of decoders."""

from __future__ import annotations

import numpy as np
import pytest

from sam2_gradio.errors import BadInput
from sam2_gradio.media.frame_cursors import FrameCursors
from sam2_gradio.media.video import probe_video, read_frame


def test_frames_read_in_any_order_are_those_read_frame_gives(make_video):
    info = probe_video(make_video("numbered.mp4", 30), exact=False)
    cursors = FrameCursors(kept=1, read_through=5)
    order = [0, 1, 4, 9, 2, 2, 29, 13, 20]  # forward, through, a jump past `read_through`, back, the end
    for index in order:
        np.testing.assert_array_equal(cursors.frame(info, index), read_frame(info, index))
    cursors.close()


def test_a_frame_outside_the_video_is_refused_and_at_most_kept_decoders_stay_open(make_video):
    first = probe_video(make_video("a.mp4", 6), exact=False)
    second = probe_video(make_video("b.mp4", 6), exact=False)
    cursors = FrameCursors(kept=1)
    with pytest.raises(BadInput, match="outside"):
        cursors.frame(first, 6)
    cursors.frame(first, 1)
    cursors.frame(second, 1)  # the first video's decoder is stopped to keep one
    assert cursors.open_videos == [str(second.path)]
    cursors.close()
    assert cursors.open_videos == []
