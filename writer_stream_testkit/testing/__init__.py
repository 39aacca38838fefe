"""Test aids: stream contract checks, event-order patterns, transcripts and the syrupy snapshot extension."""
