"""``Cassette``: one cassette file in use: its requests and misses, its recordings, saving, ``verify()``.

Which recording answers a request is ``cassette.replay`` (:class:`~.replay.Replay`), asked
through ``can_play`` / ``play`` / ``may_record``; intercepting httpx is the router in
:mod:`.intercept`, which the cassette hands plain callables when it starts.
"""

from __future__ import annotations

import os
import re
import threading
import warnings
import weakref
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from ..doubles.base import verify_at_exit
from ..doubles.faulting import active as active_fault
from ..doubles.hosts import (
    BaseURLs,
    IgnoredHosts,
    guess_base,
    is_loopback,
    pass_through,
    running_doubles,
)
from ..errors import CassetteError, CassetteMissError, CassetteRecordError, RedactionWarning
from ..scripts.plan import ResponsePlan, error_plan
from ..wire.call import Call
from . import recorder
from .capture import RecordHooks, RequestHook, ResponseHook, hooked_interaction, interaction_from_capture
from .intercept import CassetteRouter, Intercepted
from .matching import Matcher, MatchFunction, MatchRules
from .model import Interaction, RecordedRequest, RecordMode, Timing
from .modes import check_record_mode, check_upstream, save_recorded
from .redact import Redaction, short_key_message
from .replay import Replay
from .timing import timing_factor

# --- the cassette in use --------------------------------------------------------------------------


class Cassette:
    """One cassette file in use: replays recorded interactions, records new ones per ``record_mode``.

    As a context manager (sync or async) it intercepts the Writer API in-process
    through respx, for ``writerai`` and this kit's clients alike; in record modes
    requests go to ``upstream`` (default: the real API) and each chunk reaches
    the caller as it arrives while being recorded. Leaving the block saves
    (atomically, merged under a lock) and fails on any request the cassette could
    not answer. ``FakeWriterServer(cassette=Cassette(...))`` replays it over a socket.

    "The Writer API" is decided as ``WriterMock`` decides it: each ``base_url``
    given, ``WRITER_BASE_URL`` when the cassette is built and at each request,
    and ``https://api.writer.com``. A request to another host goes to any other
    respx router; if none answers, a loopback host passes through (the test's
    own server) and any other gets a non-retryable 500 naming the fix and fails
    the block, so the SDK never retries it for minutes. Nested with a
    ``WriterMock`` or another cassette, the innermost one started answers.

    Recording is never silent: while the cassette may record, a request that
    passes through to a loopback host other than the kit's own running
    ``FakeWriterServer``s fails the block, naming the ``base_url=`` that would
    have recorded it. ``ignore_hosts=`` names hosts (``"127.0.0.1:8000"``) that
    are not the Writer API: their requests always pass through, unrecorded and
    unremarked.

    ``history=N`` keeps only the last ``N`` requests in ``calls`` and the last
    ``N`` misses (``verify()`` still counts them all), so a server that replays
    for days (``serve --cassettes``) does not grow; the default keeps everything.

    ``before_record_request`` and ``before_record_response`` are vcrpy's hooks: each
    gets the :class:`RecordedRequest` / :class:`RecordedResponse` before redaction and
    returns it changed (``dataclasses.replace``) or ``None`` to leave the exchange out
    of the cassette. The request hook also runs on each request before matching, as
    vcrpy's does, so a body it normalises at record time matches at replay; a request
    it drops is never replayed (recorded nowhere while the cassette may record, a miss
    otherwise).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        record_mode: RecordMode = "none",
        match_on: Sequence[str] = ("method", "path", "body"),
        ignore_fields: Sequence[str] = (),
        matchers: Sequence[Matcher | MatchFunction] = (),
        allow_playback_repeats: bool = False,
        redact: Iterable[str | re.Pattern[str] | tuple[str | re.Pattern[str], str]] = (),
        redact_headers: Iterable[str] = (),
        api_key: str | None = None,
        timing: Timing = "fast",
        upstream: str | None = None,
        base_url: str | Sequence[str] | None = None,
        ignore_hosts: Sequence[str] = (),
        meta: Mapping[str, Any] | None = None,
        assert_all_played: bool = False,
        history: int | None = None,
        before_record_request: RequestHook | None = None,
        before_record_response: ResponseHook | None = None,
    ) -> None:
        self.path = Path(path)
        mode = check_record_mode(record_mode)
        rules = MatchRules.build(match_on, ignore_fields, matchers)
        secrets = [s for s in (api_key, os.environ.get("WRITER_API_KEY")) if s]
        redaction = Redaction.build(secrets=secrets, patterns=redact, headers=redact_headers)
        timing_factor(timing)
        self.upstream = (
            None
            if upstream is None
            else check_upstream(upstream, option=f"upstream={upstream!r} (--writer-upstream in pytest)")
        )
        self._hosts = BaseURLs(base_url)
        self._ignored = IgnoredHosts(ignore_hosts)
        self.meta = dict(meta or {})
        self.assert_all_played = assert_all_played
        for name, hook in (
            ("before_record_request", before_record_request),
            ("before_record_response", before_record_response),
        ):
            if hook is not None and not callable(hook):
                raise TypeError(
                    f"Cassette(..., {name}={hook!r}) must be a function taking the recorded "
                    f"{name.rpartition('_')[2]} and returning it (changed or not), or None to drop it."
                )
        self.replay = Replay(
            self.path,
            record_mode=mode,
            rules=rules,
            allow_playback_repeats=allow_playback_repeats,
            redaction=redaction,
            hooks=RecordHooks(before_record_request, before_record_response),
            timing=timing,
            on_load=self._merge_meta,
        )
        """The replay decision (which recording answers a request, and whether to record it)."""
        self._lock = threading.Lock()
        self._captures: list[recorder.Capture] = []
        self._saved: tuple[Interaction, ...] = ()
        if history is not None and (isinstance(history, bool) or not isinstance(history, int) or history < 1):
            raise ValueError(
                f"Cannot keep a history of {history!r} requests: pass a whole number of at least 1, "
                "or None to keep every request."
            )
        self._misses: deque[str] = deque(maxlen=history)
        self._missed = 0
        """Misses in all, including any ``history`` let go of."""
        self._record_failures: list[str] = []
        self._unrecorded: dict[str, list[str]] = {}
        """Requests that passed by unrecorded while recording, by the base URL they went to."""
        self._noted: weakref.WeakSet[object] = weakref.WeakSet()
        """Bodies of the requests in ``_unrecorded``: respx offers a passed-through request twice
        (connection pool, then connection), both times with the same body stream."""
        self._calls: deque[Call] = deque(maxlen=history)
        self._router: CassetteRouter | None = None
        self._shadowed = ""  # what the last router said about doubles started inside this cassette

    # --- the settings and the replay state, as the replay decision holds them ---------------------

    @property
    def record_mode(self) -> RecordMode:
        """What the cassette may record this run (``none``: replay only)."""
        return self.replay.record_mode

    @property
    def allow_playback_repeats(self) -> bool:
        """Whether a recording may answer more than one request."""
        return self.replay.allow_playback_repeats

    @property
    def timing(self) -> Timing:
        """How replay paces the recorded reads (``fast``, ``recorded``, or a factor)."""
        return self.replay.timing

    @property
    def redaction(self) -> Redaction:
        """The secrets and patterns scrubbed from what is recorded (and from requests before matching)."""
        return self.replay.redaction

    @property
    def hooks(self) -> RecordHooks:
        """vcrpy's record hooks, applied before redaction and saving (and to each request before matching)."""
        return self.replay.hooks

    def _merge_meta(self, meta: Mapping[str, Any]) -> None:
        """The file's metadata under the cassette's own ``meta=`` (which wins), once, at load."""
        self.meta = {**meta, **self.meta}

    def load(self) -> tuple[Interaction, ...]:
        """The interactions read from the file (once; ``rewrite`` reads nothing)."""
        return self.replay.load()

    @property
    def interactions(self) -> tuple[Interaction, ...]:
        """The recordings this run can replay."""
        return self.load()

    @property
    def calls(self) -> list[Call]:
        """Every request the cassette was asked to answer, in order."""
        with self._lock:
            return list(self._calls)

    @property
    def play_counts(self) -> list[int]:
        """How often each loaded interaction has been replayed in this run."""
        return self.replay.play_counts

    def matches(self, call: Call, recorded: RecordedRequest) -> bool:
        """Whether ``call`` matches ``recorded`` under this cassette's rules, secrets scrubbed as in replay."""
        return self.replay.matches(call, recorded)

    # --- the replay decision, asked for by every reply source (answered by ``self.replay``) -------

    def can_play(self, call: Call, *, unplayed: bool = False) -> bool:
        """Whether a recording would answer ``call`` now (vcrpy's ``can_play_response_for``).

        ``all`` and ``rewrite`` never replay; a recording already played counts only
        with ``allow_playback_repeats=True``, and never with ``unplayed=True`` (for a
        source over several cassettes that tries every unplayed recording before a repeat).
        """
        return self.replay.can_play(call, unplayed=unplayed)

    def may_record(self, call: Call | None = None) -> bool:
        """Whether this cassette would record ``call`` (with no call: whether it may record at all this run).

        Proxies and servers ask this to choose between replaying, recording through
        the upstream and explaining a miss, instead of re-deriving the record mode's rules.
        """
        return self.replay.may_record(call)

    def play(self, call: Call) -> ResponsePlan:
        """The recorded answer to ``call``, counted as played (vcrpy's ``play_response``).

        A call no recording answers gets the miss (a Writer-shaped 500 naming the
        closest recording) and fails :meth:`verify`; so does one the cassette would
        record, since playing never records.
        """
        return self.take(call)

    def peek(self, call: Call) -> ResponsePlan | None:
        """The recorded answer replay would give ``call``, counting and recording nothing (``None``: no match).

        A fault hook (a resilience run, chaos) faults this plan on a first attempt, so the
        retry still replays the recording itself.
        """
        return self.replay.peek(call)

    def _choose(self, call: Call) -> ResponsePlan | None:
        """The plan for ``call`` (a fault, a replay or a miss, noted), or ``None`` when it is to be recorded."""
        hook = active_fault()
        if hook is not None:
            faulted = hook.answer(call, lambda: self.peek(call))
            if faulted is not None:
                return faulted
        with self._lock:
            self._calls.append(call)
        decision = self.replay.decide(call)
        if decision.miss is not None:
            with self._lock:
                self._note_miss(decision.miss)
        return decision.plan

    def _note_miss(self, message: str) -> None:
        """Keep a miss for :meth:`verify` (the lock held), counting those ``history`` lets go of."""
        self._misses.append(message)
        self._missed += 1

    def take(self, call: Call) -> ResponsePlan:
        """The recorded answer to ``call`` (the reply-source hook ``FakeWriterServer`` calls)."""
        plan = self._choose(call)
        if plan is not None:
            return plan
        message = (
            f"Cassette {self.path} would record {call.describe()} (record_mode={self.record_mode!r}), but "
            "FakeWriterServer(cassette=...) only replays. To record a client in another process, use the "
            "writer_server fixture with @pytest.mark.writer_cassette (it records through a proxy when the "
            "record mode may record) or `writer-stream-testkit record --upstream URL --cassette FILE`; "
            "in-process, wrap the code in `with Cassette(...):`."
        )
        with self._lock:
            self._note_miss(message)
        return error_plan(500, message)

    def plan(self, call: Call) -> ResponsePlan:
        """The ``Reply`` protocol: the same as :meth:`take`."""
        return self.take(call)

    def _started(self, capture: recorder.Capture) -> None:
        with self._lock:
            self._captures.append(capture)

    def recording_failed(self, message: str) -> ResponsePlan:
        """Note that a request could not be recorded (``verify`` then fails) and answer it with a 502.

        The 502 carries ``x-should-retry: false``: a client retrying an upstream
        it cannot reach only waits minutes for the same error, without the reason.
        """
        with self._lock:
            self._record_failures.append(message)
        return error_plan(502, message)

    def _upstream_failed(self, request: httpx.Request, error: httpx.TransportError) -> ResponsePlan:
        """The in-process recorder's answer when the upstream never started a response."""
        url = request.url
        upstream = self.upstream or f"{url.scheme}://{url.netloc.decode('ascii')}"
        return self.recording_failed(
            f"Recording into cassette {self.path} failed for {Call.from_httpx(request).describe()}: the "
            f"upstream {upstream} did not answer ({recorder.describe_error(error)}), so nothing was recorded for "
            "it. Check the cassette's upstream= (--writer-upstream in pytest) and that the upstream is "
            "up and reachable; the client got a 502 it does not retry."
        )

    # --- ending a run -----------------------------------------------------------------------------

    def recorded(self) -> tuple[Interaction, ...]:
        """What this run has recorded so far, redacted, in request order."""
        with self._lock:
            captures = list(self._captures)
        recorded = (hooked_interaction(c, self.redaction, self.hooks) for c in captures if c.responded)
        return tuple(x for x in recorded if x is not None)

    def save(self) -> None:
        """Write what this run recorded, merged with the file as it is now, under the file's lock.

        A response still being read is not saved: its recording would be cut
        short and replay as a broken stream. The rest is saved, then
        :class:`CassetteRecordError` names the open one; it is saved by a later
        ``save()`` once it ends.
        """
        loaded = self.load()
        with self._lock:
            captures = list(self._captures)
        finished: list[recorder.Capture] = []
        still_open: list[recorder.Capture] = []
        for capture in captures:  # `done` read once each, so a capture is either saved whole or reported
            (finished if capture.done or not capture.responded else still_open).append(capture)
        kept = (hooked_interaction(c, self.redaction, self.hooks) for c in finished if c.responded)
        recorded = tuple(x for x in kept if x is not None)
        mode = self.record_mode
        earlier = self._saved  # what earlier saves of this run wrote: the file holds it already
        failed: str | None = None  # raises, keeping the captures, if even the rescue file failed
        if mode == "rewrite":
            # Nothing finished (or nothing ran): leave the old recording rather than blank it.
            if recorded or not (still_open or not (earlier or captures or self._calls)):
                failed = save_recorded(self, loaded=loaded, recorded=(*earlier, *recorded))
        elif mode == "all" and recorded:
            failed = save_recorded(self, loaded=loaded, recorded=(*earlier, *recorded))
        elif mode != "none" and recorded:
            failed = save_recorded(self, loaded=(*loaded, *earlier), recorded=recorded)
        self._saved = () if failed is not None else (*earlier, *recorded)
        with self._lock:
            # Only what was saved: a capture another thread added meanwhile waits for the next save.
            self._captures = [c for c in self._captures if all(c is not f for f in finished)]
        self._warn_short_keys(finished)
        problems = [*([failed] if failed is not None else []), *map(self._open_stream_message, still_open)]
        if problems:
            raise CassetteRecordError("\n\n".join(problems))

    def _warn_short_keys(self, captures: Sequence[recorder.Capture]) -> None:
        """Warn (once per save) that a key too short to scrub may be in what was just saved."""
        for capture in captures:
            request = f"{capture.method} {httpx.URL(capture.url).path}"
            message = short_key_message(f"Cassette {self.path}", request, capture.headers)
            if capture.responded and message is not None:
                warnings.warn(message, RedactionWarning, stacklevel=4)
                return

    def _open_stream_message(self, capture: recorder.Capture) -> str:
        request = interaction_from_capture(capture, self.redaction).request
        return (
            f"Cassette {self.path} did not save the recording of {request.describe()}: its stream was begun "
            "inside the `with Cassette(...)` block and was still open when the block ended, so only part of "
            "it had been recorded. Consume or close the stream inside the `with` block (read it to the end, "
            "or open it with `with client.chat.chat(..., stream=True) as stream:`); the cassette's other "
            "recordings were saved."
        )

    def verify(self) -> None:
        """Fail if any request went unanswered or could not be recorded.

        Raises :class:`CassetteRecordError` when a recording failed (listing any misses too),
        otherwise :class:`CassetteMissError` for misses.

        With ``assert_all_played=True``, recordings never replayed fail it too.
        """
        with self._lock:
            misses = list(self._misses)
            missed = self._missed
            failures = [*self._record_failures, *map(self._unrecorded_message, self._unrecorded.items())]
        counts = self.replay.play_counts
        problems: list[str] = []
        if failures:
            count = len(failures)
            problems.append(
                (f"Recording failed for {count} requests:\n\n" if count > 1 else "") + "\n\n".join(failures)
            )
        if misses:
            shown = "" if missed == len(misses) else f" (the last {len(misses)} are shown)"
            problems.append(
                (f"{missed} requests found no recording{shown}:\n\n" if missed > 1 else "")
                + "\n\n".join(misses)
            )
        if problems:
            raise (CassetteRecordError if failures else CassetteMissError)("\n\n".join(problems))
        if self.assert_all_played and self.record_mode not in ("all", "rewrite"):
            unplayed = [i for i, n in enumerate(counts) if n == 0]
            if unplayed:
                note = self._router.shadowed_note() if self._router is not None else self._shadowed
                raise CassetteMissError(
                    f"Cassette {self.path} has recordings this run never replayed: "
                    f"{', '.join(f'interactions[{i}]' for i in unplayed)}. Make the requests the test "
                    "expects, re-record with record_mode='rewrite', or drop assert_all_played=True."
                    + (f"\n{note}" if note else "")
                )

    def reset(self) -> None:
        """Forget plays, calls and misses (the server calls this); the file is untouched."""
        self.replay.reset()
        with self._lock:
            self._calls.clear()
            self._misses.clear()
            self._missed = 0
            self._record_failures.clear()
            self._unrecorded.clear()

    # --- interception -----------------------------------------------------------------------------

    def _owns(self, url: httpx.URL) -> bool:
        return self._hosts.owner(url) is not None

    def _unowned(self, request: httpx.Request) -> ResponsePlan:
        """The answer to a request for a host this cassette does not own, that no other respx router took.

        A host in ``ignore_hosts`` and a loopback host pass through (the test's
        own server); while the cassette may record, a loopback host that is not
        one of the kit's running doubles is noted first, so :meth:`verify` fails
        rather than the request vanishing from the recording. Any other host gets
        a non-retryable 500 and fails :meth:`verify`, since raising here would
        make the SDK retry for minutes.
        """
        if self._ignored.covers(request.url):
            raise pass_through(request, f"Cassette {self.path}", "ignore_hosts= names its host")
        if is_loopback(request.url.host):
            if self.may_record() and not running_doubles.serves(request.url):
                self._note_unrecorded(request)
            raise pass_through(request, f"Cassette {self.path}")
        call = Call.from_httpx(request)
        guess = guess_base(request.url)
        served = ", ".join(base.url for base in self._hosts.now())
        message = (
            f"Cassette {self.path} does not answer {call.describe()} sent to {request.url}: it "
            f"answers only the Writer API at {served}, and no respx route matched the request. If the "
            f"code under test calls the Writer API at {guess}, pass that base URL as "
            f"Cassette(..., base_url={guess!r}) (the writer_cassette marker takes the same keyword); "
            "otherwise mock the request with a respx route."
        )
        with self._lock:
            self._calls.append(call)
            self._note_miss(message)
        return error_plan(500, message)

    def _note_unrecorded(self, request: httpx.Request) -> None:
        line = f"{Call.from_httpx(request).describe()} to {request.url}"
        with self._lock:
            try:
                if request.stream in self._noted:
                    return
                self._noted.add(request.stream)
            except TypeError:  # a body that cannot be weakly referenced: listed once per offer
                pass
            self._unrecorded.setdefault(guess_base(request.url), []).append(line)

    def _unrecorded_message(self, entry: tuple[str, list[str]]) -> str:
        """Why requests to one loopback base URL fail the block: they passed by unrecorded."""
        base, requests = entry
        host = httpx.URL(base).netloc.decode("ascii")
        listed = "".join(f"\n  {line}" for line in requests)
        return (
            f"Cassette {self.path} was asked to record (record_mode={self.record_mode!r}), but "
            f"{len(requests)} request{'s' if len(requests) != 1 else ''} went to {base}, a loopback host it "
            f"was not told about, and passed through unrecorded:{listed}\n"
            f"If {base} is the Writer API (a stand-in or a proxy of it), pass "
            f"Cassette(..., base_url={base!r}) (the writer_cassette marker takes the same keyword) so "
            "its requests are recorded and replayed; if it is a server of the test's own, pass "
            f"ignore_hosts=[{host!r}] so the cassette leaves it alone."
        )

    def start(self) -> Cassette:
        """Load the file and start intercepting; prefer ``with Cassette(...):``, which also saves and verifies.

        Starting a started cassette is refused: a second router would stay
        registered after ``stop()`` and go on intercepting.
        """
        if self._router is not None:
            raise CassetteError(
                f"Cassette {self.path} is already started, and a cassette intercepts requests once: start() or "
                "`with` was used on it again before stop(). Use one `with Cassette(...)` block (the "
                "writer_cassette fixture's cassette is already started, so do not enter it again), or call "
                "stop() before starting it again."
            )
        self.load()
        self._router = CassetteRouter(
            Intercepted(
                name=f"Cassette {self.path}",
                upstream=self.upstream,
                owns=self._owns,
                unowned=self._unowned,
                choose=self._choose,
                started=self._started,
                upstream_failed=self._upstream_failed,
            )
        )
        self._router.start()
        return self

    def stop(self) -> None:
        """Stop intercepting, without saving or verifying."""
        if self._router is not None:
            self._router.stop(quiet=True)
            self._shadowed = self._router.shadowed_note()
            self._router = None

    def __enter__(self) -> Cassette:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        try:
            self.save()
        except CassetteRecordError as error:
            with self._lock:
                self._record_failures.append(str(error))
        verify_at_exit(self.verify, exc)

    async def __aenter__(self) -> Cassette:
        return self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)
