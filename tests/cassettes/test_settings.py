"""Cassette settings: which layer wins, and a one-read message for a key Cassette does not take."""

from __future__ import annotations

import inspect

import pytest

from writer_stream_testkit import Cassette
from writer_stream_testkit.cassettes.settings import CassetteSettings

ACCEPTED = [name for name in inspect.signature(Cassette).parameters if name != "path"]


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ({}, None),
        ({"ini": "once"}, "once"),
        ({"ini": "once", "config": "all"}, "all"),
        ({"ini": "once", "config": "all", "flags": "rewrite"}, "rewrite"),
        ({"ini": "once", "config": "all", "flags": "rewrite", "marker": "new_episodes"}, "new_episodes"),
        ({"config": "all", "marker": "none"}, "none"),
        ({"flags": None, "config": "all"}, "all"),  # an unset flag is no opinion
    ],
)
def test_marker_beats_flag_beats_config_beats_ini(
    layers: dict[str, str | None], expected: str | None
) -> None:
    settings = CassetteSettings(**{name: {"record_mode": value} for name, value in layers.items()})  # type: ignore[arg-type]
    assert settings.options().get("record_mode") == expected


def test_keys_set_in_different_layers_are_all_kept() -> None:
    settings = CassetteSettings(
        config={"match_on": ["method", "path"], "meta": {"owner": "qa"}},
        marker={"meta": {"owner": "me"}},
        ini={"timing": "fast"},
    )
    assert settings.options() == {"match_on": ["method", "path"], "meta": {"owner": "me"}, "timing": "fast"}


def test_ini_redact_patterns_add_to_the_redact_a_layer_gives() -> None:
    settings = CassetteSettings(config={"redact": ["b"]}, extra_redact=("a",))
    assert settings.options()["redact"] == ["a", "b"]
    assert CassetteSettings(extra_redact=("a",)).options()["redact"] == ["a"]


def test_a_typo_in_the_config_fixture_is_named_with_its_fix() -> None:
    problem = CassetteSettings(config={"record_mod": "once"}).check(
        ACCEPTED, marker="the marker", config="the fixture"
    )
    assert problem is not None
    assert problem.startswith(
        "the fixture passed an option Cassette does not take: 'record_mod' (did you mean 'record_mode'?). "
        "The keys of its dict go straight to Cassette(...), which takes path, record_mode,"
    )
    assert CassetteSettings(config={"record_mode": "once"}).check(ACCEPTED, marker="m", config="c") is None


def test_a_config_fixture_that_returns_no_dict_is_named() -> None:
    problem = CassetteSettings(config=["once"]).check(ACCEPTED, marker="m", config="the fixture")  # type: ignore[arg-type]
    assert problem is not None
    assert problem.startswith("the fixture returned ['once'], not a dict;")
