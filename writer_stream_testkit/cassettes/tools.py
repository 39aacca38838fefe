"""The CLI's cassette commands, re-exported: each job has its own module.

``show`` (:mod:`.show`), ``convert`` (:mod:`.convert`), ``verify`` (:mod:`.verify`) and
``serve --cassettes`` (:mod:`.directory`) are each an edge (files, sockets) in the CLI
around pure functions there; this module keeps the names the CLI imports in one place.
"""

from __future__ import annotations

from .convert import DECODED_BODY_LIMIT, convert_vcr
from .directory import directory_miss_message
from .show import render_cassette_text, request_summary
from .verify import Drift, compare_responses, how_to_rerecord, render_verify_report

__all__ = [
    "DECODED_BODY_LIMIT",
    "Drift",
    "compare_responses",
    "convert_vcr",
    "directory_miss_message",
    "how_to_rerecord",
    "render_cassette_text",
    "render_verify_report",
    "request_summary",
]
