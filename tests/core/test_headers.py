"""Security headers (issue 12, part 6): a CSP allowing scripts and styles from 'self' only, no framing,
nosniff, a same-origin referrer, no caching of answers with personal data; no inline script, style or
handler left in the templates; /api/docs behind log-in and served from /static only."""
from __future__ import annotations

import re
from pathlib import Path

from tests import factories as f

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "weijian" / "templates"


def _assert_secure(response) -> None:
    csp = response.headers["content-security-policy"]
    for part in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
                 "base-uri 'none'", "frame-ancestors 'none'"):
        assert part in csp, part
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] in ("same-origin", "no-referrer", "strict-origin")
    assert response.headers["cache-control"] == "no-store"


def test_a_page_an_api_answer_and_an_error_page_carry_the_security_headers(client, session):
    f.make_county(session)
    user = f.make_user(session, "village_doctor", f.VILLAGE_A1)
    resident = f.make_resident(session, village_code=f.VILLAGE_A1)
    f.page_login(client, user.username)
    page = client.get(f"/residents/{resident.id}")
    assert page.status_code == 200
    _assert_secure(page)
    api = client.get(f"/api/v1/residents/{resident.id}")
    assert api.status_code == 200
    _assert_secure(api)
    missing = client.get("/residents/999999999")
    assert missing.status_code == 404
    _assert_secure(missing)
    api_missing = client.get("/api/v1/residents/999999999")
    assert api_missing.status_code == 404
    _assert_secure(api_missing)
    _assert_secure(client.get("/login"))


def test_static_files_may_be_cached_but_are_nosniff(client):
    response = client.get("/static/app.css")
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers.get("cache-control") != "no-store"


def test_no_template_has_an_inline_script_style_or_handler():
    found = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"<style", r"\sstyle=", r"\son[a-z]+=", r"javascript:"):
            for m in re.finditer(pattern, text):
                found.append(f"{path.relative_to(TEMPLATES)}: {m.group(0)}")
    assert found == []


def test_api_docs_need_a_log_in(client, session):
    assert client.get("/api/docs", follow_redirects=False).status_code in (401, 303)
    assert client.get("/api/openapi.json", follow_redirects=False).status_code in (401, 303)


def test_api_docs_are_served_from_static_only(client, session):
    f.make_county(session)
    user = f.make_user(session, "village_doctor", f.VILLAGE_A1)
    f.page_login(client, user.username)
    page = client.get("/api/docs")
    assert page.status_code == 200
    _assert_secure(page)
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert refs and all(r.startswith("/static/") for r in refs), refs
    for ref in refs:
        assert client.get(ref).status_code == 200, ref
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200 and "/api/v1/residents" in spec.json()["paths"]
