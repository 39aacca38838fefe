"""The fault kinds of a resilience run: each one's family, where it lands and the fault it stands for,
and the --writer-resilience-faults list read into names."""

from __future__ import annotations

import json

import pytest

from writer_stream_testkit.errors import ScriptError
from writer_stream_testkit.resilience.kinds import DEFAULT_KINDS, KINDS, RATE_LIMIT_WAIT, parse_kinds
from writer_stream_testkit.scripts.faults import ConnectionRefused, HttpError


def test_kinds_parse_with_a_message_naming_the_choices() -> None:
    assert parse_kinds(None) == DEFAULT_KINDS
    assert "crlf" not in DEFAULT_KINDS
    assert parse_kinds("all") == tuple(KINDS)
    assert parse_kinds("stall, rate-limit,stall") == ("stall", "rate-limit")
    with pytest.raises(ValueError, match="'nope', which is not a fault kind; use some of rate-limit"):
        parse_kinds("nope")


def test_every_kind_has_a_family_a_place_and_a_replacing_fault_only_when_it_replaces() -> None:
    assert list(KINDS) == [kind.name for kind in KINDS.values()]
    families = {name: kind.family for name, kind in KINDS.items()}
    assert families == {
        "rate-limit": "retryable",
        "server-error": "retryable",
        "bad-request": "final",
        "refused": "retryable",
        "disconnect": "cut",
        "truncate": "cut",
        "malformed": "cut",
        "error-event": "cut",
        "stall": "cut",
        "split-utf8": "harmless",
        "keep-alive": "harmless",
        "crlf": "harmless",
    }
    assert all(kind.place for kind in KINDS.values())
    replacing = {name for name, kind in KINDS.items() if kind.fault is not None}
    assert replacing == {"rate-limit", "server-error", "bad-request", "refused"}
    assert isinstance(KINDS["refused"].fault, ConnectionRefused)


def test_the_replacing_kinds_are_writer_errors_with_the_waits_they_ask_for() -> None:
    rate_limit = KINDS["rate-limit"].fault
    assert isinstance(rate_limit, HttpError)
    assert rate_limit.status == 429
    assert KINDS["rate-limit"].retry_after == RATE_LIMIT_WAIT == 0.1
    assert KINDS["server-error"].retry_after == 0.01
    assert KINDS["bad-request"].retry_after is None
    assert KINDS["refused"].retry_after is None
    assert KINDS["stall"].retry_after is None
    plan = rate_limit.response()
    assert ("retry-after-ms", "100") in plan.headers
    assert ("retry-after", "1") in plan.headers
    assert json.loads(plan.body())["tpe"] == "TooManyRequests"


@pytest.mark.parametrize("text", [None, "", "  ", "default"])
def test_no_choice_means_the_default_kinds(text: str | None) -> None:
    assert parse_kinds(text) == DEFAULT_KINDS
    assert tuple(name for name in KINDS if name != "crlf") == DEFAULT_KINDS


def test_several_unknown_kinds_are_named_together_where_they_were_given() -> None:
    with pytest.raises(ScriptError) as caught:
        parse_kinds("stall,nope, zap", where="writer_resilience_faults")
    assert str(caught.value) == (
        "writer_resilience_faults names 'nope', 'zap', which are not fault kinds; use some of "
        + ", ".join(KINDS)
        + " (comma-separated), or 'all'."
    )
