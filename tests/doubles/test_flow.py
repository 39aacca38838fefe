"""The answering flow's two faces: every need is met and every error goes back into the flow."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from writer_stream_testkit.doubles.flow import Flow, Need, adrive, drive


def echo_twice() -> Flow[list[Any]]:
    got = [(yield Need(lambda: "sync", lambda: _value("async")))]
    try:
        yield Need(lambda: 1 // 0)
    except ZeroDivisionError as exc:
        got.append(type(exc).__name__)
    got.append((yield Need(lambda: "only run")))
    return got


async def _value(value: str) -> str:
    await asyncio.sleep(0)
    return value


def test_drive_runs_each_need_and_throws_errors_back_in() -> None:
    assert drive(echo_twice()) == ["sync", "ZeroDivisionError", "only run"]


def test_adrive_awaits_the_async_twin_and_runs_needs_without_one() -> None:
    assert asyncio.run(adrive(echo_twice())) == ["async", "ZeroDivisionError", "only run"]


def test_a_flow_that_needs_nothing_returns_at_once() -> None:
    def plain() -> Flow[int]:
        return 7
        yield  # pragma: no cover - makes this a generator

    assert drive(plain()) == 7
    assert asyncio.run(adrive(plain())) == 7


def test_a_base_exception_from_a_need_is_not_swallowed_by_the_flow() -> None:
    def fail() -> None:
        pytest.fail("from user code")

    def flow() -> Flow[str]:
        try:
            yield Need(fail)
        except Exception:  # pragma: no cover - must not see it
            return "swallowed"
        return "ran on"

    with pytest.raises(pytest.fail.Exception, match="from user code"):
        drive(flow())


def test_adrive_meets_needs_the_face_s_own_way() -> None:
    met: list[bool] = []

    async def meet(need: Need) -> Any:
        met.append(need.user_code)
        return need.what

    def flow() -> Flow[list[str]]:
        return [(yield Need(lambda: None, user_code=True, what="a")), (yield Need(lambda: None, what="b"))]

    assert asyncio.run(adrive(flow(), meet)) == ["a", "b"]
    assert met == [True, False]
