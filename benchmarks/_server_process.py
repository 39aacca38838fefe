"""A FakeWriterServer in its own process, so its CPU time never counts against the client's."""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

from writer_stream_testkit import FakeWriterServer


def _serve(conn: Connection, make_source: Callable[[], Any]) -> None:
    """The server process: serve from ``make_source()`` until the parent says stop."""
    with FakeWriterServer(source=make_source()) as server:
        conn.send(server.base_url)
        conn.recv()


@contextlib.contextmanager
def server_process(make_source: Callable[[], Any]) -> Iterator[str]:
    """Start the server process, yield its base URL, and always stop it (killing it if it hangs).

    ``make_source`` must be importable (a module-level class or function): the
    process is spawned, not forked.
    """
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(child, make_source), name="FakeWriterServer")
    process.start()
    try:
        if not parent.poll(30):
            raise TimeoutError("FAILED: the server process did not start within 30 s.")
        yield parent.recv()
    finally:
        if process.is_alive():
            parent.send("stop")
        process.join(30)
        if process.is_alive():
            process.kill()
            process.join()
