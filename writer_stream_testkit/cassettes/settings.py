"""One test's cassette options, from every place a user may set them, and which one wins.

The pytest plugin reads four layers and hands them here; this module alone
knows their order, strongest first:

1. the ``@pytest.mark.writer_cassette(...)`` marker's keyword arguments,
2. the command line (``--writer-record-mode``, ``--writer-replay-timing``, ``--writer-upstream``),
3. the ``writer_cassette_config`` fixture's dict (vcr_config-style: module or conftest scope),
4. the ini file (``writer_record_mode`` ...), then ``Cassette``'s own defaults.

The marker is the one test's own word, so it wins (a shared cassette marked
``record_mode="new_episodes"`` still merges under ``--writer-record-mode=once``, as
pytest-recording honours its ``vcr`` mark); the command line beats the
config fixture so one flag changes a whole suite's defaults.
The ini key ``writer_redact_patterns`` adds to the ``redact=`` patterns instead of
replacing them.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CassetteSettings"]


@dataclass(frozen=True)
class CassetteSettings:
    """The layers of one cassette's options; :meth:`options` merges them, :meth:`check` names mistakes."""

    flags: Mapping[str, Any] = field(default_factory=dict)
    """From the command line."""
    marker: Mapping[str, Any] = field(default_factory=dict)
    """The marker's keyword arguments (``path`` aside)."""
    config: Mapping[str, Any] = field(default_factory=dict)
    """The ``writer_cassette_config`` fixture's dict."""
    ini: Mapping[str, Any] = field(default_factory=dict)
    """From the ini file."""
    extra_redact: Sequence[str] = ()
    """``writer_redact_patterns``: added to whatever ``redact=`` the layers give."""

    def options(self) -> dict[str, Any]:
        """The keyword arguments for ``Cassette(path, ...)``: each key from the strongest layer that sets it."""
        merged: dict[str, Any] = {}
        for layer in (self.ini, self.config, self.flags, self.marker):
            merged.update({k: v for k, v in layer.items() if v is not None})
        if self.extra_redact:
            merged["redact"] = [*self.extra_redact, *merged.get("redact", ())]
        return merged

    def check(self, accepted: Sequence[str], *, marker: str, config: str) -> str | None:
        """A full sentence naming each key of the marker or the config fixture that ``Cassette`` does not take.

        ``marker`` and ``config`` say where each layer was set (the marker on a
        test, the fixture); ``accepted`` are ``Cassette``'s keywords, in signature
        order. ``None`` when every key is accepted.
        """
        if not isinstance(self.config, Mapping):
            return (
                f"{config} returned {self.config!r}, not a dict; return a dict of Cassette keyword "
                "arguments, such as {'record_mode': 'once', 'match_on': ['method', 'path', 'body']}."
            )
        problems = []
        layers = (
            (marker, self.marker, "The marker's keyword arguments"),
            (config, self.config, "The keys of its dict"),
        )
        for where, layer, what in layers:
            unknown = [name for name in layer if name not in accepted]
            if not unknown:
                continue
            parts = []
            for name in unknown:
                close = difflib.get_close_matches(str(name), list(accepted), n=1)
                parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            noun = "an option" if len(unknown) == 1 else "options"
            problems.append(
                f"{where} passed {noun} Cassette does not take: {', '.join(parts)}. {what} go straight to "
                f"Cassette(...), which takes path, {', '.join(accepted)}; fix the spelling or remove the keyword."
            )
        return "\n".join(problems) or None
