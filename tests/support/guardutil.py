"""What the network-guard tests share: the refusal a client reads, and a conftest that fails any name lookup."""

from __future__ import annotations

REFUSED = "POST https://api.writer.com/v1/chat was refused: it would have reached the real Writer API"
"""The start of the message a request to the real Writer API is refused with."""

SPY = """
import ipaddress
import socket
import pytest

@pytest.fixture(autouse=True)
def _no_resolution(monkeypatch):
    real = socket.getaddrinfo
    def getaddrinfo(host, *args, **kwargs):
        try:
            ipaddress.ip_address(str(host))
        except ValueError:
            if host not in ("localhost", None):
                raise AssertionError(f"a connection to {host} was attempted")
        return real(host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
"""
"""A conftest for a pytester project: resolving any host name other than localhost fails the test."""
