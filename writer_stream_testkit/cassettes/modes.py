"""Record modes as pure decisions: replay, record or miss, and what to save."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias

from ..doubles.hosts import (
    http_url,
)
from ..errors import CassetteRecordError
from .files import update_cassette
from .model import RECORD_MODES, CassetteContent, Interaction, RecordedRequest, RecordMode

if TYPE_CHECKING:
    from .cassette import Cassette


# --- record modes: pure decisions -----------------------------------------------------------------

Action: TypeAlias = Literal["replay", "record", "miss"]


def check_record_mode(mode: str) -> RecordMode:
    if mode not in RECORD_MODES:
        raise ValueError(
            f"record_mode={mode!r} is not a record mode; use one of {', '.join(map(repr, RECORD_MODES))} "
            "(default 'none': replay only)."
        )
    return mode


def loads_existing(mode: RecordMode) -> bool:
    """Whether a run in ``mode`` reads the cassette already on disk (``rewrite`` starts afresh)."""
    return mode != "rewrite"


def decide(mode: RecordMode, *, file_existed: bool, matched: bool) -> Action:
    """What to do with one request, as vcrpy (and pytest-recording for ``rewrite``) would.

    ``matched`` means an unplayed recording loaded from the file fits the request.
    """
    if mode in ("all", "rewrite"):
        return "record"
    if matched:
        return "replay"
    if mode == "new_episodes" or (mode == "once" and not file_existed):
        return "record"
    return "miss"


def merge_for_save(
    mode: RecordMode,
    *,
    loaded: Sequence[Interaction],
    recorded: Sequence[Interaction],
    on_disk: Sequence[Interaction] | None,
    same: Callable[[RecordedRequest, RecordedRequest], bool],
) -> tuple[Interaction, ...] | None:
    """The interactions to write at the end of a run, or ``None`` to leave the file alone.

    ``on_disk`` is the file as re-read under the lock at save time, so writers
    running concurrently merge: each appends only what it recorded, and
    ``all`` replaces only the recordings it re-recorded.
    """
    if mode == "none":
        return None
    if mode == "rewrite":
        return tuple(recorded)
    if not recorded:
        return None
    base = list(on_disk or ())
    if mode == "all":
        kept = [old for old in base if not any(same(new.request, old.request) for new in recorded)]
        return (*kept, *recorded)
    # once / new_episodes: append what this run recorded, minus what other writers added meanwhile
    theirs = base[len(loaded) :] if base[: len(loaded)] == list(loaded) else base
    unclaimed = list(theirs)
    new: list[Interaction] = []
    for interaction in recorded:
        twin = next((i for i, old in enumerate(unclaimed) if same(interaction.request, old.request)), None)
        if twin is None:
            new.append(interaction)
        else:
            del unclaimed[twin]
    return (*base, *new)


def save_recorded(
    cassette: Cassette, *, loaded: Sequence[Interaction], recorded: Sequence[Interaction]
) -> str | None:
    """Merge what a run recorded into ``cassette``'s file as it is now, under its lock.

    Shared by :meth:`Cassette.save` and the CLI's record proxy, so both decide
    "the same request" and merge metadata alike. Both sides of each comparison
    are recordings, already redacted, so the cassette's rules apply directly.

    A save never loses what was recorded: when the file cannot be merged (it was
    changed into something unreadable meanwhile, or cannot be written), the new
    recordings go to a rescue file beside it (see :func:`rescue_path`) and the
    reason is returned, for the caller to raise once its bookkeeping is done. If
    even the rescue fails, :class:`CassetteRecordError` is raised at once and the
    caller keeps the recordings for a later save.
    """
    mode = cassette.record_mode

    def same(a: RecordedRequest, b: RecordedRequest) -> bool:
        return cassette.replay.rules.matches(b.as_call(), a)

    def change(current: CassetteContent | None) -> CassetteContent | None:
        merged = merge_for_save(
            mode,
            loaded=loaded,
            recorded=recorded,
            on_disk=None if current is None else current.interactions,
            same=same,
        )
        if merged is None:
            return None
        meta = dict(current.meta) if current is not None else {}
        meta.update(cassette.meta)
        return CassetteContent(merged, meta)

    try:
        update_cassette(cassette.path, change, read=mode != "rewrite")
    except Exception as error:  # whatever stopped the merge, the recordings must survive it
        return _rescue(cassette, recorded, error)
    return None


def rescue_path(path: Path) -> Path:
    """Where recordings go that could not be merged into ``path``: ``NAME.unsaved.yaml`` beside it."""
    return path.with_name(f"{path.stem}.unsaved{path.suffix or '.yaml'}")


def _rescue(cassette: Cassette, recorded: Sequence[Interaction], error: Exception) -> str:
    """Append ``recorded`` to the cassette's rescue file; the message saying so, or raise if that fails too."""
    rescue = rescue_path(cassette.path)
    reason = f"{type(error).__name__}: {error}"

    def append(current: CassetteContent | None) -> CassetteContent:
        earlier = () if current is None else current.interactions
        # A proxy retries with everything it recorded: what an earlier rescue holds is not doubled.
        return CassetteContent((*earlier, *(x for x in recorded if x not in earlier)), dict(cassette.meta))

    count = f"{len(recorded)} recording{'s' if len(recorded) != 1 else ''}"
    try:
        update_cassette(rescue, append)
    except Exception as second:
        raise CassetteRecordError(
            f"Cassette {cassette.path} could not be saved ({reason}), and its {count} of this run could "
            f"not be written to {rescue} either ({type(second).__name__}: {second}). They are kept in "
            "memory: fix the cause and call save() again, or record again."
        ) from error
    return (
        f"Cassette {cassette.path} could not be saved ({reason}), so this run's {count} went to {rescue} "
        f"instead. Fix {cassette.path} (or delete it), then move the interactions of {rescue} into it "
        "(or replace it with that file if it held nothing else)."
    )


def check_upstream(url: str, *, option: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host, else a ``ValueError`` naming ``option``.

    Checked when a cassette or the record proxy is built, so a typo fails at once
    instead of sending every recorded request nowhere.
    """
    if http_url(url) is None:
        raise ValueError(
            f"{option} is not an http(s) base URL; pass an absolute one such as https://api.writer.com or "
            "http://127.0.0.1:8000 (no path after the host unless the API lives under one)."
        )
    return url
