"""The "leave it out" markers: the kit's own ``NOT_GIVEN`` and writerai's ``NOT_GIVEN``, ``not_given`` and ``omit``.

Apps written for writerai pass its markers to say "don't send this field"; the
kit's client and stream helpers must take them the same way. The kit must not
need writerai installed, so writerai's markers are recognised by their class
(``NotGiven`` or ``Omit`` defined in a ``writerai`` module, 2.x and 3.x alike)
rather than imported.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["NOT_GIVEN", "NotGiven", "is_left_out"]


class NotGiven:
    """The kit's "argument left out" marker, distinct from an explicit None."""

    __slots__ = ()

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()

SDK_MARKER_CLASSES = frozenset({"NotGiven", "Omit"})
"""The names of writerai's marker classes (``writerai._types``)."""


def is_left_out(value: object) -> bool:
    """Whether ``value`` is a "leave it out" marker: the kit's ``NOT_GIVEN`` or any of writerai's."""
    if isinstance(value, NotGiven):
        return True
    kind = type(value)
    return kind.__name__ in SDK_MARKER_CLASSES and kind.__module__.partition(".")[0] == "writerai"
