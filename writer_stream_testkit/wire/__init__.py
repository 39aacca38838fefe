"""The wire: SSE framing, Writer's chunk types, bytes to chunks, and a request as a double received it."""
