"""``convert``: a vcrpy cassette into this kit's format, bodies decoded within a bound.

It builds a recorder capture from each vcrpy interaction so the result is made (and redacted)
exactly as a recording is; that import of the recorder makes it an edge for the wing rules.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Iterable
from typing import Any, Final

import yaml

from .._yaml_bounds import ALIAS_EXPANSION_LIMIT, alias_expansion
from ..errors import CassetteFormatError
from . import recorder as _recorder
from .capture import interaction_from_capture
from .model import CassetteContent, Interaction
from .redact import Redaction

__all__ = ["DECODED_BODY_LIMIT", "convert_vcr"]


class _VcrLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader: plain YAML data and ``!!binary`` (how vcrpy stores bytes), no objects."""


def _vcr_fail(source: str, where: str, problem: str) -> CassetteFormatError:
    return CassetteFormatError(
        f"The vcrpy cassette {source} cannot be converted: {where} {problem}. Check that the file is a "
        "vcrpy cassette (version 1, `interactions:` with `request` and `response`), or re-record it with vcrpy."
    )


def _vcr_bytes(value: Any, source: str, where: str) -> bytes:
    """A vcrpy body: a string, bytes (``!!binary``), ``{string: ...}`` or ``{base64_string: ...}``."""
    if isinstance(value, dict):
        if "base64_string" in value:
            try:
                return base64.b64decode(str(value["base64_string"]), validate=True)
            except (binascii.Error, ValueError):
                raise _vcr_fail(source, f"{where}.base64_string", "is not valid base64") from None
        value = value.get("string")
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    raise _vcr_fail(source, where, f"is {type(value).__name__}, not a body string")


def _vcr_headers(value: Any, source: str, where: str) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise _vcr_fail(source, where, "is not a mapping of header names to values")
    out: list[tuple[str, str]] = []
    for name, item in value.items():
        for single in item if isinstance(item, list) else [item]:
            out.append((str(name), str(single)))
    return out


DECODED_BODY_LIMIT: Final = 64 * 1024 * 1024
"""The most bytes ``convert`` decompresses one gzip or deflate body into (64 MiB); a larger
body (a compression bomb) is refused rather than filling memory and the cassette."""


def _decompress(
    body: bytes, headers: list[tuple[str, str]], source: str, where: str
) -> tuple[bytes, list[tuple[str, str]]]:
    """vcrpy may keep a gzip/deflate body as sent; cassettes store the bytes the client decoded.

    A gzip or deflate body that does not decompress was stored decoded already (by the
    stub that recorded it), so it is kept as it is; either way the ``content-encoding``
    header goes, since what the cassette holds is the decoded body. ``identity`` goes
    too; any other coding (``br``, ``zstd``) is kept with its bytes, still encoded.
    """
    coding = next((v.strip().lower() for k, v in headers if k.lower() == "content-encoding"), "")
    if coding not in ("gzip", "deflate", "identity"):
        return body, headers
    decoded = [(k, v) for k, v in headers if k.lower() != "content-encoding"]
    if coding == "identity" or not body:
        return body, decoded
    inflater = zlib.decompressobj(47)  # 32 + 15: gzip or zlib header, detected
    try:
        plain = inflater.decompress(body, DECODED_BODY_LIMIT)
    except zlib.error:
        return body, decoded  # already decoded by the stub that recorded it
    if inflater.unconsumed_tail:
        raise CassetteFormatError(
            f"The vcrpy cassette {source} cannot be converted: {where}.body is a {coding} body that "
            f"decompresses to more than {DECODED_BODY_LIMIT:,} bytes (a compression bomb, or a body too "
            "large for a cassette). Remove that interaction, or re-record it with a smaller response."
        )
    return plain, decoded


_DROPPED_RESPONSE_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


def convert_vcr(text: str, *, source: str, secrets: Iterable[str] = ()) -> CassetteContent:
    """A vcrpy YAML cassette as ours: SSE bodies split into events (at t=0), secrets redacted.

    vcrpy stores a whole response body as one string, so read boundaries and timing
    are unknown: every event gets ``t: 0`` and replay sends each as its own read.
    Credentials are removed on the way in, exactly as recording would.
    """
    loader = _VcrLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None and alias_expansion(node) > ALIAS_EXPANSION_LIMIT:
            raise CassetteFormatError(
                f"The vcrpy cassette {source} uses YAML aliases that stand for more than "
                f"{ALIAS_EXPANSION_LIMIT:,} characters of data (or one that contains itself); converting "
                "it would take unbounded memory and disk. Write the values out instead of using aliases, "
                "or re-record the cassette with vcrpy."
            )
        data = None if node is None else loader.construct_document(node)
    except yaml.constructor.ConstructorError as exc:
        raise CassetteFormatError(
            f"The vcrpy cassette {source} uses a YAML tag that is not plain data ({exc.problem}"
            f"{'' if exc.problem_mark is None else f', {exc.problem_mark}'.replace(chr(10), ' ')}); "
            "`convert` never builds Python objects from a file. Remove the tag, or re-record the "
            "cassette with vcrpy's default YAML serializer."
        ) from None
    except yaml.YAMLError as exc:
        raise CassetteFormatError(
            f"The vcrpy cassette {source} is not valid YAML ({exc}); fix the syntax or re-record it."
        ) from None
    finally:
        loader.dispose()
    if isinstance(data, list):  # vcrpy's pre-1.0 format: a bare list of interactions
        data = {"interactions": data, "version": 1}
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise _vcr_fail(source, "the top level", "is not a mapping with an `interactions` list")
    redaction = Redaction.build(secrets=list(secrets))
    interactions: list[Interaction] = []
    for index, entry in enumerate(data["interactions"]):
        where = f"interactions[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
            raise _vcr_fail(source, where, "has no `request` mapping")
        if not isinstance(entry.get("response"), dict):
            raise _vcr_fail(source, where, "has no `response` mapping")
        req, res = entry["request"], entry["response"]
        method, uri = req.get("method"), req.get("uri")
        if not isinstance(method, str) or not isinstance(uri, str):
            raise _vcr_fail(source, f"{where}.request", "needs a `method` and a `uri` string")
        status = res.get("status")
        code = status.get("code") if isinstance(status, dict) else status
        if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
            raise _vcr_fail(source, f"{where}.response.status", f"is {status!r}, not an HTTP status")
        headers = _vcr_headers(res.get("headers"), source, f"{where}.response.headers")
        body, headers = _decompress(
            _vcr_bytes(res.get("body"), source, f"{where}.response.body"),
            headers,
            source,
            f"{where}.response",
        )
        capture = _recorder.Capture(
            method=method.upper(),
            url=uri,
            headers=tuple(_vcr_headers(req.get("headers"), source, f"{where}.request.headers")),
            content=_vcr_bytes(req.get("body"), source, f"{where}.request.body"),
            status=code,
            response_headers=tuple((k, v) for k, v in headers if k.lower() not in _DROPPED_RESPONSE_HEADERS),
            reads=[(body, 0.0)] if body else [],
            complete=True,
            done=True,
            responded=True,
        )
        interactions.append(interaction_from_capture(capture, redaction))
    return CassetteContent(
        tuple(interactions),
        {
            "converted_from": f"vcrpy cassette {source}",
            "timing": "unknown: vcrpy keeps no timing, so every t is 0",
        },
    )
