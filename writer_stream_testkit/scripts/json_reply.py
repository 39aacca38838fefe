"""``JsonReply``: a plain JSON answer for any endpoint (``GET /v1/models``, ``GET /v1/files``, ...).

``double.reply({"models": [...]}, path="/v1/models")`` queues one; a
``serve --script`` file with ``kind: json`` is one, so the CLI server answers
non-streaming endpoints too::

    kind: json
    path: /v1/models
    method: GET        # optional when the Writer API serves the path with one method
    status: 200        # optional
    body: {models: [{id: palmyra-x5, name: Palmyra X5}]}
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ScriptError
from ..wire.endpoints import Endpoint, endpoint_for
from ._values import json_value
from .base import compact_json, read_yaml
from .plan import JSON_HEADERS, ResponsePlan, Write

if TYPE_CHECKING:
    from ..wire.call import Call


@dataclass(frozen=True)
class JsonReply:
    """A fixed JSON body with a status, answering one endpoint."""

    kind: ClassVar[str] = "json"

    body: Any
    endpoint: Endpoint
    status: int = 200

    def __post_init__(self) -> None:
        object.__setattr__(self, "body", json_value(self.body, "JsonReply body"))
        if isinstance(self.status, bool) or not isinstance(self.status, int) or not 200 <= self.status <= 599:
            raise ScriptError(
                f"JsonReply status={self.status!r} must be a final HTTP status from 200 to 599 (a 1xx is "
                "informational: HTTP never ends a response with one)."
            )

    @classmethod
    def to(cls, path: str, body: Any, *, method: str | None = None, status: int = 200) -> JsonReply:
        """The reply for ``method path`` (the method inferred from the Writer API when left out)."""
        return cls(body, endpoint_for(path, method, what="the JSON reply"), status)

    def plan(self, call: Call) -> ResponsePlan:
        """The same JSON for every request it answers, ``stream: true`` or not."""
        return ResponsePlan(
            status=self.status,
            headers=JSON_HEADERS,
            steps=(Write(compact_json(self.body).encode()),),
            reason=self.describe(),
        )

    def describe(self) -> str:
        """A one-line summary for the reply lists in error messages."""
        text = compact_json(self.body)
        shown = text if len(text) <= 50 else text[:47] + "..."
        return f"JSON reply ({self.status}, {shown})"

    def to_yaml(self) -> str:
        """The ``kind: json`` YAML form, which ``from_yaml`` reads back to an equal reply."""
        import yaml

        from ._yaml_dump import ScriptDumper

        doc: dict[str, Any] = {"kind": self.kind, "path": self.endpoint.path, "method": self.endpoint.method}
        if self.status != 200:
            doc["status"] = self.status
        doc["body"] = self.body
        return yaml.dump(doc, Dumper=ScriptDumper, sort_keys=False, allow_unicode=True, width=100)

    @classmethod
    def from_yaml(cls, source: str | os.PathLike[str]) -> JsonReply:
        """Read a ``kind: json`` reply from YAML text or a file."""
        doc, where = read_yaml(source)
        return cls._from_checked_doc(doc, where)

    @classmethod
    def _from_checked_doc(cls, doc: object, where: str) -> JsonReply:
        if not isinstance(doc, dict) or doc.get("kind") != cls.kind:
            raise ScriptError(f"{where}: a JSON reply is a mapping with kind: json, path and body.")
        known = {"kind", "path", "method", "status", "body"}
        unknown = sorted(set(map(str, doc)) - known)
        if unknown:
            raise ScriptError(
                f"{where}: unknown key {', '.join(unknown)}; a JSON reply has {', '.join(sorted(known))}."
            )
        if "path" not in doc or "body" not in doc:
            raise ScriptError(f"{where}: a JSON reply needs path (such as /v1/models) and body.")
        try:
            return cls.to(doc["path"], doc["body"], method=doc.get("method"), status=doc.get("status", 200))
        except ScriptError as exc:
            raise ScriptError(f"{where}: {exc}") from None
