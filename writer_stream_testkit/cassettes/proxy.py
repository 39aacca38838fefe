"""The recording proxy behind ``writer-stream-testkit record`` and a recording ``writer_server`` fixture.

A cassette for clients in any language or process.

It is a :class:`~writer_stream_testkit.doubles.server.FakeWriterServer` whose reply source
is a :class:`RecordingProxy`. Per request the cassette's record mode decides, as
it does in-process: replay a recording (the server runs its plan), explain a miss,
or record. Recording goes through :mod:`~writer_stream_testkit.cassettes.recorder`'s tee, and
the tee's response is handed to the server as a
:class:`~writer_stream_testkit.doubles.server.LiveResponse`, so each upstream read is
written to the client the moment it arrives. When a response ends, however it
ends, the capture becomes a redacted interaction and the cassette file is
rewritten atomically (merged under its lock) in a worker thread, so a slow disk
never stalls the other streams, and a killed proxy loses at most the streams
still running. The interaction holds the URL the client sent, as in-process
recording does, so an upstream under a path prefix still replays.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable
from typing import Final

import httpx

from ..doubles.sources import LiveResponse
from ..errors import CassetteRecordError
from ..scripts.plan import ResponsePlan
from ..wire.call import Call
from . import recorder as _recorder
from .capture import hooked_interaction
from .cassette import Cassette
from .model import Interaction
from .modes import save_recorded
from .redact import short_key_message

__all__ = ["RecordingProxy"]

UPSTREAM_TIMEOUT: Final = httpx.Timeout(30.0, read=600.0)
"""Generous: a model may think for minutes before its first token, and the client keeps its own timeout."""


class RecordingProxy:
    """A ``LiveSource`` that replays or records each request per the cassette's ``record_mode``."""

    def __init__(
        self,
        cassette: Cassette,
        upstream: str,
        *,
        log: Callable[[str], None] = lambda line: None,
        transport: httpx.AsyncBaseTransport | None = None,
        upstream_option: str = "--upstream",
    ) -> None:
        self.cassette = cassette
        self.upstream = upstream
        self._upstream_option = upstream_option
        """How the user set ``upstream``, named in the message when it cannot be reached."""
        self._log = log
        self._transport = transport
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._recorded: list[Interaction] = []
        self._unsaved = 0

    @property
    def recorded(self) -> tuple[Interaction, ...]:
        """What this proxy has recorded so far (redacted), in the order the responses ended."""
        with self._lock:
            return tuple(self._recorded)

    async def respond(self, call: Call) -> ResponsePlan | LiveResponse:
        """Replay, explain a miss, or forward ``call`` upstream and stream the answer back as it comes."""
        if not self.cassette.may_record(call):
            replay = self.cassette.can_play(call)
            plan = self.cassette.play(call)
            self._log(f"{'replayed' if replay else 'MISS (answered 500)'}: {call.describe()}")
            return plan
        # Recorded as the client sent it (as in-process recording does), so the cassette replays to
        # the same client; an upstream with a path prefix is only where it was forwarded.
        incoming = httpx.Request(
            call.method,
            call.url,
            headers=list(call.headers.raw),
            content=call.content,
            extensions={"timeout": UPSTREAM_TIMEOUT.as_dict()},
        )
        captures: list[_recorder.Capture] = []
        try:
            response = await _recorder.arecord(
                incoming, upstream=self.upstream, on_start=captures.append, transport=self._transport
            )
        except httpx.TransportError as exc:
            message = (
                f"The record proxy could not reach the upstream {self.upstream} for "
                f"{call.describe()} ({_recorder.describe_error(exc)}); check {self._upstream_option} and that the "
                "upstream is up. Nothing was recorded."
            )
            self._log(message)
            return self.cassette.recording_failed(message)
        capture = captures[0]

        async def close() -> None:
            await response.aclose()
            await self._finished(capture)

        return LiveResponse(
            status=response.status_code,
            # The Latin-1 text of the bytes sent: the server sends each value's bytes back unchanged.
            headers=tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw),
            body=_relay(response),
            close=close,
        )

    def verify(self) -> None:
        """Fail if a request found no recording or could not be recorded (``FakeWriterServer.verify`` calls this)."""
        self.cassette.verify()

    def reset(self) -> None:
        """Forget plays, calls, misses and failed recordings (not what was recorded)."""
        self.cassette.reset()

    async def _finished(self, capture: _recorder.Capture) -> None:
        """Keep the finished recording and save the file, off the event loop that serves every stream."""
        interaction = hooked_interaction(capture, self.cassette.redaction, self.cassette.hooks)
        if interaction is None:
            self._log(
                f"not recorded (a record hook dropped it): {capture.method} {httpx.URL(capture.url).path}"
            )
            return
        short = short_key_message(
            f"The record proxy (cassette {self.cassette.path})",
            interaction.request.describe(),
            capture.headers,
        )
        if short is not None:
            self._log(f"warning: {short}")
        with self._lock:
            self._recorded.append(interaction)
            self._unsaved += 1
        # A worker thread, as asyncio.to_thread uses, but shielded and not a task: a stream cancelled
        # by shutdown leaves its save queued, and asyncio.run waits for the default executor's work.
        saving = asyncio.get_running_loop().run_in_executor(None, self._save_after, interaction)
        await asyncio.shield(saving)

    def _save_after(self, interaction: Interaction) -> None:
        """Save (in a worker thread) and say how it went; never raises, so nothing is left unretrieved."""
        line = f"{interaction.request.method} {interaction.request.path} -> {interaction.response.status}"
        try:
            self.save()
        except Exception as exc:
            path = self.cassette.path
            self._log(
                f"Saving the cassette {path} after {line} failed ({_recorder.describe_error(exc)}); the "
                "recording is kept and saved again after the next response and when the proxy stops. Make "
                f"{path.parent} writable and {path.name} a valid cassette so the save succeeds."
            )
            return
        events = interaction.response.events
        size = (
            f"{len(events)} events"
            if events is not None
            else f"{len(interaction.response.body or b'')} bytes"
        )
        cut = "" if interaction.response.complete else ", cut part-way"
        self._log(f"recorded: {line}, {size}{cut}; saved {self.cassette.path}")

    def save(self) -> bool:
        """Write everything recorded so far, merged with the file as it is now; False if nothing new.

        One save at a time, each taking what was recorded when it starts, so a
        later save never writes less than an earlier one (``rewrite`` does not
        merge with the file). Recordings count as saved only once the write
        succeeded, so a failed save is retried by the next one.
        """
        with self._save_lock:
            with self._lock:
                if not self._unsaved:
                    return False
                recorded = tuple(self._recorded)
                unsaved = self._unsaved
            failed = save_recorded(self.cassette, loaded=self.cassette.interactions, recorded=recorded)
            with self._lock:
                self._unsaved -= unsaved
        if failed is not None:  # saved, but to the rescue file
            raise CassetteRecordError(failed)
        return True


async def _relay(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    """The tee's reads, one by one; an upstream cut becomes a cut of the client's connection."""
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    except httpx.TransportError as exc:
        raise ConnectionAbortedError(f"The upstream cut the stream: {exc}") from exc
