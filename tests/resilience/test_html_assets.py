"""The page's static parts: every verdict has its colour, the script finds what it asks for, nothing is fetched."""

from __future__ import annotations

import re

from writer_stream_testkit.resilience.html import ABSENT, STYLES, UNKNOWN, render_html
from writer_stream_testkit.resilience.html_assets import CSS, DIALOG, SCRIPT


def test_every_verdict_style_has_a_colour_rule() -> None:
    for style in (*STYLES.values(), UNKNOWN, ABSENT):
        assert re.search(rf"\.{re.escape(style.css)}\b[^{{]*\{{", CSS), style.css


def test_every_element_the_script_looks_up_is_on_the_page() -> None:
    page = render_html({"format": "writer-stream-testkit/resilience", "version": 1, "results": []})
    ids = set(re.findall(r"getElementById\(\"([^\"]+)\"\)", SCRIPT))
    assert {"detail", "detail-title", "detail-body", "detail-close", "grid", "filter"} <= ids
    for name in ids:
        assert f'id="{name}"' in page, name


def test_the_dialog_is_labelled_by_its_title() -> None:
    assert 'aria-labelledby="detail-title"' in DIALOG
    assert 'id="detail-title"' in DIALOG


def test_the_static_parts_load_nothing() -> None:
    for part in (CSS, DIALOG, SCRIPT):
        assert "url(" not in part
        assert "@import" not in part
        assert not re.search(r"https?:|//[a-z]", part)
        assert "fetch(" not in part
        assert "XMLHttpRequest" not in part
