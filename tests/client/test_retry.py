"""The pure retry policy, pinned branch by branch and checked against writerai's own."""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Callable, Iterator

import httpx
import pytest
import writerai
from hypothesis import given
from hypothesis import strategies as st
from writerai import _base_client
from writerai._models import FinalRequestOptions

from writer_stream_testkit import _retry
from writer_stream_testkit._retry import parse_retry_after, retry_delay, should_retry_status

NOW = 1_700_000_000.0


def _now() -> float:
    return NOW


def test_constants_are_the_sdks() -> None:
    assert _retry.DEFAULT_MAX_RETRIES == writerai.DEFAULT_MAX_RETRIES == 7
    assert _retry.DEFAULT_TIMEOUT == writerai.DEFAULT_TIMEOUT
    assert _retry.DEFAULT_CONNECTION_LIMITS == writerai.DEFAULT_CONNECTION_LIMITS
    assert (_retry.INITIAL_RETRY_DELAY, _retry.MAX_RETRY_DELAY) == (1.0, 60.0)


@pytest.mark.parametrize(
    ("status", "retried"),
    [
        *[(400, False), (401, False), (404, False), (408, True), (409, True), (422, False), (429, True)],
        *[(500, True), (502, True), (503, True), (599, True)],
    ],
)
def test_status_decides_without_header(status: int, retried: bool) -> None:
    assert should_retry_status(status, httpx.Headers()) is retried


@pytest.mark.parametrize("status", [400, 429, 500])
def test_x_should_retry_header_overrides_status(status: int) -> None:
    assert should_retry_status(status, httpx.Headers({"X-Should-Retry": "true"})) is True
    assert should_retry_status(status, httpx.Headers({"x-should-retry": "false"})) is False
    # Any other value is no instruction at all.
    assert should_retry_status(status, httpx.Headers({"x-should-retry": "yes"})) is (status != 400)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "soon", "retry-after": "9"}, 9.0),
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after": email.utils.formatdate(NOW + 30, usegmt=True)}, 30.0),
        ({"retry-after": email.utils.formatdate(NOW - 30, usegmt=True)}, -30.0),
        ({"retry-after": "not a date"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after_reads_every_form(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(httpx.Headers(headers), now=_now) == expected


@pytest.mark.parametrize("seconds", ["0.001", "1", "60"])
def test_server_wait_within_bounds_is_taken_as_given(seconds: str) -> None:
    headers = httpx.Headers({"retry-after": seconds})
    assert retry_delay(3, headers, random=lambda: 0.5) == float(seconds)


@pytest.mark.parametrize("seconds", ["0", "-1", "60.5", "3600"])
def test_server_wait_out_of_bounds_falls_back_to_backoff(seconds: str) -> None:
    headers = httpx.Headers({"retry-after": seconds})
    assert retry_delay(1, headers, random=lambda: 0.0) == 2.0


@pytest.mark.parametrize(
    ("retries_taken", "full"), [(0, 1.0), (1, 2.0), (2, 4.0), (5, 32.0), (6, 60.0), (50, 60.0)]
)
def test_backoff_doubles_to_a_cap_with_up_to_a_quarter_of_jitter(retries_taken: int, full: float) -> None:
    assert retry_delay(retries_taken, None, random=lambda: 0.0) == full
    assert retry_delay(retries_taken, None, random=lambda: 0.999999) == pytest.approx(full * 0.75, rel=1e-5)


def test_backoff_survives_an_absurd_retry_count() -> None:
    assert retry_delay(10**9, None, random=lambda: 0.0) == 60.0


@pytest.fixture(scope="module")
def sdk_client() -> Iterator[writerai.Writer]:
    client = writerai.Writer(api_key="test", max_retries=7)
    yield client
    client.close()


header_values = st.one_of(
    st.none(),
    st.sampled_from(["0", "1", "2.5", "59", "60", "61", "-3", "abc", "", "1e3", "nan", "inf"]),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-100, max_value=200).map(str),
    st.integers(min_value=-100, max_value=100_000).map(str),
)


@given(
    retries_taken=st.integers(min_value=0, max_value=7),
    retry_after_ms=header_values,
    retry_after=header_values,
    draw=st.floats(min_value=0.0, max_value=0.999999),
    status=st.sampled_from([400, 408, 409, 418, 429, 500, 503]),
    should_retry=st.sampled_from([None, "true", "false", "TRUE"]),
)
def test_policy_matches_writerai(
    sdk_client: writerai.Writer,
    retries_taken: int,
    retry_after_ms: str | None,
    retry_after: str | None,
    draw: float,
    status: int,
    should_retry: str | None,
) -> None:
    """Differential: for any headers, attempt and jitter draw, we wait as long as writerai would."""
    raw = {"retry-after-ms": retry_after_ms, "retry-after": retry_after, "x-should-retry": should_retry}
    headers = httpx.Headers({name: value for name, value in raw.items() if value is not None})
    options = FinalRequestOptions.construct(method="post", url="/v1/chat")
    namespace = vars(_base_client)  # the SDK's jitter source, pinned to the same draw
    original = namespace["random"]
    namespace["random"] = lambda: draw
    try:
        expected = sdk_client._calculate_retry_timeout(7 - retries_taken, options, headers)
    finally:
        namespace["random"] = original
    assert retry_delay(retries_taken, headers, random=lambda: draw) == expected

    response = httpx.Response(status, headers=headers)
    assert should_retry_status(status, headers) is sdk_client._should_retry(response)


# --- dates no clock can hold ------------------------------------------------------------------------

UNREADABLE_DATES = ["Mon, 01 Jan 99999 00:00:00 GMT", "Fri, 01 Jan 10000 00:00:00 GMT"]


@pytest.mark.parametrize("date", UNREADABLE_DATES)
def test_a_retry_after_date_past_the_calendar_is_no_instruction(date: str) -> None:
    headers = httpx.Headers({"retry-after": date})
    assert parse_retry_after(headers, now=_now) is None
    assert retry_delay(1, headers, random=lambda: 0.0) == 2.0  # plain backoff, as for "not a date"


@pytest.mark.parametrize("date", UNREADABLE_DATES)
def test_writerai_crashes_on_a_retry_after_date_past_the_calendar(
    sdk_client: writerai.Writer, date: str
) -> None:
    # Pins the deviation in docs/deviations.md: the SDK lets the calendar's ValueError escape.
    options = FinalRequestOptions.construct(method="post", url="/v1/chat")
    with pytest.raises(ValueError, match="out of range"):
        sdk_client._calculate_retry_timeout(7, options, httpx.Headers({"retry-after": date}))


@pytest.mark.parametrize("is_async", [False, True])
def test_chat_retries_a_429_whose_retry_after_date_is_past_the_calendar(
    monkeypatch: pytest.MonkeyPatch, is_async: bool
) -> None:
    from writer_stream_testkit import client as ours
    from writer_stream_testkit.doubles.mock import WriterMock
    from writer_stream_testkit.errors import RateLimitError
    from writer_stream_testkit.scripts.faults import Fault

    monkeypatch.setattr(_retry, "INITIAL_RETRY_DELAY", 0.001)
    with WriterMock() as mock:
        mock.reply(Fault.http_error(429, retry_after=UNREADABLE_DATES[0]), times=3)
        call: Callable[[], object] = (
            (
                lambda: asyncio.run(
                    ours.AsyncWriter(api_key="k", max_retries=2).chat.chat(model="m", messages=[])
                )
            )
            if is_async
            else (lambda: ours.Writer(api_key="k", max_retries=2).chat.chat(model="m", messages=[]))
        )
        with pytest.raises(RateLimitError):
            call()
    assert len(mock.calls) == 3
