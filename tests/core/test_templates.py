"""The templates share one way of doing the things every page does (issue 13, part 6)."""
from __future__ import annotations

import re
from pathlib import Path

from weijian.core.web import TEMPLATE_DIR

TEMPLATES = sorted(Path(TEMPLATE_DIR).rglob("*.html"))
_POST_FORM = re.compile(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", re.S | re.I)


def test_every_posting_form_carries_the_one_csrf_field() -> None:
    assert TEMPLATES
    missing = []
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        assert 'name="csrf_token"' not in text, f"{path.name}: write {{{{ csrf_field() }}}}, not the input"
        missing += [path.name for body in _POST_FORM.findall(text) if "csrf_field()" not in body]
    assert missing == []


def test_no_inline_styles() -> None:
    """Styles live in static/app.css, where a county's theme or a print sheet can change them."""
    offenders = [p.name for p in TEMPLATES if re.search(r"\bstyle=\"|<style\b", p.read_text(encoding="utf-8"))]
    assert offenders == []
