"""The pytest plugin, end to end through ``pytester``: loading, options, fixtures, failure output, xdist."""

from __future__ import annotations

import hashlib
import importlib.metadata
import shutil
import textwrap
import time
from importlib.metadata import version
from pathlib import Path

import pytest
import writerai

from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.load import load_cassette
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.pytest_plugin import DUMMY_API_KEY
from writer_stream_testkit.scripts.chat import StreamScript

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "downstream_app"

HEADER = """
import pytest
import writerai

from writer_stream_testkit import StreamScript


def ask(client, prompt):
    with client.chat.stream(model="palmyra-x5", messages=[{"role": "user", "content": prompt}]) as stream:
        events = list(stream)
    return events, "".join(e.delta for e in events if e.type == "content.delta")
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A fresh project with the house settings, and no Writer credentials in the environment."""
    monkeypatch.delenv("WRITER_API_KEY", raising=False)
    monkeypatch.delenv("WRITER_BASE_URL", raising=False)
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT"):  # the outer run's, if any
        monkeypatch.delenv(name, raising=False)
    pytester.makeini("[pytest]\nfilterwarnings = error\naddopts = -p no:cacheprovider\n")
    return pytester


def write_tests(pytester: pytest.Pytester, body: str, name: str = "test_app") -> Path:
    return pytester.makepyfile(**{name: HEADER + textwrap.dedent(body)})


def record(path: Path, *prompts_and_scripts: tuple[str, StreamScript]) -> None:
    """Write a real cassette: stream each prompt through a recording Cassette from a fake upstream."""
    with FakeWriterServer() as upstream:
        for _, script in prompts_and_scripts:
            upstream.reply(script)
        with Cassette(path, record_mode="once", upstream=upstream.base_url):
            client = writerai.Writer(api_key="recording-key")
            for prompt, _ in prompts_and_scripts:
                with client.chat.stream(
                    model="palmyra-x5", messages=[{"role": "user", "content": prompt}]
                ) as stream:
                    list(stream)


def tree(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``root`` (caches aside): content hash and mtime, to prove nothing was rewritten."""
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and ".pytest_cache" not in p.parts
    }


HELLO = StreamScript().content("Hel", "lo").finish()


# --- loading ----------------------------------------------------------------------------------------
# One run loads the plugin from its entry point in a fresh interpreter, as a user's pytest does
# (tests/test_import_cost.py checks what that load imports); the others run in this process:
# each in-process run builds its own plugin manager and loads the pytest11 entry points anew,
# so registering, blocking and naming the plugin behave there as in a subprocess, for a
# fifth of the cost.


def test_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    entry = [
        ep for ep in importlib.metadata.entry_points(group="pytest11") if ep.name == "writer_stream_testkit"
    ]
    assert [ep.value for ep in entry] == ["writer_stream_testkit.pytest_plugin"]


def test_plugin_loads_from_its_entry_point(project: pytest.Pytester) -> None:
    write_tests(
        project,
        """
        def test_loaded(request):
            plugin = request.config.pluginmanager.get_plugin("writer_stream_testkit")
            assert plugin is not None
            assert plugin.__name__ == "writer_stream_testkit.pytest_plugin"
        """,
    )
    project.runpytest_subprocess().assert_outcomes(passed=1)


def test_p_no_disables_the_plugin(project: pytest.Pytester) -> None:
    write_tests(
        project,
        """
        def test_uses_fixture(writer_mock):
            pass

        def test_plain():
            pass
        """,
    )
    result = project.runpytest("-p", "no:writer_stream_testkit")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*fixture 'writer_mock' not found*"])


def test_listing_the_plugin_in_pytest_plugins_as_well_is_harmless(project: pytest.Pytester) -> None:
    project.makeconftest('pytest_plugins = ["writer_stream_testkit.pytest_plugin"]\n')
    write_tests(
        project,
        """
        import sys

        def test_registered_once(request, writer_mock):
            manager = request.config.pluginmanager
            plugin = sys.modules["writer_stream_testkit.pytest_plugin"]
            assert [p for p in manager.get_plugins() if p is plugin] == [plugin]
            assert manager.get_name(plugin) == "writer_stream_testkit"
        """,
    )
    project.runpytest().assert_outcomes(passed=1)
    # Named by module with -p, it registers under that name and the entry point is skipped instead.
    result = project.runpytest("-p", "writer_stream_testkit.pytest_plugin", "-k", "not registered")
    result.assert_outcomes(deselected=1)
    assert "already registered" not in result.stderr.str()


def test_naming_the_plugin_module_with_p_loads_it_once(project: pytest.Pytester) -> None:
    write_tests(
        project,
        """
        import sys

        def test_registered_once(request, writer_mock):
            manager = request.config.pluginmanager
            plugin = sys.modules["writer_stream_testkit.pytest_plugin"]
            assert [p for p in manager.get_plugins() if p is plugin] == [plugin]
        """,
    )
    project.runpytest("-p", "writer_stream_testkit.pytest_plugin").assert_outcomes(passed=1)


def test_marker_is_registered_so_strict_markers_passes(project: pytest.Pytester) -> None:
    write_tests(
        project,
        """
        @pytest.mark.writer_cassette("x.yaml", record_mode="none")
        def test_marked():
            pass
        """,
    )
    project.runpytest("--strict-markers").assert_outcomes(passed=1)
    # A fresh interpreter: in this process the marker was already evaluated by the run above.
    disabled = project.runpytest_subprocess("--strict-markers", "-p", "no:writer_stream_testkit")
    disabled.stdout.fnmatch_lines(["*'writer_cassette' not found in `markers` configuration option*"])
    project.runpytest("--markers").stdout.fnmatch_lines(
        ["@pytest.mark.writer_cassette(path=None, **options):*"]
    )


def test_options_are_one_group_with_ini_equivalents(project: pytest.Pytester) -> None:
    out = project.runpytest("--help").stdout.str()
    group = out[out.index("writer-stream-testkit: Writer API doubles and cassettes") :]
    for flag in (
        "--writer-record-mode",
        "--writer-cassette-dir",
        "--writer-replay-timing",
        "--writer-upstream",
    ):
        assert flag in group
    for ini in (
        "writer_record_mode",
        "writer_cassette_dir",
        "writer_replay_timing",
        "writer_upstream",
        "writer_redact_patterns",
        "writer_base_urls",
    ):
        assert f"{ini} (" in out


# --- fixtures ---------------------------------------------------------------------------------------


def test_writer_mock_answers_writerai_without_an_api_key(project: pytest.Pytester) -> None:
    write_tests(
        project,
        f"""
        import os

        def test_mock(writer_mock):
            writer_mock.reply(StreamScript().content("Hel", "lo").finish())
            events, text = ask(writerai.Writer(), "hi")
            assert text == "Hello"
            assert os.environ["WRITER_API_KEY"] == {DUMMY_API_KEY!r}
            assert len(writer_mock.calls) == 1
        """,
    )
    project.runpytest().assert_outcomes(passed=1)


def test_a_real_api_key_is_never_replaced(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRITER_API_KEY", "users-own-key")
    write_tests(
        project,
        """
        import os

        def test_mock(writer_mock):
            assert os.environ["WRITER_API_KEY"] == "users-own-key"
        """,
    )
    project.runpytest().assert_outcomes(passed=1)


def test_writer_base_urls_ini_key_is_served_by_the_writer_mock_fixture(project: pytest.Pytester) -> None:
    project.makeini(
        "[pytest]\nfilterwarnings = error\naddopts = -p no:cacheprovider\n"
        "writer_base_urls =\n    https://proxy.example.test/writer\n    http://eu.writer.test:8080\n"
    )
    write_tests(
        project,
        """
        def test_served(writer_mock):
            writer_mock.reply(StreamScript().content("proxied").finish(), times=2)
            for url in ("https://proxy.example.test/writer", "http://eu.writer.test:8080"):
                assert ask(writerai.Writer(base_url=url), "hi")[1] == "proxied"
            assert writer_mock.base_url == "https://proxy.example.test/writer"
        """,
    )
    project.runpytest().assert_outcomes(passed=1)


def test_a_bad_writer_base_urls_line_stops_the_run_naming_it(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nwriter_base_urls = proxy.example.test\n")
    write_tests(project, "def test_nothing():\n    pass\n")
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*writer_base_urls in *tox.ini: Cannot mock the Writer API at base_url='proxy.example.test'*"]
    )


def test_writer_base_url_set_inside_the_test_is_served(project: pytest.Pytester) -> None:
    write_tests(
        project,
        """
        def test_env(writer_mock, monkeypatch):
            monkeypatch.setenv("WRITER_BASE_URL", "https://staging.writer.test")
            writer_mock.reply(StreamScript().content("staged").finish())
            assert ask(writerai.Writer(), "hi")[1] == "staged"
            assert writer_mock.calls[0].url == "https://staging.writer.test/v1/chat"
        """,
    )
    project.runpytest().assert_outcomes(passed=1)


def test_a_base_url_the_fixture_does_not_serve_fails_at_once_saying_how_to_pass_it(
    project: pytest.Pytester,
) -> None:
    write_tests(
        project,
        """
        HELLO = StreamScript().content("Hello").finish()

        def test_x(writer_mock):
            writer_mock.reply(HELLO)
            client = writerai.Writer(api_key="k", base_url="https://writer.internal.example/api")
            list(client.chat.chat(model="m", messages=[], stream=True))
        """,
    )
    started = time.monotonic()
    result = project.runpytest()
    assert time.monotonic() - started < 20, "the request must not be retried with backoff"
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "E               writerai.InternalServerError: Error code: 500" in out
    assert "writerai.APIConnectionError: Connection error." not in out
    assert (
        "A request went to https://writer.internal.example/api/v1/chat, which this mock does not serve" in out
    )
    assert "WriterMock(base_url='https://writer.internal.example/api')" in out
    assert "writer-stream-testkit: writer_mock saw: UnexpectedRequestError: " in out
    # the kit's verdict comes first, readable, before the client's traceback
    verdict = out.index("writer-stream-testkit: writer_mock saw:")
    assert (
        verdict
        < out.index("The test failed with:")
        < out.index("writerai.InternalServerError: Error code: 500")
    )
    assert "1 request was refused by WriterMock before any reply could answer:" in out
    assert "1 queued reply was never requested" in out


def test_writer_server_serves_queued_replies_over_a_socket(project: pytest.Pytester) -> None:
    write_tests(
        project,
        """
        def test_server(writer_server):
            assert writer_server.base_url.startswith("http://127.0.0.1:")
            writer_server.reply(StreamScript().content("over ", "TCP").finish())
            events, text = ask(writerai.Writer(base_url=writer_server.base_url), "hi")
            assert text == "over TCP"
        """,
    )
    project.runpytest().assert_outcomes(passed=1)


def test_writer_server_serves_the_marked_cassette_over_a_socket(project: pytest.Pytester) -> None:
    record(project.path / "cassettes" / "hello.yaml", ("hi", HELLO))
    write_tests(
        project,
        """
        import httpx

        @pytest.mark.writer_cassette("hello.yaml")
        def test_server(writer_server):
            events, text = ask(writerai.Writer(base_url=writer_server.base_url), "hi")
            assert text == "Hello"
            assert writer_server.cassette.play_counts == [1]
        """,
    )
    project.runpytest().assert_outcomes(passed=1)


def test_writer_cassette_replays_without_an_api_key(project: pytest.Pytester) -> None:
    record(project.path / "cassettes" / "test_app" / "test_replay.yaml", ("hi", HELLO))
    write_tests(
        project,
        """
        def test_replay(writer_cassette):
            events, text = ask(writerai.Writer(), "hi")
            assert text == "Hello"
        """,
    )
    project.runpytest().assert_outcomes(passed=1)


def test_a_cassette_that_may_record_gets_no_dummy_key(project: pytest.Pytester) -> None:
    write_tests(
        project,
        """
        import os

        def test_recording(writer_cassette):
            assert writer_cassette.record_mode == "once"
            assert "WRITER_API_KEY" not in os.environ
        """,
    )
    project.runpytest("--writer-record-mode=once").assert_outcomes(passed=1)


# --- cassette paths ---------------------------------------------------------------------------------

PATH_CHECK = """
from pathlib import Path

def test_default(writer_cassette, request):
    assert writer_cassette.path == Path(EXPECTED_DEFAULT)

@pytest.mark.writer_cassette("shared/one.yaml")
def test_relative(writer_cassette):
    assert writer_cassette.path == Path(EXPECTED_RELATIVE)

@pytest.mark.writer_cassette(path=ABSOLUTE)
def test_absolute(writer_cassette):
    assert writer_cassette.path == Path(ABSOLUTE)

@pytest.mark.parametrize("city", ["San Francisco", "NYC"])
def test_param(writer_cassette, city):
    assert writer_cassette.path.name == f"test_param[{city.replace(' ', '_')}].yaml"
"""


@pytest.mark.parametrize("where", ["default", "flag", "ini"])
def test_cassette_paths(project: pytest.Pytester, where: str, tmp_path: Path) -> None:
    absolute = tmp_path / "elsewhere" / "abs.yaml"
    args: list[str] = []
    if where == "default":
        base = project.path / "cassettes"
    elif where == "flag":
        base = project.path / "from-flag"
        args = ["--writer-cassette-dir=from-flag"]
    else:
        (project.path / "conf").mkdir()
        (project.path / "conf" / "pytest.ini").write_text(
            "[pytest]\nfilterwarnings = error\nwriter_cassette_dir = ../from-ini\n"
        )
        base = project.path / "from-ini"
        args = ["-c", "conf/pytest.ini", "--rootdir", str(project.path), "-p", "no:cacheprovider"]
    project.makepyfile(
        test_paths=f"EXPECTED_DEFAULT = {str(base / 'test_paths' / 'test_default.yaml')!r}\n"
        f"EXPECTED_RELATIVE = {str(base / 'shared' / 'one.yaml')!r}\n"
        f"ABSOLUTE = {str(absolute)!r}\n" + HEADER + PATH_CHECK
    )
    project.runpytest(*args).assert_outcomes(passed=5)


def test_cassette_dir_flag_beats_ini(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nfilterwarnings = error\nwriter_cassette_dir = from-ini\n")
    write_tests(
        project,
        f"""
        def test_dir(writer_cassette):
            assert writer_cassette.path.parent.parent == __import__("pathlib").Path({str(project.path / "flag")!r})
        """,
    )
    project.runpytest("--writer-cassette-dir=flag").assert_outcomes(passed=1)


# --- precedence: marker > command line > writer_cassette_config > ini ---------------------------------------------------------


@pytest.mark.parametrize(
    ("ini", "flag", "marker", "expected"),
    [
        (None, None, None, "none"),
        ("once", None, None, "once"),
        ("once", "all", None, "all"),
        ("once", "all", "new_episodes", "new_episodes"),
        (None, "rewrite", "none", "none"),
    ],
)
def test_record_mode_marker_beats_flag_beats_ini(
    project: pytest.Pytester, ini: str | None, flag: str | None, marker: str | None, expected: str
) -> None:
    if ini:
        project.makeini(f"[pytest]\nfilterwarnings = error\nwriter_record_mode = {ini}\n")
    mark = f"@pytest.mark.writer_cassette(record_mode={marker!r})" if marker else ""
    write_tests(
        project,
        f"""
        {mark}
        def test_mode(writer_cassette):
            assert writer_cassette.record_mode == {expected!r}
        """,
    )
    project.runpytest(*([f"--writer-record-mode={flag}"] if flag else [])).assert_outcomes(passed=1)


def test_replay_timing_and_upstream_options(project: pytest.Pytester) -> None:
    project.makeini(
        "[pytest]\nfilterwarnings = error\nwriter_replay_timing = recorded\nwriter_upstream = http://ini.invalid\n"
    )
    write_tests(
        project,
        """
        def test_settings(writer_cassette, request):
            expected = request.config.getoption("expected").split(",")
            assert [str(writer_cassette.timing), writer_cassette.upstream] == expected

        @pytest.mark.writer_cassette(timing="fast", upstream="http://marker.invalid")
        def test_marker_wins(writer_cassette):
            assert (writer_cassette.timing, writer_cassette.upstream) == ("fast", "http://marker.invalid")
        """,
    )
    project.makeconftest("def pytest_addoption(parser):\n    parser.addoption('--expected')\n")
    project.runpytest("--expected=recorded,http://ini.invalid").assert_outcomes(passed=2)
    project.runpytest(
        "--writer-replay-timing=0.5",
        "--writer-upstream=http://flag.invalid",
        "--expected=0.5,http://flag.invalid",
    ).assert_outcomes(passed=2)


def test_writer_cassette_config_supplies_every_cassettes_defaults_in_its_scope(
    project: pytest.Pytester,
) -> None:
    project.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="module")
        def writer_cassette_config():
            return {"meta": {"from": "conftest"}, "allow_playback_repeats": True, "record_mode": "once"}
        """
    )
    write_tests(
        project,
        """
        def test_conftest_defaults(writer_cassette):
            assert writer_cassette.meta == {"from": "conftest"}
            assert writer_cassette.allow_playback_repeats is True

        @pytest.mark.writer_cassette(meta={"from": "marker"})
        def test_marker_overrides(writer_cassette):
            assert writer_cassette.meta == {"from": "marker"}
            assert writer_cassette.allow_playback_repeats is True

        def test_the_flag_beats_the_config(writer_cassette, request):
            # the config's "once" unless the command line says otherwise
            assert writer_cassette.record_mode == (request.config.getoption("writer_record_mode") or "once")

        def test_the_server_uses_it_too(writer_server):
            assert writer_server.cassette is None  # no marker: no cassette, whatever the config says
        """,
    )
    project.makepyfile(
        test_module_level="""
        import pytest

        @pytest.fixture(scope="module")
        def writer_cassette_config():
            return {"meta": {"from": "module"}}

        @pytest.mark.writer_cassette(record_mode="none")
        def test_module_overrides_conftest(writer_cassette):
            assert writer_cassette.meta == {"from": "module"}
            assert writer_cassette.allow_playback_repeats is False
        """
    )
    project.runpytest().assert_outcomes(passed=5)
    result = project.runpytest("--writer-record-mode=none", "-k", "flag_beats")
    result.assert_outcomes(passed=1)


def test_writer_cassette_config_typos_fail_naming_the_fixture(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="module")
        def writer_cassette_config():
            return {"record_mod": "once"}
        """
    )
    write_tests(
        project,
        """
        def test_typo(writer_cassette):
            pass
        """,
    )
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "The writer_cassette_config fixture (for test_app.py::test_typo) passed an option Cassette does not "
            "take: 'record_mod' (did you mean 'record_mode'?). The keys of its dict go straight to Cassette(...)*"
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_marker_kwargs_go_straight_to_cassette(project: pytest.Pytester) -> None:
    write_tests(
        project,
        """
        @pytest.mark.writer_cassette(
            "k.yaml", allow_playback_repeats=True, assert_all_played=True, meta={"owner": "qa"}, timing=0.25
        )
        def test_kwargs(writer_cassette):
            assert writer_cassette.allow_playback_repeats is True
            assert writer_cassette.assert_all_played is True
            assert writer_cassette.meta == {"owner": "qa"}
            assert writer_cassette.timing == 0.25
        """,
    )
    project.runpytest().assert_outcomes(passed=1)


def test_redact_patterns_ini_reaches_the_recorded_file(
    project: pytest.Pytester, upstream: FakeWriterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WRITER_API_KEY", "recording-key")  # recording needs a key; no dummy is set
    upstream.reply(HELLO)
    project.makeini("[pytest]\nfilterwarnings = error\nwriter_redact_patterns =\n    acct-\\d+\n")
    write_tests(
        project,
        """
        def test_secret(writer_cassette):
            ask(writerai.Writer(), "my account is acct-12345")
        """,
    )
    project.runpytest("--writer-record-mode=once", f"--writer-upstream={upstream.base_url}").assert_outcomes(
        passed=1
    )
    text = (project.path / "cassettes" / "test_app" / "test_secret.yaml").read_text()
    assert "acct-12345" not in text
    assert "my account is" in text


# --- bad settings read well ---------------------------------------------------------------------------


def test_bad_settings_stop_the_run_naming_the_option(project: pytest.Pytester) -> None:
    write_tests(project, "def test_nothing():\n    pass\n")
    result = project.runpytest("--writer-replay-timing=slow")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--writer-replay-timing / writer_replay_timing='slow' is not understood*"])
    result = project.runpytest("--writer-record-mode=sometimes")
    result.stderr.fnmatch_lines(["*--writer-record-mode: invalid choice: 'sometimes'*"])
    project.makeini("[pytest]\nwriter_record_mode = sometimes\n")
    result = project.runpytest()
    result.stderr.fnmatch_lines(
        ["*writer_record_mode in *tox.ini: record_mode='sometimes' is not a record mode*"]
    )


def test_a_misspelt_marker_keyword_fails_once_suggesting_the_option(project: pytest.Pytester) -> None:
    write_tests(
        project,
        """
        @pytest.mark.writer_cassette("summary.yaml", record_mod="once")
        def test_summary(writer_cassette):
            pass

        @pytest.mark.writer_cassette(speed="fast", record_mode="once")
        def test_unguessable(writer_server):
            pass
        """,
    )
    result = project.runpytest()
    result.assert_outcomes(errors=2)
    out = result.stdout.str()
    valid = (
        "path, record_mode, match_on, ignore_fields, matchers, allow_playback_repeats, redact, "
        "redact_headers, api_key, timing, upstream, base_url, ignore_hosts, meta, assert_all_played, history, "
        "before_record_request, before_record_response"
    )
    # Once in the error report; the short summary may repeat it (untruncated when CI is set).
    report = out.split("short test summary info")[0]
    assert report.count("'record_mod'") == 1
    assert (
        "@pytest.mark.writer_cassette on test_app.py::test_summary passed an option Cassette does not take: "
        "'record_mod' (did you mean 'record_mode'?). The marker's keyword arguments go straight to "
        f"Cassette(...), which takes {valid}; fix the spelling or remove the keyword."
    ) in out
    assert (
        "@pytest.mark.writer_cassette on test_app.py::test_unguessable passed an option Cassette does not take: "
        "'speed'. The marker's"
    ) in out
    assert "During handling" not in out
    assert "Traceback" not in out


def test_unknown_marker_option_names_the_test(project: pytest.Pytester) -> None:
    write_tests(
        project,
        """
        @pytest.mark.writer_cassette(recordmode="once")
        def test_typo(writer_cassette):
            pass
        """,
    )
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.writer_cassette on test_app.py::test_typo passed an option Cassette does not take*"
            "recordmode*",
        ]
    )


# --- failures read well --------------------------------------------------------------------------------


def test_unexpected_request_fails_naming_the_request(project: pytest.Pytester) -> None:
    write_tests(
        project,
        """
        def test_forgot_reply(writer_mock):
            with pytest.raises(writerai.APIStatusError):
                ask(writerai.Writer(), "nobody expects this")
        """,
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)  # the test's own failure, not "passed" plus a teardown error
    out = result.stdout.str()
    report = out.split("_ test_forgot_reply _")[1]
    assert report.split("\n", 2)[1].startswith("UnexpectedRequestError: 1 request had no matching reply")
    assert "UnexpectedRequestError" in out
    assert "nobody expects this" in out
    assert "palmyra-x5" in out


def test_unused_replies_fail_listing_them(project: pytest.Pytester) -> None:
    write_tests(
        project,
        """
        def test_never_calls(writer_mock):
            writer_mock.reply(StreamScript().content("never sent").finish())
        """,
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*UnusedRepliesError: 1 queued reply was never requested:*", "*never sent*", "*Make the requests*"]
    )
    report = result.stdout.str().split("_ test_never_calls _")[1]
    assert report.split("\n", 2)[1].startswith("UnusedRepliesError: 1 queued reply was never requested")
    assert "def writer_mock" not in report, "the verdict shows its message, not the plugin's source"
    assert "ERROR at teardown" not in result.stdout.str()


def test_an_xfail_test_is_one_xfail_not_one_more_at_teardown(project: pytest.Pytester) -> None:
    """A verdict (or an assertion) in an xfail test makes it xfail; teardown does not verify again on top."""
    write_tests(
        project,
        """
        @pytest.mark.xfail(reason="known bug")
        def test_unused_under_xfail(writer_mock):
            writer_mock.reply(StreamScript().content("never sent").finish())

        @pytest.mark.xfail(reason="known bug")
        def test_fails_under_xfail(writer_mock):
            writer_mock.reply(StreamScript().content("never sent").finish())
            assert False, "the known bug"
        """,
    )
    result = project.runpytest("-rxX")
    result.assert_outcomes(xfailed=2)
    result.stdout.no_fnmatch_line("*at teardown*")


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_verdict_fails_the_test_it_belongs_to_once(project: pytest.Pytester, workers: list[str]) -> None:
    write_tests(
        project,
        """
        def test_unused(writer_server):
            writer_server.reply(StreamScript().content("never sent").finish())

        def test_unused_mock(writer_mock):
            writer_mock.reply(StreamScript().content("never sent either").finish())

        def test_fine(writer_mock):
            writer_mock.reply(StreamScript().content("Hi").finish())
            assert ask(writerai.Writer(), "hi")[1] == "Hi"
        """,
    )
    result = project.runpytest(*workers)
    result.assert_outcomes(passed=1, failed=2)  # no errors: each verdict is its own test's failure
    out = result.stdout.str()
    assert "ERROR" not in out
    for name in ("test_unused", "test_unused_mock"):
        report = out.split(f"_ {name} _")[1]
        lines = [
            line for line in report.splitlines()[1:] if not line.startswith("[gw")
        ]  # xdist's worker line
        assert lines[0].startswith("UnusedRepliesError: 1 queued reply was never requested:")
    result.stdout.fnmatch_lines(["FAILED test_app.py::test_unused - UnusedRepliesError: 1 queued reply*"])


def test_cassette_miss_names_the_file_and_the_option(project: pytest.Pytester) -> None:
    cassette = project.path / "cassettes" / "test_app" / "test_miss.yaml"
    record(cassette, ("what was recorded", HELLO))
    write_tests(
        project,
        """
        def test_miss(writer_cassette):
            ask(writerai.Writer(), "what the test sends now")
        """,
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert f"Cassette {cassette} has no unplayed recording that matches" in out
    assert "writer-stream-testkit: writer_cassette saw: CassetteMissError: " in out
    assert out.index("writer_cassette saw:") < out.index("The test failed with:")
    assert '-      "content": "what was recorded",' in out
    assert '+      "content": "what the test sends now",' in out
    assert "--writer-record-mode=new_episodes" in out


def test_the_tests_own_failure_is_not_masked_by_verify(project: pytest.Pytester) -> None:
    write_tests(
        project,
        """
        def test_fails_first(writer_mock):
            writer_mock.reply(StreamScript().content("unused").finish())
            assert 1 + 1 == 3, "the test's own failure"
        """,
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)  # one failure, no teardown error on top
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: the test's own failure*",
            "*writer-stream-testkit: writer_mock also saw*",
            "1 queued reply was never requested:*",
        ]
    )


def test_snapshot_mismatch_shows_a_transcript_diff(project: pytest.Pytester) -> None:
    test = """
        def test_snap(writer_mock, writer_snapshot):
            writer_mock.reply(StreamScript().content(*WORDS).finish())
            events, _ = ask(writerai.Writer(), "hi")
            assert events == writer_snapshot
        """
    write_tests(project, 'WORDS = ["Hel", "lo"]\n' + textwrap.dedent(test))
    project.runpytest("--snapshot-update").assert_outcomes(passed=1)
    stored = project.path / "__snapshots__" / "test_app" / "test_snap.stream.txt"
    assert "content.done           content='Hello'" in stored.read_text()
    write_tests(project, 'WORDS = ["Hel", "p!"]\n' + textwrap.dedent(test))
    result = project.runpytest("-vv")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*-    3  content.delta          delta='lo'  snapshot_len=5",
            "*+    3  content.delta          delta='p!'  snapshot_len=5",
            "*-    5  content.done           content='Hello'",
            "*+    5  content.done           content='Help!'",
        ]
    )


# --- xdist: every file written once, replays write nothing -----------------------------------------------

XDIST_TESTS = """
@pytest.mark.parametrize("n", range(4))
def test_own_cassette(writer_cassette, writer_snapshot, n):
    events, text = ask(writerai.Writer(), f"question {n}")
    assert text == "Hello"
    assert events == writer_snapshot

@pytest.mark.parametrize("n", range(4))
@pytest.mark.writer_cassette("shared.yaml", record_mode=MODE)
def test_shared_cassette(writer_cassette, n):
    events, text = ask(writerai.Writer(), f"shared {n}")
    assert text == "Hello"
"""


def test_xdist_records_each_file_once_and_replays_without_writing(
    project: pytest.Pytester, upstream: FakeWriterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream.reply(HELLO, times=8)
    project.makepyfile(
        test_app=HEADER + "import os\nMODE = os.environ.get('SHARED_MODE', 'none')\n" + XDIST_TESTS
    )
    monkeypatch.setenv("WRITER_API_KEY", "recording-key")
    monkeypatch.setenv("SHARED_MODE", "new_episodes")
    # syrupy 6 (Python 3.10) warns about --snapshot-update under xdist unless its file lock is on.
    lock = ["--snapshot-file-lock"] if int(version("syrupy").split(".")[0]) < 7 else []
    recorded = project.runpytest_subprocess(
        "-n",
        "2",
        "--writer-record-mode=once",
        f"--writer-upstream={upstream.base_url}",
        "--snapshot-update",
        *lock,
    )
    recorded.assert_outcomes(passed=8)
    assert len(upstream.calls) == 8  # and the fixture verifies each queued reply was used once
    monkeypatch.delenv("WRITER_API_KEY")
    monkeypatch.delenv("SHARED_MODE")

    shared = load_cassette(project.path / "cassettes" / "shared.yaml")
    prompts = sorted(i.request.json["messages"][0]["content"] for i in shared.interactions)
    assert prompts == [f"shared {n}" for n in range(4)]  # each recorded exactly once, merged across workers
    own = sorted((project.path / "cassettes" / "test_app").glob("*.yaml"))
    assert [len(load_cassette(p).interactions) for p in own] == [1, 1, 1, 1]
    assert len(list((project.path / "__snapshots__" / "test_app").glob("*.stream.txt"))) == 4

    for p in project.path.rglob(".*.lock"):
        p.unlink()
    written = [project.path / "cassettes", project.path / "__snapshots__"]
    before = [tree(d) for d in written]
    project.runpytest_subprocess("-n", "2").assert_outcomes(passed=8)
    assert [tree(d) for d in written] == before


# --- the example application -------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_example_downstream_app_passes_and_writes_nothing(
    project: pytest.Pytester, workers: list[str]
) -> None:
    app = project.path / "downstream_app"
    shutil.copytree(EXAMPLE, app, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", ".*.lock"))
    before = tree(app)
    result = project.runpytest_subprocess(str(app), "-p", "no:cacheprovider", "--strict-markers", *workers)
    result.assert_outcomes(passed=8)
    assert tree(app) == before
