"""Write a file or a folder under a hidden name beside it, then rename it into place: readers see the old
output or the new one, never half of one, and a writer that fails leaves the old one as it was.

    with atomic_path("masks.zip") as temp:      # ".masks.partial-1a2b3c4d.zip"
        write_zip(temp)                          # renamed to masks.zip when the block ends

Every writer of the package goes through `atomic_path` (or, for a writer that outlives one block such as
`media.video.VideoWriter`, through `temp_sibling`, `publish` and `remove`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path


def temp_sibling(path: str | Path) -> Path:
    """A hidden, unique name beside `path` to write it under first. It keeps the suffix, so writers that
    go by it (ffmpeg, OpenCV) accept it: ``.preview.partial-1a2b3c4d.mp4``, ``.masks.partial-1a2b3c4d``."""
    path = Path(path)
    return path.with_name(f".{path.stem}.partial-{uuid.uuid4().hex[:8]}{path.suffix}")


def publish(temp: Path, final: str | Path, *, fsync: bool = False) -> None:
    """Rename `temp` (a file or a folder) to `final`, replacing what is there (a folder there is replaced
    whole). With `fsync`, a file's data is on disk before the rename and the rename after it."""
    final = Path(final)
    if fsync and temp.is_file():
        with temp.open("rb") as written:
            os.fsync(written.fileno())
    if final.is_dir() and not final.is_symlink():
        trash = temp_sibling(final)
        final.rename(trash)
        temp.rename(final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(temp, final)
    if fsync:
        _fsync_folder(final.absolute().parent)


def remove(path: Path) -> None:
    """Delete `path`, a file or a folder; nothing when it is not there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, fsync: bool = False) -> Iterator[Path]:
    """A hidden path beside `path` (`temp_sibling`) for the block to write, as a file or a folder it makes.

    When the block ends, what it wrote replaces `path` (`publish`; with `fsync`, flushed to disk); when it
    raises, what it wrote is deleted and `path` is left as it was. Several `atomic_path` blocks nested (or
    in one `contextlib.ExitStack`) publish their outputs together, after all of them are written.
    """
    temp = temp_sibling(path)
    try:
        yield temp
        publish(temp, path, fsync=fsync)
    finally:
        remove(temp)  # nothing there once published


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename in it) to disk, where the system allows it."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
