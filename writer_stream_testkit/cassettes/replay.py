"""``Replay``: one cassette's replay decision, the one place every reply source asks.

Which recording answers a request, whether the record mode would record it instead,
and how often each recording has played: vcrpy's ``can_play_response_for`` and
``play_response``. The in-process ``Cassette``, the record proxy, the CLI's directory
server and the plugin all ask here (through the ``Cassette`` in use), so the record
mode's rules are applied in one place. It reads the cassette file once and does no
other I/O; the misses, recordings and saving are the ``Cassette``'s.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..scripts.plan import ResponsePlan, error_plan
from ..wire.call import Call
from .capture import RecordHooks, request_from_call
from .load import load_cassette
from .matching import MatchRules, miss_message
from .model import Interaction, RecordedRequest, RecordMode, Timing
from .modes import Action, decide, loads_existing
from .redact import Redaction, secret_from_headers
from .timing import render_plan

__all__ = ["Decision", "Replay"]


@dataclass(frozen=True)
class Decision:
    """What one request gets: a replayed plan, ``record`` (no plan: the caller records), or a miss.

    A miss carries the Writer-shaped 500 to send and its ``miss`` message, which the
    caller keeps for ``verify()``.
    """

    action: Action
    plan: ResponsePlan | None
    miss: str | None = None


class Replay:
    """The replay decision over one cassette file: ``can_play``, ``decide`` (which plays), ``may_record``.

    Thread-safe: the server answers on its own thread while the test reads
    ``play_counts``. Requests are matched as they would have been recorded: the
    ``before_record_request`` hook runs first, then secrets are scrubbed, so bodies
    compare equal to their recordings.
    """

    def __init__(
        self,
        path: Path,
        *,
        record_mode: RecordMode,
        rules: MatchRules,
        allow_playback_repeats: bool,
        redaction: Redaction,
        hooks: RecordHooks,
        timing: Timing,
        on_load: Callable[[Mapping[str, Any]], None] = lambda meta: None,
    ) -> None:
        self.path = path
        self.record_mode: RecordMode = record_mode
        self.rules = rules
        """What counts as the same request; saving merges recordings by the same rules."""
        self.allow_playback_repeats = allow_playback_repeats
        self.redaction = redaction
        self.hooks = hooks
        self.timing: Timing = timing
        self._on_load = on_load
        self._lock = threading.Lock()
        self._loaded: tuple[Interaction, ...] | None = None
        self._file_existed = False
        self._play_counts: list[int] = []

    # --- the recordings and their plays ------------------------------------------------------------

    def load(self) -> tuple[Interaction, ...]:
        """The interactions read from the file (once; ``rewrite`` reads nothing); ``on_load`` gets its meta."""
        with self._lock:
            if self._loaded is None:
                self._file_existed = self.path.exists()
                if self._file_existed and loads_existing(self.record_mode):
                    content = load_cassette(self.path)
                    self._loaded = content.interactions
                    self._on_load(content.meta)
                else:
                    self._loaded = ()
                self._play_counts = [0] * len(self._loaded)
            return self._loaded

    @property
    def file_existed(self) -> bool:
        """Whether the file was there when it was loaded (``once`` records only into a new one)."""
        self.load()
        return self._file_existed

    @property
    def play_counts(self) -> list[int]:
        """How often each loaded interaction has been replayed in this run."""
        self.load()
        with self._lock:
            return list(self._play_counts)

    def reset(self) -> None:
        """Forget every play; the recordings stay loaded."""
        with self._lock:
            self._play_counts = [0] * len(self._loaded or ())

    # --- matching ----------------------------------------------------------------------------------

    def scrub(self, call: Call) -> Call | None:
        """The call as its recording would hold it: same secrets removed, so bodies compare equal.

        The request hook runs first (``None``: it drops the request), then a JSON body
        is scrubbed value by value and any other body (a CSV upload) as text, as
        :func:`~.capture.interaction_from_capture` recorded them.
        """
        redaction = self.redaction.with_secrets(secret_from_headers(call.headers.raw))
        if self.hooks.before_record_request is not None:
            hooked = self.hooks.request(
                request_from_call(call.method, call.url, call.headers.raw, call.content)
            )
            if hooked is None:
                return None
            call = hooked.as_call()
        if call.json is not None:
            body = redaction.json(call.json)
            if body == call.json:
                return call
            return replace(call, json=body, content=json.dumps(body).encode())
        if not call.content:
            return call
        text = call.content.decode("utf-8", "replace")
        scrubbed = redaction.text(text)
        if scrubbed == text:
            return call
        return replace(call, content=scrubbed.encode())

    def matches(self, call: Call, recorded: RecordedRequest) -> bool:
        """Whether ``call`` matches ``recorded`` under the cassette's rules, secrets scrubbed as in replay."""
        scrubbed = self.scrub(call)
        return scrubbed is not None and self.rules.matches(scrubbed, recorded)

    def _playable(self, scrubbed: Call | None, *, repeats: bool = True) -> int | None:
        """The recording ``scrubbed`` would replay (unplayed first, then a repeat if allowed); call under the lock."""
        if scrubbed is None:
            return None
        interactions = self._loaded or ()
        for index, interaction in enumerate(interactions):
            if self._play_counts[index] == 0 and self.rules.matches(scrubbed, interaction.request):
                return index
        if repeats and self.allow_playback_repeats and self.record_mode not in ("all", "rewrite"):
            return next(
                (i for i, x in enumerate(interactions) if self.rules.matches(scrubbed, x.request)), None
            )
        return None

    def _plan(self, index: int) -> ResponsePlan:
        assert self._loaded is not None
        return render_plan(
            self._loaded[index].response, timing=self.timing, reason=f"{self.path} interactions[{index}]"
        )

    # --- the decision ------------------------------------------------------------------------------

    def can_play(self, call: Call, *, unplayed: bool = False) -> bool:
        """Whether a recording would answer ``call`` now (vcrpy's ``can_play_response_for``).

        ``all`` and ``rewrite`` never replay; a recording already played counts only
        with ``allow_playback_repeats=True``, and never with ``unplayed=True`` (for a
        source over several cassettes that tries every unplayed recording before a repeat).
        """
        self.load()
        scrubbed = self.scrub(call)
        with self._lock:
            found = self._playable(scrubbed, repeats=not unplayed)
        return (
            decide(self.record_mode, file_existed=self._file_existed, matched=found is not None) == "replay"
        )

    def may_record(self, call: Call | None = None) -> bool:
        """Whether ``call`` would be recorded (with no call: whether this run may record at all)."""
        self.load()
        if call is None:
            matched = False
        else:
            scrubbed = self.scrub(call)
            with self._lock:
                matched = self._playable(scrubbed) is not None
        return decide(self.record_mode, file_existed=self._file_existed, matched=matched) == "record"

    def peek(self, call: Call) -> ResponsePlan | None:
        """The recorded answer replay would give ``call``, counting nothing.

        ``None`` when no recording would answer it now, as :meth:`can_play` says: in
        ``all`` a matching recording is not replayed but recorded over, so a fault hook
        has nothing to fault.
        """
        self.load()
        scrubbed = self.scrub(call)
        with self._lock:
            found = self._playable(scrubbed)
        if (
            found is None
            or decide(self.record_mode, file_existed=self._file_existed, matched=True) != "replay"
        ):
            return None
        return self._plan(found)

    def decide(self, call: Call) -> Decision:
        """What ``call`` gets, a replay counted as played (vcrpy's ``play_response``).

        A miss's message names the closest recording as a diff; it is built outside
        the lock, so explaining one miss never holds up another request.
        """
        interactions = self.load()
        scrubbed = self.scrub(call)
        with self._lock:
            found = self._playable(scrubbed)
            action = decide(self.record_mode, file_existed=self._file_existed, matched=found is not None)
            if action == "replay":
                assert found is not None
                self._play_counts[found] += 1
                return Decision(action, self._plan(found))
            if action == "record":
                return Decision(action, None)
            played = [i for i, n in enumerate(self._play_counts) if n]
        if scrubbed is None:
            message = (
                f"Cassette {self.path} did not replay {call.describe()}: its before_record_request hook "
                "returned None for it, so it is never recorded or replayed, and the cassette may not record "
                f"(record_mode={self.record_mode!r}). Make the hook return the request, or let the test make "
                "the request somewhere else (a WriterMock reply, say)."
            )
        else:
            message = miss_message(
                str(self.path),
                scrubbed,
                interactions,
                played,
                self.rules,
                self.record_mode,
                file_exists=self._file_existed,
            )
        return Decision(action, error_plan(500, message), message)
