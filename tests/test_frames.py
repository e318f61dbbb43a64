"""Frame sources: common containers and codecs, JPEG folders, frame extraction, SAM 2's preprocessing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sam2_gradio.engine.model.model_frames import ModelFrames, to_model_tensor
from sam2_gradio.media.frames import JpegFolderFrames, extract_jpeg_frames, open_frames, read_frame
from sam2_gradio.media.video import ffmpeg_exe

FORMATS = [
    ("clip.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p"]),
    ("clip_hevc.mp4", ["-c:v", "libx265", "-pix_fmt", "yuv420p", "-x265-params", "log-level=error"]),
    ("clip.mov", ["-c:v", "libx264", "-pix_fmt", "yuv420p"]),
    ("clip.webm", ["-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "30"]),
    ("clip.avi", ["-c:v", "mpeg4", "-q:v", "2"]),
]


def _encode(path: Path, codec_args: list[str], frames: int = 12, size: str = "96x64", fps: int = 12) -> Path:
    command = [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}"]
    subprocess.run([*command, "-frames:v", str(frames), *codec_args, str(path)], check=True)
    return path


@pytest.mark.parametrize(("name", "codec_args"), FORMATS, ids=[name for name, _ in FORMATS])
def test_common_containers_and_codecs_are_read(tmp_path, name, codec_args):
    source = open_frames(_encode(tmp_path / name, codec_args))
    assert (source.meta.num_frames, source.meta.width, source.meta.height) == (12, 96, 64)
    assert source.meta.fps == pytest.approx(12.0)
    frames = list(source.read(0, 12))
    assert len(frames) == 12 and frames[5].shape == (64, 96, 3) and frames[5].dtype == np.uint8
    np.testing.assert_array_equal(read_frame(source, 5), frames[5])


def test_extracted_jpeg_folder_reads_back_the_same_video(tmp_path):
    video = open_frames(_encode(tmp_path / "clip.mp4", FORMATS[0][1]))
    reports = []
    folder = extract_jpeg_frames(video, tmp_path / "frames", progress=reports.append)
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == [f"{i:05d}.jpg" for i in range(12)]
    assert [(report.frames_done, report.total) for report in reports] == [(10, 12), (12, 12)]
    assert folder.meta == video.meta
    difference = np.abs(read_frame(folder, 7).astype(int) - read_frame(video, 7).astype(int))
    assert difference.mean() < 2.5  # JPEG quality 95, no chroma subsampling


def test_jpeg_folder_needs_numbered_jpegs(tmp_path):
    with pytest.raises(ValueError, match="no JPEG frames"):
        JpegFolderFrames.open(tmp_path)
    Image.new("RGB", (8, 8)).save(tmp_path / "cover.jpg")
    with pytest.raises(ValueError, match="named by frame number"):
        JpegFolderFrames.open(tmp_path)


def test_model_input_matches_sam2s_own_jpeg_loader(tmp_path):
    from sam2.utils.misc import load_video_frames_from_jpg_images

    video = open_frames(_encode(tmp_path / "clip.mp4", FORMATS[0][1]))
    folder = extract_jpeg_frames(video, tmp_path / "frames")
    official, height, width = load_video_frames_from_jpg_images(
        str(tmp_path / "frames"), 64, offload_video_to_cpu=True, compute_device=torch.device("cpu")
    )
    ours = ModelFrames(folder, 64, torch.device("cpu"), batch_size=5)
    assert (height, width) == (64, 96) and len(ours) == 12
    for index in range(12):
        torch.testing.assert_close(ours[index], official[index], rtol=0, atol=0)
    ours.close()


def test_model_frames_batches_in_either_direction_and_refuses_outside_indices(tmp_path):
    video = open_frames(_encode(tmp_path / "clip.mp4", FORMATS[0][1]))
    forward = ModelFrames(video, 32, torch.device("cpu"), batch_size=5)
    backward = ModelFrames(video, 32, torch.device("cpu"), batch_size=5, reverse=True)
    expected = [
        to_model_tensor(np.asarray(Image.fromarray(f).resize((32, 32))), torch.device("cpu"))
        for f in video.read(0, 12)
    ]
    for index in range(12):
        torch.testing.assert_close(forward[index], expected[index], rtol=0, atol=0)
    for index in reversed(range(12)):
        torch.testing.assert_close(backward[index], expected[index], rtol=0, atol=0)
    with pytest.raises(IndexError, match="frame 12 is outside"):
        forward[12]
    forward.close()
    backward.close()
