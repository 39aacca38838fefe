"""The pytest plugin, registered through the ``pytest11`` entry point (wired up in a later step)."""
