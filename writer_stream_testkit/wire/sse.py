"""Server-sent events: an incremental decoder and the matching encoders.

Pure code, no I/O: the client, mock, server and recorder move the bytes and call in
here. Decoding follows the WHATWG "event stream interpretation" rules rather than the
official SDK's decoder, so a recording that the SDK happens to accept but a browser
would not (a data-less block, a truncated last event) is noticed, not smoothed over.

The decoder works on text decoded once per feed and keeps an unfinished line as a list
of pieces joined when its line end arrives, so its cost is linear in the bytes however
they are split.
"""

from __future__ import annotations

import json
from codecs import utf_8_decode
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "DONE",
    "DONE_DATA",
    "SSEDecoder",
    "ServerSentEvent",
    "encode_chunk",
    "encode_comment",
    "encode_event",
]

DONE_DATA: Final = "[DONE]"
"""The `data` of the sentinel event that ends a Writer chat stream."""

DONE: Final = b"data: [DONE]\n\n"
"""The sentinel event as it appears on the wire."""

_NEWLINES: Final = ("\n", "\r", "\r\n")


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event: what a block of fields ending in a blank line means.

    `event` is None when the block had no `event:` field or an empty one (a browser
    would call it "message"). `id` is the stream's last event ID, which persists from earlier blocks
    as the spec says; None until some block sets one. `retry` is the valid `retry:`
    value given in this block, if any.
    """

    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None

    def json(self) -> Any:
        """Parse `data` as JSON, the form every Writer chunk takes."""
        return json.loads(self.data)


class SSEDecoder:
    """Turn a byte stream, split anywhere, into `ServerSentEvent`s.

    Call `feed` with each piece as it arrives and `flush` once at EOF. After `flush`,
    `incomplete` says whether the stream stopped part-way through an event, which the
    spec says to discard silently but a test usually wants to report.

    Each feed is decoded once and split on LF once; an unfinished line is kept as the
    pieces it arrived in and joined when its line end comes, so the cost stays linear
    however the bytes are split. The state of the open block (its data, event, retry)
    carries over between feeds.

    `dataless_events=True` also dispatches a block that names an event but has no
    `data` line (with `data` ""), which the spec drops: a client that must raise on a
    bare `event: error`, as the official SDK does, needs to see it.
    """

    __slots__ = (
        "_at_start",
        "_byte_count",
        "_closed",
        "_data",
        "_dataless",
        "_event",
        "_event_count",
        "_id_buffer",
        "_incomplete",
        "_last_id",
        "_last_retry",
        "_line_pieces",
        "_more_data",
        "_retry",
        "_skip_lf",
        "_started",
        "_utf8_tail",
    )

    def __init__(self, *, dataless_events: bool = False) -> None:
        self._dataless = dataless_events
        self._at_start = True  # no text decoded yet: a BOM here is dropped
        self._utf8_tail = b""  # the start of a UTF-8 character cut by the feed boundary
        self._skip_lf = False  # the last feed ended in CR: an LF next completes that CRLF
        self._line_pieces: list[str] = []  # the unfinished line, in the pieces it came in
        # The open block: its first `data` value, any further ones, and its other fields.
        self._data: str | None = None
        self._more_data: list[str] = []
        self._event: str | None = None
        self._retry: int | None = None
        self._started = False  # some field line has been seen since the last blank line
        self._id_buffer: str | None = None  # the last valid `id:` parsed, dispatched or not
        self._last_id: str | None = None  # the buffer as of the last blank line: what is reported
        self._last_retry: int | None = None
        self._event_count = 0
        self._byte_count = 0
        self._closed = False
        self._incomplete = False

    @property
    def event_count(self) -> int:
        """Events dispatched so far; the next one is event #event_count + 1."""
        return self._event_count

    @property
    def byte_count(self) -> int:
        """Bytes fed so far, for pointing at a place in the stream."""
        return self._byte_count

    @property
    def last_event_id(self) -> str | None:
        """The last valid `id:` of a block that has ended, as a reconnecting client would send it.

        As WHATWG says, an `id:` line sets the last event ID buffer when it is parsed,
        but the stream's last event ID takes the buffer's value only when a blank line
        ends the block (even a block without data), so the id of a block still open,
        or cut by the end of the stream, is not reported.
        """
        return self._last_id

    @property
    def retry(self) -> int | None:
        """The last valid `retry:` seen in any block, even one that dispatched nothing."""
        return self._last_retry

    @property
    def incomplete(self) -> bool:
        """True after `flush` if the stream ended inside an event, which was discarded.

        "Inside an event" means that after the last blank line there was an unterminated
        line or at least one field line; a stream that ends right after a blank line, or
        after whole comment lines, is complete.
        """
        return self._incomplete

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Decode the next piece of the stream; return the events it completed."""
        if self._closed:
            raise RuntimeError(
                "SSEDecoder.feed() was called after flush(); a decoder reads one stream, "
                "so create a new SSEDecoder for the next one."
            )
        if isinstance(data, str):
            raise TypeError(
                "SSEDecoder.feed() takes bytes, not str; pass the raw response bytes "
                "or encode the text first with text.encode('utf-8')."
            )
        self._byte_count += len(data)
        if self._utf8_tail:
            data = self._utf8_tail + data
        text, used = utf_8_decode(data, "replace", False)
        self._utf8_tail = data[used:]
        if not text:
            return []
        if self._at_start:
            self._at_start = False
            if text[0] == "\ufeff":
                text = text[1:]
                if not text:
                    return []
        if self._skip_lf:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return []
        if "\r" in text:
            self._skip_lf = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        if len(lines) == 1:
            self._line_pieces.append(text)
            return []
        unfinished = lines.pop()
        pieces = self._line_pieces
        if pieces:
            self._line_pieces = []
            pieces.append(lines[0])
            if pieces[0][:6] == "data: ":
                # A data line that came in several reads, typically a long one: drop the field
                # name from its first piece before joining, rather than join and then slice
                # off the name, which would copy the whole (maybe many-MiB) line twice.
                pieces[0] = pieces[0][6:]
                self._add_data("".join(pieces))
                del lines[0]
            else:
                lines[0] = "".join(pieces)
        if unfinished:
            self._line_pieces.append(unfinished)
        return self._interpret(lines)

    def flush(self) -> list[ServerSentEvent]:
        """Signal EOF: discard any unfinished event and record that in `incomplete`.

        A complete event is always dispatched by the `feed` that delivered its blank
        line, so this returns an empty list; it is a list so callers treat it like
        `feed`. Calling it again is harmless.
        """
        if not self._closed:
            self._closed = True
            self._incomplete = bool(self._utf8_tail or self._line_pieces or self._started)
            self._utf8_tail = b""
            self._line_pieces = []
            self._data = None
            self._more_data = []
        return []

    def _add_data(self, value: str) -> None:
        """Apply a `data` field line to the open block, as `_interpret` does."""
        self._started = True
        if self._data is None:
            self._data = value
        else:
            self._more_data.append(value)

    def _interpret(self, lines: list[str]) -> list[ServerSentEvent]:
        """Apply whole lines to the open block; return the events dispatched.

        The state lives in locals for the loop, and the two common lines (blank, then
        `data: `) are tested first, because this loop is where a long stream spends its
        time.
        """
        events: list[ServerSentEvent] = []
        append = events.append
        new, set_data, set_event, set_id, set_retry = _new, _set_data, _set_event, _set_id, _set_retry
        data = self._data
        more_data = self._more_data
        event = self._event
        retry = self._retry
        started = self._started
        last_id = self._id_buffer
        reported = self._last_id
        for line in lines:
            if not line:
                reported = last_id
                if data is not None:
                    if more_data:
                        more_data.insert(0, data)
                        data = "\n".join(more_data)
                        more_data = []
                    sse = new(ServerSentEvent)
                    set_data(sse, data)
                    set_event(sse, event)
                    set_id(sse, last_id)
                    set_retry(sse, retry)
                    append(sse)
                    data = None
                elif event is not None and self._dataless:
                    sse = new(ServerSentEvent)
                    set_data(sse, "")
                    set_event(sse, event)
                    set_id(sse, last_id)
                    set_retry(sse, retry)
                    append(sse)
                event = None
                retry = None
                started = False
            elif line[:6] == "data: ":
                started = True
                if data is None:
                    data = line[6:]
                else:
                    more_data.append(line[6:])
            elif line[0] != ":":
                started = True
                name, colon, value = line.partition(":")
                if colon and value[:1] == " ":
                    value = value[1:]
                if name == "data":
                    if data is None:
                        data = value
                    else:
                        more_data.append(value)
                elif name == "event":
                    event = value or None  # an empty name is the default event
                elif name == "id":
                    if "\0" not in value:
                        last_id = value
                elif name == "retry" and value.isascii() and value.isdigit():
                    try:
                        retry = int(value)
                    except ValueError:  # more digits than int() will parse: no usable delay
                        continue
                    self._last_retry = retry
        self._data = data
        self._more_data = more_data
        self._event = event
        self._retry = retry
        self._started = started
        self._id_buffer = last_id
        self._last_id = reported
        self._event_count += len(events)
        return events


# Building a frozen dataclass through __init__ costs four object.__setattr__ calls; the
# slot descriptors set the same fields in about half the time. Only the decoder's loop
# uses them, and it always sets every field, so the result is an ordinary event.
_new: Final = object.__new__
_set_data: Final[Callable[[ServerSentEvent, str], None]] = vars(ServerSentEvent)["data"].__set__
_set_event: Final[Callable[[ServerSentEvent, str | None], None]] = vars(ServerSentEvent)["event"].__set__
_set_id: Final[Callable[[ServerSentEvent, str | None], None]] = vars(ServerSentEvent)["id"].__set__
_set_retry: Final[Callable[[ServerSentEvent, int | None], None]] = vars(ServerSentEvent)["retry"].__set__


def _check_newline(newline: str, caller: str) -> None:
    if newline not in _NEWLINES:
        raise ValueError(
            f'{caller}() got newline={newline!r}, which is not an SSE line end; use "\\n", "\\r" or "\\r\\n".'
        )


def _check_one_line(value: str, what: str, caller: str) -> None:
    if "\n" in value or "\r" in value:
        article = "an" if what[0] in "aeiou" else "a"
        raise ValueError(
            f"{caller}() got {article} {what} containing a line break ({value!r}); an SSE field "
            f"is one line, so remove the CR/LF from the {what}."
        )


def encode_event(
    data: str,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    newline: str = "\n",
) -> bytes:
    """Encode one event: optional `event`/`id`/`retry` fields, `data` lines, blank line.

    A line break in `data` (LF, CR or CRLF) starts a new `data:` line, so the event
    decodes with LF there: SSE cannot carry a CR in data.
    """
    _check_newline(newline, "encode_event")
    out: list[str] = []
    if event is not None:
        _check_one_line(event, "event name", "encode_event")
        out.append(f"event: {event}")
    if id is not None:
        _check_one_line(id, "id", "encode_event")
        if "\0" in id:
            raise ValueError(
                f"encode_event() got an id containing NUL ({id!r}); decoders ignore such "
                "an id, so remove the NUL character."
            )
        out.append(f"id: {id}")
    if retry is not None:
        if isinstance(retry, bool) or retry < 0:
            raise ValueError(
                f"encode_event() got retry={retry!r}; retry is a reconnection delay in "
                "milliseconds, so pass a non-negative int."
            )
        out.append(f"retry: {retry}")
    if "\r" in data:
        data = data.replace("\r\n", "\n").replace("\r", "\n")
    out.extend(f"data: {line}" for line in data.split("\n"))
    out.append("")
    out.append("")
    return newline.join(out).encode("utf-8")


_COMPACT_JSON: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
"""One encoder for every chunk: ``json.dumps`` with options builds a new one per call, which
costs more than encoding a small chunk (a server encodes thousands a second)."""


def encode_chunk(chunk: Mapping[str, object] | str, *, newline: str = "\n") -> bytes:
    """Encode a chat chunk as the API does: compact JSON on one `data:` line.

    A str is taken as already-serialised JSON (or `DONE_DATA`) and sent as is.
    """
    _check_newline(newline, "encode_chunk")
    if isinstance(chunk, str):
        _check_one_line(chunk, "chunk string", "encode_chunk")
        text = chunk
    else:
        try:
            text = _COMPACT_JSON.encode(chunk)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"encode_chunk() could not serialise the chunk as JSON ({exc}); pass only "
                "JSON values (dict, list, str, finite numbers, bool, None), e.g. a pydantic "
                "model's .model_dump(mode='json')."
            ) from exc
    return f"data: {text}{newline}{newline}".encode()


def encode_comment(text: str = "", *, newline: str = "\n") -> bytes:
    """Encode a comment line, the keep-alive a server sends while it has nothing else."""
    _check_newline(newline, "encode_comment")
    _check_one_line(text, "comment", "encode_comment")
    return f": {text}{newline}".encode() if text else f":{newline}".encode()
