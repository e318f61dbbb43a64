"""Every error a user may read, in one place.

`UserError` is the base of every error the user can fix: a bad value (`BadInput`, also a `ValueError`),
a step not taken yet (`NotReady`, also a `RuntimeError`), or a limit of the machine or the server
(`ServerBusy`, `DiskLimitReached`, `DiskFull`, `GpuStopped`), each with a one-sentence message that says
what to do. The CLIs print it and exit 2, the app shows it as a message; any other exception is a bug or a
failure of the machine and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix (bad input, missing weights, a refused upload); the message says what."""


class BadInput(UserError, ValueError):
    """A value, file or option the user gave that cannot be used; the message names it."""


class NotReady(UserError, RuntimeError):
    """An action asked for before the step it needs (open a video, click, fetch weights); the message
    names that step."""


class UploadRejected(BadInput):
    """An uploaded video over the limits of `config`, or not a video; the message is one sentence."""


class ServerBusy(UserError, RuntimeError):
    """No session can be opened now: the most the server takes are live and busy."""


class DiskLimitReached(UserError, RuntimeError):
    """A job's result is larger than the disk a session may use."""


class NoVideo(NotReady):
    """A Segment action was asked for before a video was opened."""


class ModelUnavailable(NotReady):
    """No SAM 2 model can be built (missing weights); the message names the fix."""


class MissingInput(NotReady):
    """A Compose action was asked for before its three files were given."""


class CheckpointUnavailable(NotReady):
    """The weights are neither on disk nor downloadable; the message names the command that fetches them."""


class CheckpointNotFound(UserError, FileNotFoundError):
    """An explicit checkpoint path (argument or `SAM2_CHECKPOINT`) that names no file."""


class WrongCheckpoint(UserError, RuntimeError):
    """A weights file that is not a SAM 2 checkpoint, or not one of the model size asked for."""


class DiskFull(UserError, RuntimeError):
    """The disk holding a project filled up; what was committed before is kept."""


class GpuStopped(UserError, RuntimeError):
    """A GPU call of a propagation failed (on ZeroGPU: the quota is spent, the call ran past its
    duration, the worker was lost). The run is left after the last chunk that came back whole."""


class PromptStateError(BadInput):
    """A prompt state (JSON or click) that does not fit the schema or the video."""


class VideoReadError(BadInput):
    """A file that cannot be read as a video; the message names the file."""


class NoVideoStream(VideoReadError):
    """A media file without a picture (an audio-only MP4, say); the message names the file."""


class VideoWriteError(UserError, RuntimeError):
    """ffmpeg failed while encoding (disk full?); the message names the output and ffmpeg's complaint."""
