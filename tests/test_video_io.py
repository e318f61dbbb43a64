"""Tests of sam2_gradio.media.video against ffmpeg-made synthetic videos and the real fixture clips."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from sam2_gradio import config
from sam2_gradio.errors import VideoReadError, VideoWriteError
from sam2_gradio.media import video as video_module
from sam2_gradio.media.video import VideoWriter, iter_frames, probe_video, read_frame, write_video

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
CODEC_TOLERANCE = 3  # max abs difference of a near-lossless round trip through yuv


def ffmpeg_run(*args: str) -> str:
    """Run ffmpeg with ``args`` and return its stderr (ffmpeg reports there)."""
    result = subprocess.run([FFMPEG, "-hide_banner", "-nostats", *args], capture_output=True)
    return result.stderr.decode()


def audio_seconds(path: Path) -> float:
    """Decoded length of the first audio stream of ``path``, in seconds."""
    result = subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "null", "-progress", "pipe:1", "-"],
        capture_output=True,
    )
    return int(re.findall(rb"out_time_us=(\d+)", result.stdout)[-1]) / 1e6


def max_volume_db(path: Path, *, from_second: float) -> float:
    """Peak level (dBFS) of the audio of ``path`` after ``from_second``."""
    text = ffmpeg_run(
        "-ss", str(from_second), "-i", str(path), "-map", "0:a:0", "-af", "volumedetect", "-f", "null", "-"
    )
    return float(re.search(r"max_volume: (-?[\d.]+) dB", text).group(1))


def test_probe_counts_frames_and_reads_stream_facts(make_video):
    path = make_video("clip.mp4", 12, fps=10, audio=True)
    info = probe_video(path)
    assert (info.num_frames, info.fps, info.width, info.height) == (12, 10.0, 64, 48)
    assert info.duration == pytest.approx(1.2)
    assert info.has_audio
    assert not probe_video(make_video("silent.mp4", 3)).has_audio


def test_probe_restores_ntsc_frame_rate(make_video):
    info = probe_video(make_video("ntsc.mp4", 5, fps="30000/1001"))
    assert info.fps == pytest.approx(30000 / 1001, abs=1e-9)


def test_probe_reports_displayed_size_of_rotated_video(make_video, tmp_path):
    source = make_video("wide.mp4", 3)
    rotated = tmp_path / "rotated.mp4"
    ffmpeg_run("-display_rotation", "90", "-i", str(source), "-c", "copy", str(rotated))
    info = probe_video(rotated)
    assert (info.width, info.height) == (48, 64)
    assert read_frame(rotated, 0).shape == (64, 48, 3)


@pytest.mark.parametrize(
    ("make_file", "message"),
    [
        (lambda path: None, "not found"),
        (lambda path: path.write_text("hello"), "not a readable video"),
        (lambda path: path.write_bytes(_png_bytes()), "still image"),
    ],
    ids=["missing", "text", "png-renamed"],
)
def test_probe_rejects_non_videos_naming_the_file(tmp_path, make_file, message):
    path = tmp_path / "bad.mp4"
    make_file(path)
    with pytest.raises(VideoReadError, match=message) as error:
        probe_video(path)
    assert "bad.mp4" in str(error.value)


def test_probe_rejects_audio_only_file(tmp_path):
    path = tmp_path / "tone.m4a"
    ffmpeg_run("-f", "lavfi", "-i", "sine", "-t", "0.5", str(path))
    with pytest.raises(VideoReadError, match="no video stream"):
        probe_video(path)


def test_truncated_video_counts_the_frames_that_decode(tmp_path, make_video):
    full = tmp_path / "full.ts"
    ffmpeg_run("-i", str(make_video("source.mp4", 40)), "-c", "copy", str(full))
    truncated = tmp_path / "truncated.ts"
    truncated.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    info = probe_video(truncated)
    assert 0 < info.num_frames < 40
    assert sum(1 for _ in iter_frames(truncated)) == info.num_frames


def test_iter_frames_yields_the_requested_range(make_video, numbered_frames):
    expected = numbered_frames(30)
    path = make_video("clip.mp4", expected, fps=10)
    frames = list(iter_frames(path, start=25, stop=28))  # 25 frames = 2.5 s: the seeking path
    assert len(frames) == 3
    for offset, frame in enumerate(frames):
        assert frame.dtype == np.uint8 and frame.shape == (48, 64, 3)
        assert np.abs(frame.astype(int) - expected[25 + offset]).max() <= CODEC_TOLERANCE
    assert len(list(iter_frames(path, start=5))) == 25
    assert list(iter_frames(path, start=30)) == []
    assert len(list(iter_frames(path, start=28, stop=100))) == 2


def test_iter_frames_rejects_bad_range(make_video):
    path = make_video("clip.mp4", 3)
    with pytest.raises(ValueError, match="start"):
        next(iter_frames(path, start=-1))
    with pytest.raises(ValueError, match="stop"):
        next(iter_frames(path, start=2, stop=1))
    with pytest.raises(ValueError, match="outside"):
        read_frame(path, 3)


def test_seeking_is_frame_exact_on_real_h264_clip(fixture_videos_dir):
    path = fixture_videos_dir / "01_dog.mp4"
    wanted = [0, 1, 59, 60, 61, 100, 150, 287, probe_video(path).num_frames - 1]
    from_full_pass = {index: frame for index, frame in enumerate(iter_frames(path)) if index in wanted}
    for index in wanted:
        assert np.array_equal(read_frame(path, index), from_full_pass[index]), f"frame {index}"
    tail = list(iter_frames(path, start=150, stop=153))
    assert np.array_equal(tail[0], from_full_pass[150])


def test_seeking_is_frame_exact_when_video_starts_late(tmp_path, make_video, numbered_frames):
    source = make_video("source.mp4", numbered_frames(40), fps=10)
    late = tmp_path / "late.mp4"
    ffmpeg_run("-f", "lavfi", "-t", "5", "-i", "anullsrc", "-itsoffset", "0.5", "-i", str(source),
               "-map", "0:a", "-map", "1:v", "-c:v", "copy", "-c:a", "aac", str(late))  # fmt: skip
    frames = list(iter_frames(late))
    assert np.array_equal(read_frame(late, 30), frames[30])


def test_written_video_round_trips_and_plays_in_browsers(tmp_path, numbered_frames):
    expected = numbered_frames(8)
    path = write_video(tmp_path / "out.mp4", expected, fps=25)
    decoded = list(iter_frames(path))
    assert len(decoded) == 8
    for frame, original in zip(decoded, expected, strict=True):
        assert np.abs(frame.astype(int) - original).mean() < 2.0
    header = ffmpeg_run("-i", str(path))
    assert "h264" in header and "yuv420p" in header
    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat"), "faststart puts the index first"
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_odd_size_is_padded_not_scaled(tmp_path):
    frame = np.zeros((47, 63, 3), np.uint8)
    frame[:, -1] = 255  # last column white: it must survive at x=62 with a black pad at x=63
    path = write_video(tmp_path / "odd.mp4", [frame] * 3, fps=10)
    info = probe_video(path)
    assert (info.width, info.height) == (64, 48)
    decoded = read_frame(path, 0).astype(int)
    assert decoded[20, 62].min() > 200 and decoded[20, 63].max() < 60 and decoded[20, 30].max() < 30


def test_failed_write_leaves_no_file(tmp_path):
    output = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt), VideoWriter(output, fps=10) as writer:
        writer.write(np.zeros((48, 64, 3), np.uint8))
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="differs from the first"), VideoWriter(output, fps=10) as writer:
        writer.write(np.zeros((48, 64, 3), np.uint8))
        writer.write(np.zeros((48, 66, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="no frames"):
        write_video(output, [], fps=10)
    assert list(tmp_path.iterdir()) == []


def test_encoder_failure_raises_and_leaves_no_file(tmp_path):
    with (
        pytest.raises(VideoWriteError, match="out.mp4"),
        VideoWriter(tmp_path / "out.mp4", fps=10, preset="no-such-preset") as writer,
    ):
        for _ in range(50):
            writer.write(np.zeros((48, 64, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="must end with"):
        VideoWriter(tmp_path / "out.avi", fps=10)
    with pytest.raises(ValueError, match="fps"):
        VideoWriter(tmp_path / "out.mp4", fps=0)
    with pytest.raises(ValueError, match="does not exist"):
        VideoWriter(tmp_path / "missing" / "out.mp4", fps=10)
    with pytest.raises(ValueError, match="uint8"), VideoWriter(tmp_path / "out.mp4", fps=10) as writer:
        writer.write(np.zeros((48, 64, 3), np.float32))


@pytest.mark.parametrize("loop_audio", [False, True])
@pytest.mark.parametrize("announced", [None, 20, 30], ids=["second-pass", "same-pass", "announced-more"])
def test_audio_is_cut_or_looped_to_the_video_length(
    make_video, tmp_path, numbered_frames, loop_audio, announced
):
    source = make_video("tone.mp4", 5, fps=10, audio=True, audio_seconds=0.5)
    output = tmp_path / "out.mp4"
    with VideoWriter(output, fps=10, audio_from=source, loop_audio=loop_audio, frames=announced) as writer:
        for frame in numbered_frames(20):
            writer.write(frame)
    assert probe_video(output).has_audio and probe_video(output).num_frames == 20
    assert audio_seconds(output) == pytest.approx(2.0, abs=0.1)
    late_peak = max_volume_db(output, from_second=1.2)
    assert (late_peak > -20) if loop_audio else (late_peak < -60)


def test_audio_longer_than_video_is_cut(make_video, tmp_path, numbered_frames):
    source = make_video("tone.mp4", 5, fps=10, audio=True, audio_seconds=3.0)
    output = write_video(tmp_path / "out.mp4", numbered_frames(10), fps=10, audio_from=source)
    assert audio_seconds(output) == pytest.approx(1.0, abs=0.1)
    assert probe_video(output).num_frames == 10


def _png_bytes() -> bytes:
    import cv2

    ok, encoded = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))
    assert ok
    return encoded.tobytes()


def test_packet_count_matches_decoded_count_on_intact_video(make_video):
    path = make_video("clip.mp4", 17)
    assert probe_video(path, exact=False).num_frames == probe_video(path).num_frames == 17


def test_yuv420p_frames_are_i420_padded_to_even(make_video, numbered_frames):
    import cv2

    expected = [frame[:47, :63] for frame in numbered_frames(3)]
    path = make_video("odd.mp4", expected)
    frames = list(iter_frames(path, pixel_format="yuv420p"))
    assert len(frames) == 3 and frames[0].shape == (48 * 3 // 2, 64)
    rgb = cv2.cvtColor(frames[1], cv2.COLOR_YUV2RGB_I420)
    assert np.abs(rgb[:47, :63].astype(int) - expected[1]).mean() < 3
    assert rgb[:, 63].max() < 20 and rgb[47].max() < 20  # black padding


def test_writer_takes_i420_frames(tmp_path, numbered_frames):
    import cv2

    expected = numbered_frames(4)
    i420 = [cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420) for frame in expected]
    path = write_video(tmp_path / "out.mp4", i420, fps=10, pixel_format="yuv420p")
    decoded = list(iter_frames(path))
    assert len(decoded) == 4
    assert np.abs(decoded[2].astype(int) - expected[2]).mean() < 3
    with pytest.raises(ValueError, match="even W and H"):
        write_video(tmp_path / "bad.mp4", [np.zeros((47, 64), np.uint8)], fps=10, pixel_format="yuv420p")


@pytest.mark.parametrize(
    ("slow_step", "refusal"),
    [("header", r"reading the header of v\.mp4"), ("count", r"counting the frames of v\.mp4")],
)
def test_a_probe_that_outlasts_its_timeout_is_killed_and_refused_in_one_sentence(
    tmp_path, make_video, monkeypatch, slow_step, refusal
):
    """An ffmpeg that hangs on one probing step (a stand-in script sleeping in its place) is stopped after
    the step's timeout: the video is refused as unreadable, naming the step, the file and the limit."""
    video = make_video("v.mp4", 2)
    counting = "*-progress*"  # only the frame count asks ffmpeg for its progress
    slow_pattern = {"count": counting, "header": f"{counting}) ;; *"}[slow_step]
    pattern = f"{slow_pattern}) exec sleep 30 ;;"
    fake = tmp_path / "slow_ffmpeg"
    fake.write_text(f'#!/bin/sh\ncase "$*" in {pattern} esac\nexec {imageio_ffmpeg.get_ffmpeg_exe()} "$@"\n')
    fake.chmod(0o755)
    monkeypatch.setattr(video_module, "ffmpeg_exe", lambda: str(fake))
    monkeypatch.setattr(config, "MAX_VIDEO_HEADER_SECONDS", 0.5)
    monkeypatch.setattr(config, "MAX_FRAME_COUNT_SECONDS", 0.5)
    with pytest.raises(VideoReadError, match=rf"^{refusal} took more than 0\.5 s; [^.]*$"):
        probe_video(video)
