"""cassettes.tools: one import for the pure cores of the cassette commands, each object the one its own module defines."""

from __future__ import annotations

import pytest

from writer_stream_testkit.cassettes import convert, directory, show, tools, verify

OWNERS = {"convert": convert, "directory": directory, "show": show, "verify": verify}


@pytest.mark.parametrize("name", sorted(tools.__all__))
def test_each_name_is_the_object_its_own_module_defines(name: str) -> None:
    owners = [module for module in OWNERS.values() if name in module.__all__]
    assert len(owners) == 1, f"{name} should come from exactly one command module, not {owners}"
    assert getattr(tools, name) is getattr(owners[0], name)


def test_every_public_name_of_the_command_modules_is_gathered() -> None:
    gathered = {name for module in OWNERS.values() for name in module.__all__}
    assert gathered == set(tools.__all__)
