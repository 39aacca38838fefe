"""The faults a correct client cannot tell from a clean stream: one list for every suite that checks it."""

from __future__ import annotations

from writer_stream_testkit.scripts.faults import Fault

HARMLESS_WIRE_FAULTS: tuple[Fault, ...] = (
    Fault.split(one_byte=True),
    Fault.split(sizes=[3, 7, 1]),
    Fault.split_mid_utf8(),
    Fault.split_mid_crlf(),
    Fault.crlf(),
    Fault.keep_alive(every=1, comment="ping"),
    Fault.missing_done(),
    Fault.data_after_done(),
)
"""Read boundaries, line ends, comments and the ``[DONE]`` marker: the chunks arrive unchanged."""
