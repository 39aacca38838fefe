"""The SDK's stream helpers: accumulating chunks into events and a snapshot, parsing, the stream classes."""
