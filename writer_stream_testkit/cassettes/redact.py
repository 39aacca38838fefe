"""Secret scrubbing for cassettes: pure functions, applied before anything is written.

A cassette is committed to a repository, so the API key, cookies and any value
the user marks as sensitive must never reach the file. Redaction runs on the
recording in memory, at record time; the same rules run on each incoming
request during replay so that a body which held a secret still matches its
redacted recording.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import functools
import json as _json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, AnyStr

__all__ = [
    "REDACTED",
    "Redaction",
    "is_credential_header",
    "secret_from_headers",
    "short_key_message",
]

REDACTED = "<redacted>"
"""What a removed secret is replaced with."""

MIN_SECRET_LENGTH = 8
"""Shorter keys are not scrubbed from text (replacing every "abc" in a stream would shred it); a
credential header is still replaced whole, and recording with a shorter key warns."""

_CREDENTIAL_NAMES = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "cookie",
        "set-cookie",
    }
)
# One segment of a header name (split on "-" and "_") that marks a credential. Whole-segment
# matching keeps x-ratelimit-remaining-tokens, content-type and keep-alive; "auth" prefixes
# cover authorization, authentication and auth itself.
_CREDENTIAL_SEGMENT = re.compile(
    r"\w*(token|secret|key)|auth\w*|passw(or)?d|cookie|credentials?|session|signature",
    re.IGNORECASE,
)
_NOT_CREDENTIALS = frozenset({"idempotency-key", "www-authenticate", "x-should-retry"})
_BEARER = re.compile(r"^\s*(bearer|basic|token)\s+(\S+)\s*$", re.IGNORECASE)


def is_credential_header(name: str) -> bool:
    """Whether a header's value is a credential, judged by its name alone."""
    lowered = name.lower()
    if lowered in _CREDENTIAL_NAMES:
        return True
    if lowered in _NOT_CREDENTIALS:
        return False
    return any(_CREDENTIAL_SEGMENT.fullmatch(part) for part in re.split(r"[-_]", lowered) if part)


def secret_from_headers(headers: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The credentials a request carries (the bearer token, an api-key value), to scrub elsewhere."""
    return tuple(t for t in _credential_tokens(headers) if len(t) >= MIN_SECRET_LENGTH)


def short_key_message(source: str, request: str, headers: Iterable[tuple[str, str]]) -> str | None:
    """Why a recording of ``request`` may keep its key: the key is too short to scrub; ``None`` if not.

    Names the key's length, never the key (the message reaches logs and CI output).
    """
    short = sorted({len(t) for t in _credential_tokens(headers) if len(t) < MIN_SECRET_LENGTH})
    if not short:
        return None
    lengths = " and ".join(str(n) for n in short)
    return (
        f"{source} recorded {request} with an API key of {lengths} characters. Keys shorter than "
        f"{MIN_SECRET_LENGTH} characters are not scrubbed from URLs, bodies or events (scrubbing a string "
        "that short would shred the recording); only credential headers are still replaced whole. Record "
        f"with a key of at least {MIN_SECRET_LENGTH} characters, or pass the key in redact=[...] "
        "(--redact in the CLI) to scrub it anyway."
    )


def _credential_tokens(headers: Iterable[tuple[str, str]]) -> list[str]:
    found: list[str] = []
    for name, value in headers:
        if not is_credential_header(name):
            continue
        bearer = _BEARER.match(value)
        token = bearer.group(2) if bearer else value.strip()
        if token and token not in found:
            found.append(token)
    return found


def _compile(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    if isinstance(pattern, re.Pattern):
        return pattern
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(
            f"The redaction pattern {pattern!r} is not a valid regular expression ({exc}); "
            "pass a valid re pattern string or a compiled re.Pattern."
        ) from None


@dataclass(frozen=True, slots=True)
class Redaction:
    """What to scrub from a recording, and with what.

    ``secrets`` are literal strings (API keys) removed wherever they appear;
    ``patterns`` are (regex, replacement) pairs for anything else. Credential
    headers are always replaced whole, whatever their value.
    """

    secrets: tuple[str, ...] = ()
    patterns: tuple[tuple[re.Pattern[str], str], ...] = ()
    extra_headers: frozenset[str] = field(default_factory=frozenset)
    """More header names (lower case) to treat as credentials."""
    _rules: tuple[tuple[re.Pattern[str], str, bool], ...] = field(init=False, repr=False, compare=False)
    """(pattern, replacement, escaped): the secrets first, then each user pattern twice, as written
    and over the JSON-unescaped view of the text (secrets' patterns hold their escaped forms already)."""
    _needles: tuple[re.Pattern[bytes], ...] | None = field(init=False, repr=False, compare=False)
    """The secrets' byte patterns, or ``None`` when a pattern (or an unencodable secret) needs the text."""
    _literals: tuple[bytes | None, ...] = field(init=False, repr=False, compare=False)
    """Each secret's own bytes, all a body with no percent sign or ``\\u`` escape can hold of it;
    ``None`` for a secret with a character that has another form even there."""

    def __post_init__(self) -> None:
        # Longest secret first, so a key that contains another is removed whole; each secret's
        # base64 forms too (a key inside a basic-auth value, a data URL, an encoded payload).
        forms = dict.fromkeys(f for s in self.secrets for f in (s, *_base64_forms(s)))
        ordered = sorted(forms, key=len, reverse=True)
        literal = tuple((_secret_pattern(s), REDACTED, False) for s in ordered)
        users = tuple((p, r, escaped) for p, r in self.patterns for escaped in (False, True))
        object.__setattr__(self, "_rules", literal + users)
        needles: tuple[re.Pattern[bytes], ...] | None = None
        literals: tuple[bytes | None, ...] = ()
        if not self.patterns:
            try:
                needles = tuple(_secret_bytes_pattern(s) for s in ordered)
                literals = tuple(_plain_bytes(s) for s in ordered)
            except UnicodeEncodeError:
                needles = None
        object.__setattr__(self, "_needles", needles)
        object.__setattr__(self, "_literals", literals)

    @classmethod
    def build(
        cls,
        *,
        secrets: Iterable[str] = (),
        patterns: Iterable[str | re.Pattern[str] | tuple[str | re.Pattern[str], str]] = (),
        headers: Iterable[str] = (),
    ) -> Redaction:
        """Normalise user input: bare patterns are replaced with ``REDACTED``."""
        compiled: list[tuple[re.Pattern[str], str]] = []
        for item in patterns:
            if isinstance(item, tuple):
                pattern, replacement = item
                compiled.append((_compile(pattern), replacement))
            else:
                compiled.append((_compile(item), REDACTED))
        return cls(
            secrets=tuple(s for s in secrets if len(s) >= MIN_SECRET_LENGTH),
            patterns=tuple(compiled),
            extra_headers=frozenset(h.lower() for h in headers),
        )

    def with_secrets(self, secrets: Sequence[str]) -> Redaction:
        """This redaction plus more literal secrets (the key a request was sent with)."""
        new = tuple(s for s in secrets if len(s) >= MIN_SECRET_LENGTH and s not in self.secrets)
        if not new:
            return self
        return Redaction(self.secrets + new, self.patterns, self.extra_headers)

    def may_change(self, data: bytes) -> bool:
        """Whether redacting the text of ``data`` (UTF-8, ``surrogateescape``) could change it.

        A byte search that lets a recording skip decoding and scanning a body no
        secret is in: that decoding is reversible and goes character by character,
        so a secret in the text, in any of its escaped forms, has a match of the
        secret's byte pattern in ``data`` (even when it arrived in two reads, since
        the caller passes the whole body). With regex patterns it cannot tell, and
        says True.
        """
        if self._needles is None:
            return True
        # With no percent sign and no \\u escape anywhere, a secret free of characters that have
        # other forms (a space, JSON's short escapes) can only appear as its own bytes: one
        # C-speed substring search instead of a regex pass over the whole body.
        plain = b"%" not in data and b"\\u" not in data
        for needle, literal in zip(self._needles, self._literals, strict=True):
            if plain and literal is not None:
                if literal in data:
                    return True
            elif needle.search(data) is not None:
                return True
        return False

    def text(self, value: str) -> str:
        """``value`` with every secret and pattern match replaced."""
        for pattern, replacement, escaped in self._rules:
            if not escaped:
                value = pattern.sub(replacement, value)
            elif _may_escape(value):
                value = _splice(value, _found(pattern, replacement, value, escaped=True), ())[0]
        return value

    def text_keeping_offsets(self, value: str, offsets: Sequence[int]) -> tuple[str, list[int]]:
        """Redact ``value`` and move ``offsets`` (ascending positions in it) to the same places after.

        The recorder keeps where each network read ended; a replacement of a
        different length shifts later read ends, and a read end inside a secret
        moves to the start of its replacement so no piece of the secret survives.
        """
        moved = list(offsets)
        for pattern, replacement, escaped in self._rules:
            if escaped and not _may_escape(value):
                continue
            spans = _found(pattern, replacement, value, escaped=escaped)
            if spans:
                value, moved = _splice(value, spans, moved)
        return value, moved

    def bytes_keeping_offsets(self, data: bytes, offsets: Sequence[int]) -> tuple[bytes, list[int]]:
        """:meth:`text_keeping_offsets` over the UTF-8 (``surrogateescape``) text of ``data``, offsets in bytes.

        The whole body is decoded at once, so a secret or pattern is found whatever
        the reads split (inside a character included), and a read end the
        redaction does not touch stays on exactly the byte it was on.
        """
        moved = list(offsets)
        for pattern, replacement, escaped in self._rules:
            if escaped and b"\\" not in data:
                continue
            text = data.decode("utf-8", "surrogateescape")
            spans: list[tuple[int, int, bytes]] = []
            last_char = last_byte = 0
            for start, end, new in _found(pattern, replacement, text, escaped=escaped):
                byte_start = last_byte + _utf8_length(text[last_char:start])
                byte_end = byte_start + _utf8_length(text[start:end])
                spans.append((byte_start, byte_end, new.encode("utf-8", "surrogateescape")))
                last_char, last_byte = end, byte_end
            if spans:
                data, moved = _splice(data, spans, moved)
        return data, moved

    def headers(self, pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        """Credential headers replaced whole; the rest scrubbed like any text."""
        out: list[tuple[str, str]] = []
        for name, value in pairs:
            if is_credential_header(name) or name.lower() in self.extra_headers:
                out.append((name, REDACTED))
            else:
                out.append((name, self.text(value)))
        return tuple(out)

    def json(self, value: Any) -> Any:
        """A JSON value with every string (keys included) and number scrubbed.

        A number is matched as JSON writes it (``123456789012345``); one a pattern
        changes becomes the redacted text, a string, as it would read in the query
        or the events.
        """
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, int | float) and not isinstance(value, bool):
            written = _json.dumps(value)
            scrubbed = self.text(written)
            return value if scrubbed == written else scrubbed
        return value


# How a JSON string writes a character with a short escape (json.dumps never uses ``\\/``; other
# encoders do).
_JSON_SHORT_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}


def _hex(value: int, digits: int) -> str:
    """``value`` as a regex of ``digits`` hex digits, each letter in either case."""
    return "".join(f"[{d.lower()}{d}]" if d.isalpha() else d for d in f"{value:0{digits}X}")


def _escaped_forms(char: str, *, first: bool = False) -> list[str]:
    """Regexes (ASCII only) for ``char`` written escaped: in a URL, in a JSON string, or in JSON in JSON.

    Percent-encoding (``quote``, ``quote_plus``, either case of hex) and JSON
    escapes (``\\uXXXX``, a surrogate pair beyond the BMP, ``\\/`` and the other
    short escapes, each behind any number of backslashes so a JSON string inside
    a JSON string is covered too). Every alternative starts with a literal
    character, which lets the regex engine skip ahead fast.

    For the ``first`` character of a secret, a form led by backslashes must start
    a run of them: trying one at every backslash of a run would scan the rest of
    the run each time, quadratic in its length.
    """
    forms: list[str] = []
    with contextlib.suppress(UnicodeEncodeError):  # a lone surrogate: no URL can carry it
        forms.append("".join("%" + _hex(byte, 2) for byte in char.encode("utf-8")))
    if char == " ":
        forms.append(r"\+")
    code = ord(char)
    units = [code] if code < 0x10000 else [0xD800 + ((code - 0x10000) >> 10), 0xDC00 + (code & 0x3FF)]
    run = r"(?<!\\)\\\\*" if first else r"\\\\*"
    forms.append(run + "u" + _hex(units[0], 4) + "".join(r"\\\\*u" + _hex(unit, 4) for unit in units[1:]))
    if char in _JSON_SHORT_ESCAPES:
        forms.append(run + re.escape(_JSON_SHORT_ESCAPES[char]))
    return forms


@functools.lru_cache(maxsize=256)
def _secret_pattern(secret: str) -> re.Pattern[str]:
    """``secret`` as it may appear in text: each character literal or escaped, in any mix."""
    return re.compile(
        "".join(
            "(?:" + "|".join([_literal(c, first=i == 0), *_escaped_forms(c, first=i == 0)]) + ")"
            for i, c in enumerate(secret)
        )
    )


def _plain_bytes(secret: str) -> bytes | None:
    """The secret's bytes when its only forms outside percent and ``\\u`` escapes are those bytes.

    ``None`` for a secret holding a space (``+`` in a query) or a character JSON writes
    with a short escape (``\\"``, ``\\\\``, ``\\/``, ``\\n``...).
    """
    if " " in secret or any(c in _JSON_SHORT_ESCAPES for c in secret):
        return None
    return secret.encode("utf-8", "surrogateescape")


def _literal(char: str, *, first: bool) -> str:
    """``char`` as itself; a leading backslash, like the escaped forms, only where a run of them starts."""
    return r"(?<!\\)\\" if first and char == "\\" else re.escape(char)


@functools.lru_cache(maxsize=256)
def _secret_bytes_pattern(secret: str) -> re.Pattern[bytes]:
    """The twin of :func:`_secret_pattern` over the UTF-8 (``surrogateescape``) bytes of text.

    Raises ``UnicodeEncodeError`` for a secret no bytes decode to (a lone surrogate).
    """
    parts: list[bytes] = []
    for i, c in enumerate(secret):
        literal = re.escape(c.encode("utf-8", "surrogateescape"))
        if i == 0 and c == "\\":
            literal = _literal(c, first=True).encode("ascii")
        forms = (f.encode("ascii") for f in _escaped_forms(c, first=i == 0))
        parts.append(b"(?:" + b"|".join([literal, *forms]) + b")")
    return re.compile(b"".join(parts))


_URLSAFE = str.maketrans("+/", "-_")


@functools.lru_cache(maxsize=256)
def _base64_forms(secret: str) -> tuple[str, ...]:
    """The base64 text (standard and URL-safe alphabets) that only the secret's own bits decide.

    A secret encoded inside longer data starts at one of three bit alignments; for
    each, the characters whose six bits all come from the secret are the same
    wherever it sits, so finding them finds the secret (the one or two characters
    at each end, mixed with neighbouring bytes, carry under a byte of it).
    """
    try:
        raw = secret.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return ()
    forms: list[str] = []
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + raw).decode("ascii")
        core = encoded[-(-offset * 8 // 6) : (offset + len(raw)) * 8 // 6]
        for form in (core, core.translate(_URLSAFE)):
            if len(form) >= MIN_SECRET_LENGTH and form not in forms and form != secret:
                forms.append(form)
    return tuple(forms)


_JSON_ESCAPE = re.compile(
    r"\\(?:u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|(/)|\\)"
)
"""A JSON escape the unescaped view decodes: a surrogate pair, ``\\uXXXX`` or ``\\/``; an escaped
backslash (``\\\\``) is matched only to be kept as it is, so ``\\\\u00e9`` stays six characters."""


def _may_escape(text: str) -> bool:
    return "\\u" in text or "\\/" in text


def _unescaped_view(text: str) -> tuple[str, list[tuple[int, int, int]]]:
    """``text`` with its JSON escapes decoded, and each decoded escape as (view, start, length in ``text``).

    Each escape becomes one character of the view; everything else is kept, so a
    position maps back through the escapes before it (see :func:`_origin`).
    """
    pieces: list[str] = []
    escapes: list[tuple[int, int, int]] = []
    done = 0
    view_length = 0
    for match in _JSON_ESCAPE.finditer(text):
        high, low, single, slash = match.groups()
        if high is None and single is None and slash is None:
            continue  # an escaped backslash: kept, and skipped over
        start, end = match.span()
        pieces.append(text[done:start])
        view_length += start - done
        if high is not None:
            char = chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00))
        else:
            char = "/" if slash else chr(int(single, 16))
        pieces.append(char)
        escapes.append((view_length, start, end - start))
        view_length += 1
        done = end
    pieces.append(text[done:])
    return "".join(pieces), escapes


def _origin(position: int, escapes: list[tuple[int, int, int]], starts: list[int]) -> int:
    """Where the view's ``position`` (a character boundary) is in the original text."""
    index = bisect.bisect_right(starts, position) - 1
    if index < 0:
        return position
    at, start, length = escapes[index]
    return start if position == at else start + length + (position - at - 1)


def _found(
    pattern: re.Pattern[str], replacement: str, text: str, *, escaped: bool
) -> list[tuple[int, int, str]]:
    """The (start, end, replacement) of each match in ``text``, sorted, not overlapping.

    With ``escaped``, matches are sought in the JSON-unescaped view of ``text``
    (``Jos\\u00e9`` reads ``José``, ``https:\\/\\/`` reads ``https://``) and mapped back;
    only those that cover an escape are kept, the others were the plain pass's to take.
    """
    if not escaped:
        return [(m.start(), m.end(), m.expand(replacement)) for m in pattern.finditer(text)]
    view, escapes = _unescaped_view(text)
    if not escapes:
        return []
    starts = [at for at, _, _ in escapes]
    out: list[tuple[int, int, str]] = []
    for match in pattern.finditer(view):
        start, end = match.span()
        origin_start, origin_end = _origin(start, escapes, starts), _origin(end, escapes, starts)
        if origin_end - origin_start != end - start:  # it covers an escape
            out.append((origin_start, origin_end, match.expand(replacement)))
    return out


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def _splice(
    value: AnyStr, spans: Sequence[tuple[int, int, AnyStr]], offsets: Sequence[int]
) -> tuple[AnyStr, list[int]]:
    """``value`` with each sorted (start, end, new) span replaced, and ``offsets`` moved to match."""
    pieces: list[AnyStr] = []
    last = 0
    for start, end, new in spans:
        pieces.append(value[last:start])
        pieces.append(new)
        last = end
    pieces.append(value[last:])
    return value[:0].join(pieces), _move_all(offsets, [(a, b, len(new)) for a, b, new in spans])


def _move_all(offsets: Sequence[int], replaced: Sequence[tuple[int, int, int]]) -> list[int]:
    """Ascending ``offsets`` moved past sorted (start, end, new length) replacements, in one pass."""
    out: list[int] = []
    delta = 0
    index = 0
    for offset in offsets:
        while index < len(replaced) and replaced[index][0] < offset and replaced[index][1] <= offset:
            start, end, new_length = replaced[index]
            delta += new_length - (end - start)
            index += 1
        if index < len(replaced) and replaced[index][0] < offset < replaced[index][1]:
            out.append(replaced[index][0] + delta)
        else:
            out.append(offset + delta)
    return out
