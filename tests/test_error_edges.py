"""Where errors meet people: the CLIs (`run_cli`) and the app (`user_errors`).

A `errors.UserError` is one sentence (CLI: exit 2); anything else, such as a `RuntimeError` from torch,
is an internal error whose traceback goes to the log (CLI: exit 1; app: a fixed sentence).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import gradio as gr
import pytest
import torch

from sam2_gradio.app import segment_actions
from sam2_gradio.app.edge import INTERNAL_ERROR, user_errors
from sam2_gradio.app.sessions import SessionStore
from sam2_gradio.cli.common import OneLineParser, run_cli
from sam2_gradio.engine.tracking.prompts import load_prompt_state
from sam2_gradio.errors import BadInput
from sam2_gradio.jobs import Cancelled


def _torch_shape_mismatch() -> torch.Tensor:
    """A genuine RuntimeError from torch (a bug in the caller, not bad input)."""
    return torch.zeros(2) @ torch.zeros(3)


def _run_tool(run: Callable, path: str) -> int:
    parser = OneLineParser(prog="tool")
    parser.add_argument("--path")
    return run_cli(parser, run, ["--path", path])


def _logged_exceptions(caplog: pytest.LogCaptureFixture) -> list[BaseException]:
    return [record.exc_info[1] for record in caplog.records if record.exc_info]


def test_cli_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, caplog):
    state = tmp_path / "state.json"
    state.write_text("{not json")
    assert _run_tool(lambda args: load_prompt_state(args.path), str(state)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "state.json" in err and err.count("\n") == 1, err
    assert _logged_exceptions(caplog) == []


def test_cli_os_error_on_a_file_the_user_named_says_which_file(tmp_path, capsys):
    missing = tmp_path / "no_folder" / "out.txt"
    assert _run_tool(lambda args: Path(args.path).write_text("out"), str(missing)) == 2
    assert capsys.readouterr().err == f"error: No such file or directory: {missing}\n"


def test_cli_runtime_error_from_torch_exits_1_with_its_traceback_logged(tmp_path, capsys, caplog):
    with caplog.at_level(logging.ERROR):
        assert _run_tool(lambda args: _torch_shape_mismatch(), str(tmp_path)) == 1
    assert "error: " not in capsys.readouterr().err  # not passed off as bad input
    [logged] = _logged_exceptions(caplog)
    assert type(logged) is RuntimeError and logged.__traceback__ is not None


def test_app_bad_input_reaches_the_user_as_its_own_sentence(tmp_path, caplog):
    session = SessionStore(tmp_path / "sessions").get("browser-tab")
    with pytest.raises(gr.Error) as raised:
        user_errors(segment_actions.show_frame)(session, 0)
    assert raised.value.message == "Upload a video (or pick an example) first."
    assert _logged_exceptions(caplog) == []


def test_app_runtime_error_from_torch_says_internal_error_and_logs_the_traceback(caplog):
    handler = user_errors(_torch_shape_mismatch)
    with caplog.at_level(logging.ERROR), pytest.raises(gr.Error) as raised:
        handler()
    assert raised.value.message == INTERNAL_ERROR
    [logged] = _logged_exceptions(caplog)
    assert type(logged) is RuntimeError and "_torch_shape_mismatch" in caplog.text


def test_app_cancelled_job_is_a_sentence_not_an_internal_error(caplog):
    def cancelled() -> None:
        raise Cancelled("propagation was cancelled")

    with pytest.raises(gr.Error) as raised:
        user_errors(cancelled)()
    assert raised.value.message == "Propagation was cancelled."
    assert _logged_exceptions(caplog) == []


def test_app_error_in_the_page_is_a_warning_that_keeps_every_output():
    def refuse(request: gr.Request) -> None:
        raise BadInput("the state was saved for another video")

    handler = user_errors(refuse)
    with pytest.warns(UserWarning, match="The state was saved for another video."):
        kept = handler(gr.Request(headers={"x-gradio-user": "app"}))
    assert kept == gr.skip()  # gradio leaves every output as it was
    with pytest.raises(gr.Error, match="saved for another video"):  # an API client gets the error
        handler(gr.Request(headers={"x-gradio-user": "api"}))
