"""What show and verify print of a text or a response: clipped at a bound, quoted, and its content type named."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from writer_stream_testkit.cassettes._shown import SHOWN_TEXT, clip, content_type, is_sse, quote
from writer_stream_testkit.cassettes.model import RecordedEvent, RecordedResponse


def test_a_text_within_the_bound_is_shown_whole_and_a_longer_one_ends_in_an_ellipsis() -> None:
    assert clip("x" * SHOWN_TEXT) == "x" * SHOWN_TEXT
    clipped = clip("x" * (SHOWN_TEXT + 1))
    assert clipped == "x" * (SHOWN_TEXT - 1) + "…"
    assert clip("abcdef", limit=4) == "abc…"


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_a_clipped_text_never_exceeds_its_bound_and_keeps_its_start(text: str, limit: int) -> None:
    shown = clip(text, limit)
    assert len(shown) <= limit
    assert text.startswith(shown.removesuffix("…"))


def test_quote_shows_control_characters_escaped_after_clipping() -> None:
    assert quote("a\nb") == "'a\\nb'"
    assert quote("abcdef", limit=4) == "'abc…'"


def test_a_response_is_sse_when_it_has_events_and_names_its_content_type() -> None:
    stream = RecordedResponse(200, (("content-type", "text/event-stream"),), events=(RecordedEvent("x"),))
    plain = RecordedResponse(429, (("x-other", "1"),), body=b"{}")
    assert is_sse(stream)
    assert not is_sse(plain)
    assert content_type(stream) == "text/event-stream"
    assert content_type(plain) == "no content-type"
