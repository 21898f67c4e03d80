"""Tests reach only the model servers they start: any other endpoint is refused, and the test fails."""

from __future__ import annotations

import pytest

from rolecall import OpenAIChatModel, RolePlay
from rolecall.models.local import free_port
from rolecall.models.requests import ModelRequestRefused, only_allowed, only_started
from rolecall.testing import FakeOpenAIServer


@pytest.mark.model_requests  # it turns the switch itself, to see what it refuses
def test_a_model_nobody_started_is_refused_and_remembered() -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/v1"
    with only_allowed() as refused:
        model = OpenAIChatModel("m", base_url=nowhere, max_attempts=1)
        transcript = RolePlay("Bake", assistant_role="Baker", user_role="Owner", model=model).run()
        with pytest.raises(ModelRequestRefused, match="only servers started here may be reached"):
            model.complete_sync([{"role": "user", "content": "hi"}])
    # the conversation saved the refusal as its error, and the switch remembered both requests
    assert transcript.termination is not None and transcript.termination.reason == "error"
    assert "was refused" in (transcript.termination.detail or "")
    assert refused == [nowhere, nowhere]


@pytest.mark.model_requests
def test_a_server_started_here_is_reached() -> None:
    with only_allowed() as refused, FakeOpenAIServer(lambda request: "<TASK_DONE>") as server:
        model = OpenAIChatModel("m", base_url=server.base_url)
        assert model.complete_sync([{"role": "user", "content": "hi"}]).text == "<TASK_DONE>"
    assert refused == []


def test_the_switch_is_on_in_every_test_that_does_not_say_otherwise() -> None:
    assert only_started()


@pytest.mark.model_requests
def test_a_test_that_says_so_may_reach_any_model() -> None:
    assert not only_started()
