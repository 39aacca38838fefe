"""``python -m writer_stream_testkit.cli``: the console script without installing it."""

from __future__ import annotations

import sys

from . import main

sys.exit(main())
