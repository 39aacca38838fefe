"""Cassettes: the model, its YAML form and files, matching, record modes, recording, and the tools around them."""
