"""A test double of Hugging Face's `spaces` package as it behaves on ZeroGPU hardware (spaces 0.51.x).

Put `tests/zerogpu` first on `sys.path` (or PYTHONPATH) and `import spaces` finds this package instead of
the real one. `spaces.GPU` then does what `spaces/zero/wrappers.py` does on a ZeroGPU Space, minus the GPU:

- each decorated function has its own worker process, forked (multiprocessing "fork" context) on its
  first call, so the worker holds a copy of the main process's memory as it was at that moment;
- a call's arguments are pickled to the worker and its return value (or each value a generator yields)
  is pickled back: an argument or result that does not pickle fails the call. They travel by value, as
  plain `pickle` bytes: no file descriptor or shared memory passes between the processes (torch's
  multiprocessing reductions, which share a tensor's storage through a descriptor, are not used);
- the worker is reused by later calls while it is alive; whatever the function changes in the worker's
  memory never reaches the main process;
- a call that runs past its `duration` (seconds, or a function of the call's arguments; 60 by default)
  is aborted: the worker is killed and the call raises `gr.Error`, as ZeroGPU does;
- with a quota (`quota_seconds`, None by default: unlimited), a call asking for more seconds than the
  quota has left is refused with `gr.Error` before it starts, as ZeroGPU refuses a visitor whose daily
  GPU quota is spent; each call's wall time (a generator's until it ends) counts against the quota;
- `aborted_calls` aborts that many next calls with `gr.Error` before they start, as ZeroGPU does when it
  loses a worker or a GPU;
- an exception in the worker reaches the caller as `gr.Error` (a `gr.Error` raised by the function
  itself passes through as it is);
- a caller that stops iterating a generator early stops the worker's generator (here: the worker is
  killed and the next call forks a new one; ZeroGPU stops the generator and reuses the worker).

Like ZeroGPU's, a worker first closes the sockets it inherited (the app's connections). Unlike ZeroGPU's
workers, which compute on CUDA, this double's run torch on the CPU with one thread (OpenMP's thread pool
does not survive a fork).

`calls` counts the calls that ran in a worker, `forks` the workers started and `durations` lists what
each call asked for, for tests to assert on. `stop_workers()` ends every worker, as the end of the
Space's process does: a test calls it before closing a tool whose pipes a worker inherited.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import multiprocessing
import os
import pickle
import stat
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

DEFAULT_DURATION = 60  # seconds, as spaces.GPU's default
ZEROGPU_DOUBLE = True  # lets the app (and tests) see that this is the double

_FORK = multiprocessing.get_context("fork")
_in_worker = False  # True inside a worker process: decorated calls there run directly
calls = 0  # calls that ran in a worker (main process count)
forks = 0  # worker processes started (main process count)
durations: list[float] = []  # the duration each call asked for, in order (main process)
_decorated: list[_Decorated] = []  # every decorated function (main process)
quota_seconds: float | None = None  # GPU seconds this visitor may use; None: no limit
quota_used = 0.0  # seconds the calls have used so far
aborted_calls = 0  # the next this many calls are aborted before they start (a worker ZeroGPU lost)


@dataclass
class _Done:
    """The function returned (or the generator ended); `value` is its return value."""

    value: Any = None


@dataclass
class _Yielded:
    """One value a generator yielded."""

    value: Any


@dataclass
class _Failed:
    """The function raised; `error` is a `gr.Error` to re-raise as it is, else None."""

    error_type: str
    traceback: str
    error: Any = None


@dataclass
class _Worker:
    """A forked worker process and the two ends of its pipe."""

    process: Any
    connection: Connection

    def alive(self) -> bool:
        return self.process.is_alive()

    def kill(self) -> None:
        """Kill the worker and reap it (join), so that no zombie process stays behind."""
        self.process.kill()
        self.process.join()
        self.connection.close()


def _serve(task: Callable, connection: Connection) -> None:
    """The worker's loop: receive (args, kwargs), run `task`, send back what it returns or yields."""
    global _in_worker
    _in_worker = True
    _close_inherited_sockets(keep=connection.fileno())
    _one_cpu_thread()
    while True:
        try:
            args, kwargs = _receive(connection)
        except EOFError:
            return
        try:
            if inspect.isgeneratorfunction(task):
                for value in task(*args, **kwargs):
                    _send(connection, _Yielded(value))
                _send(connection, _Done())
            else:
                _send(connection, _Done(task(*args, **kwargs)))
        except Exception as error:  # the function's (or pickling's) failure goes back to the caller
            _send(connection, _failure(error))


def _send(connection: Connection, message: Any) -> None:
    """Send `message` by value: pickled here (an unpicklable one raises here), as bytes."""
    connection.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def _receive(connection: Connection) -> Any:
    """The next message `_send` sent; EOFError when the other end closed."""
    return pickle.loads(connection.recv_bytes())


def _close_inherited_sockets(keep: int) -> None:
    """Close the sockets the fork copied (the app's listening socket, its clients' connections, other
    workers' pipes), as ZeroGPU's worker does for the server's: a copy held open here would keep a
    connection the app closed alive, and a client reusing it would wait for ever."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd == keep:
            continue
        with contextlib.suppress(OSError):
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.close(fd)


def _one_cpu_thread() -> None:
    """Keep torch in the worker off OpenMP's thread pool, which does not survive a fork (libgomp hangs
    when a forked child enters a parallel region the parent used). ZeroGPU's workers compute on CUDA;
    this double's compute on the CPU, one thread each."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def _failure(error: Exception) -> _Failed:
    import gradio as gr

    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    passed = error if isinstance(error, gr.Error) else None
    try:
        pickle.dumps(passed)
    except Exception:
        passed = None
    return _Failed(type(error).__name__, text, passed)


def _aborted(reason: str) -> Exception:
    import gradio as gr

    return gr.Error(f"ZeroGPU worker error: {reason}")


class _Decorated:
    """The wrapper `spaces.GPU` puts around one function."""

    def __init__(self, task: Callable, duration: float | Callable[..., float] | None) -> None:
        self.task = task
        self.duration = duration
        self.worker: _Worker | None = None

    def seconds_for(self, args: tuple, kwargs: dict) -> float:
        duration = self.duration(*args, **kwargs) if callable(self.duration) else self.duration
        return float(duration if duration is not None else DEFAULT_DURATION)

    def start(self, args: tuple, kwargs: dict) -> tuple[_Worker, float]:
        """Send one call to a live worker (forking one if needed); returns it and the call's deadline."""
        global calls, forks, aborted_calls
        seconds = self.seconds_for(args, kwargs)
        if aborted_calls > 0:
            aborted_calls -= 1
            raise _aborted("GPU task aborted")
        if quota_seconds is not None and seconds > quota_seconds - quota_used:
            raise _aborted(
                f"You have exceeded your GPU quota ({seconds:.0f}s requested vs. "
                f"{max(quota_seconds - quota_used, 0):.0f}s left)."
            )
        if self.worker is None or not self.worker.alive():
            parent, child = _FORK.Pipe()
            process = _FORK.Process(target=_serve, args=(self.task, child), daemon=True)
            process.start()
            child.close()
            self.worker = _Worker(process, parent)
            forks += 1
        calls += 1
        durations.append(seconds)
        _send(self.worker.connection, (args, kwargs))  # pickles now: an unpicklable argument fails here
        return self.worker, seconds

    def drop(self, worker: _Worker) -> None:
        """Kill `worker` (its pipe may hold values nobody will read); the next call forks a new one."""
        worker.kill()
        if self.worker is worker:
            self.worker = None

    def receive(self, worker: _Worker, deadline: float) -> Any:
        """The worker's next message, or the call aborted (worker killed) when the worker sends none by
        `deadline`. A message it sent in time counts even when the caller reads it late: ZeroGPU queues
        a worker's results as they come, so a slow consumer does not spend the duration."""
        remaining = deadline - time.monotonic()
        sent = worker.connection.poll(0) or (remaining > 0 and worker.connection.poll(remaining))
        if not sent:
            worker.kill()
            self.worker = None
            raise _aborted("GPU task aborted (it ran past its duration)")
        try:
            message = _receive(worker.connection)
        except EOFError:
            worker.kill()  # reaped: a dead worker left unjoined stays a zombie process
            self.worker = None
            raise _aborted("GPU task aborted (the worker died)") from None
        if isinstance(message, _Failed):
            if message.error is not None:
                raise message.error
            print(message.traceback, flush=True)
            raise _aborted(message.error_type)
        return message


def _regular(decorated: _Decorated) -> Callable:
    @functools.wraps(decorated.task)
    def call(*args: Any, **kwargs: Any) -> Any:
        if _in_worker:
            return decorated.task(*args, **kwargs)
        worker, seconds = decorated.start(args, kwargs)
        with _metered():
            return decorated.receive(worker, time.monotonic() + seconds).value

    return call


def _generator(decorated: _Decorated) -> Callable:
    @functools.wraps(decorated.task)
    def call(*args: Any, **kwargs: Any) -> Iterator[Any]:
        if _in_worker:
            yield from decorated.task(*args, **kwargs)
            return
        worker, seconds = decorated.start(args, kwargs)
        deadline = time.monotonic() + seconds
        with _metered():
            while True:
                message = decorated.receive(worker, deadline)
                if isinstance(message, _Done):
                    return
                try:
                    yield message.value
                except GeneratorExit:  # the caller stopped early: ZeroGPU stops the worker's generator
                    decorated.drop(worker)
                    raise

    return call


@contextlib.contextmanager
def _metered() -> Iterator[None]:
    """Count the wall time of the block against the quota (`quota_used`)."""
    global quota_used
    started = time.monotonic()
    try:
        yield
    finally:
        quota_used += time.monotonic() - started


def stop_workers() -> None:
    """End every live worker. A worker holds what the fork copied, pipes to a test's browser driver
    included: that driver waits for its pipe to close before it exits."""
    for decorated in _decorated:
        if decorated.worker is not None:
            decorated.drop(decorated.worker)


def GPU(  # noqa: N802 (the real package's name)
    task: Callable | None = None,
    *,
    duration: float | Callable[..., float] | None = None,
    size: str | None = None,
) -> Any:
    """`@spaces.GPU`, `@spaces.GPU(duration=...)`: run the function in a forked worker, as on ZeroGPU."""
    del size  # only the real hardware has sizes

    def decorate(function: Callable) -> Callable:
        decorated = _Decorated(function, duration)
        _decorated.append(decorated)
        wrapper = _generator(decorated) if inspect.isgeneratorfunction(function) else _regular(decorated)
        wrapper.zerogpu = None  # the real package marks its wrappers so
        return wrapper

    return decorate(task) if callable(task) else decorate
