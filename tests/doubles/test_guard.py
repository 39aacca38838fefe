"""No real request by accident: the network guard, end to end through writerai and pytester.

Every test here proves no connection leaves 127.0.0.1: name resolution and
``socket.create_connection`` are replaced by spies that fail the test if a
non-loopback host is ever asked for.
"""

from __future__ import annotations

import socket

import httpcore
import pytest
from guardutil import SPY

from writer_stream_testkit import FakeWriterServer, WriterMock
from writer_stream_testkit.doubles.guard import guard


def test_without_a_double_the_guard_is_gone() -> None:
    before = (httpcore.SyncBackend.connect_tcp, httpcore.AnyIOBackend.connect_tcp, socket.socket.connect)
    with FakeWriterServer():
        assert httpcore.SyncBackend.connect_tcp is not before[0]
    assert not guard.refuses("api.writer.com")
    assert (
        httpcore.SyncBackend.connect_tcp,
        httpcore.AnyIOBackend.connect_tcp,
        socket.socket.connect,
    ) == before


def test_nested_doubles_keep_the_guard_until_the_last_stops() -> None:
    with FakeWriterServer():
        with WriterMock():
            assert guard.refuses("api.writer.com")
        assert guard.refuses("api.writer.com")
    assert not guard.refuses("api.writer.com")


# --- the plugin ------------------------------------------------------------------------------------------


def test_block_network_flag_refuses_other_hosts_naming_them(project: pytest.Pytester) -> None:
    project.makeconftest(SPY)
    project.makepyfile(
        test_app="""
        import socket
        import httpx
        import pytest
        from writer_stream_testkit import NetworkBlockedError

        def test_httpx():
            response = httpx.get("https://example.invalid/v1/models")
            assert response.status_code == 500
            assert "example.invalid" in response.text and "--writer-block-network" in response.text

        def test_socket():
            with socket.socket() as sock, pytest.raises(NetworkBlockedError, match="192.0.2.7:443"):
                sock.connect(("192.0.2.7", 443))

        def test_allowed_ini(request):
            assert request.config.getini("writer_allowed_hosts") == ["allowed.invalid"]
        """
    )
    project.makeini(
        "[pytest]\nfilterwarnings = error\naddopts = -p no:cacheprovider\nwriter_allowed_hosts =\n    allowed.invalid\n"
    )
    # the httpx test fails the test even though its own asserts pass: a refusal is a verdict
    result = project.runpytest("--writer-block-network")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*GET https://example.invalid/v1/models*"])
    # without the flag nothing is blocked (the spy, not the guard, would see the lookup)
    project.runpytest("-k", "allowed").assert_outcomes(passed=1)


def test_block_network_ini_key_turns_it_on(project: pytest.Pytester) -> None:
    project.makeini(
        "[pytest]\nfilterwarnings = error\naddopts = -p no:cacheprovider\nwriter_block_network = true\n"
    )
    project.makepyfile(
        test_app="""
        import socket, pytest
        from writer_stream_testkit import NetworkBlockedError

        def test_socket():
            with socket.socket() as sock, pytest.raises(NetworkBlockedError):
                sock.connect(("192.0.2.7", 80))
        """
    )
    project.runpytest().assert_outcomes(passed=1)


def test_the_block_network_marker_blocks_one_test_with_its_own_allowed_hosts(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_app="""
        import socket, pytest
        from writer_stream_testkit import NetworkBlockedError
        from writer_stream_testkit.doubles.guard import guard

        @pytest.mark.writer_block_network(allowed_hosts=["192.0.2.8"])
        def test_marked():
            assert guard.refuses("example.invalid")
            assert not guard.refuses("192.0.2.8")
            with socket.socket() as sock, pytest.raises(NetworkBlockedError):
                sock.connect(("192.0.2.7", 80))

        def test_unmarked():
            assert not guard.refuses("example.invalid")
        """
    )
    project.runpytest("--strict-markers").assert_outcomes(passed=2)
