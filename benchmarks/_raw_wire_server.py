"""The floor for socket replay: a bare socket server that answers each request with fixed bytes.

Usage: ``python _raw_wire_server.py WIRE_FILE``. Every request on a connection
gets the file's bytes (a whole HTTP response, framed in advance) in one
``sendall``: no HTTP library, no plan, no per-event work at all. Prints its port
on the first line of stdout; runs until killed.
"""

from __future__ import annotations

import socket
import sys


def serve(data: bytes) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                got = conn.recv(65536)
                if not got:
                    break
                buffer += got
            if b"\r\n\r\n" not in buffer:
                break
            head, _, rest = buffer.partition(b"\r\n\r\n")
            lengths = [
                line.split(b":", 1)[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ]
            length = int(lengths[0]) if lengths else 0
            while len(rest) < length:
                rest += conn.recv(65536)
            buffer = rest[length:]
            conn.sendall(data)
        conn.close()


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as file:
        serve(file.read())
