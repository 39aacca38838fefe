"""One test file reusing another's helpers loads it here, under the name pytest gives it.

The test folders mirror the package's wings and pytest imports test files by their
paths (``--import-mode=importlib``), so no test file is on ``sys.path``. Loading it
under pytest's own name for it (``tests.<wing>.test_<module>``) means pytest reuses
this module object when it collects the file: one copy of its state, not two.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parents[1]


def load_test_file(relative: str) -> ModuleType:
    """The test module at ``tests/<relative>``, imported once."""
    path = TESTS / relative
    name = ".".join((TESTS.name, *Path(relative).with_suffix("").parts))
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"tests/{relative} is not a Python file; check the path given to load_test_file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
