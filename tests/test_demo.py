"""The demo (``python3 tasks.py demo``) run in-process: every section says what the README promises.

Its waits are the demo's own (a 0.2 s Retry-After honoured, and 20 ms between socket chunks);
it needs no network beyond this machine.
"""

from __future__ import annotations

import re

import pytest

from writer_stream_testkit import demo


def test_the_demo_runs_every_section_and_each_says_it_worked(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main() == 0
    out = capsys.readouterr().out
    titles = re.findall(r"^== (\d)\. ", out, flags=re.MULTILINE)
    assert titles == ["1", "2", "3", "4"]
    assert "Let me check the weather for you." in out  # the transcript of section 1
    assert "get_weather" in out
    assert "contract check: passed; event order: as expected" in out
    assert "the request the app sent: model='palmyra-x5'" in out
    assert re.search(r"the official SDK \(writerai\) saw \d+ events; identical to ours: True", out)
    assert "stream broke after 3 content deltas ['The forecast', ' is', ' sunny']" in out
    retried = re.search(r"requests made: 2 \(the 429 was retried after (\d+\.\d\d) s", out)
    assert retried is not None
    assert float(retried.group(1)) >= 0.2
    assert re.search(r"serving on http://127\.0\.0\.1:\d+", out)
    chunks = re.findall(r"^  \+ *\d+\.\d ms +\d+ bytes  (.*)$", out, flags=re.MULTILINE)
    assert "".join(chunks).count("data: ") == 7  # five content chunks, the finish chunk and [DONE]
    assert re.search(r"recorded weather\.yaml: \d+ lines, API key on disk: False", out)
    assert re.search(r"replayed \d+ events offline; identical to the recording: True", out)
