"""The foundation's browser test: a village doctor logs in, finds a resident of their village, opens the
record, and cannot reach a resident of another village."""
import pytest

pytestmark = pytest.mark.browser


def test_village_doctor_finds_own_resident_and_cannot_reach_another_village(page, live_server):
    base = live_server["base_url"]
    page.goto(f"{base}/residents")
    # Not logged in: sent to the log-in page, which speaks Chinese.
    assert "/login" in page.url
    page.fill("input[name=username]", live_server["username"])
    page.fill("input[name=password]", live_server["password"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/residents*")

    page.fill("[data-testid=resident-search]", "张")
    page.keyboard.press("Enter")
    rows = page.locator("[data-testid=resident-row]")
    rows.first.wait_for()
    texts = rows.all_inner_texts()
    assert any(live_server["own_name"] in t for t in texts)
    assert not any(live_server["other_name"] in t for t in texts)  # scope: another village

    page.click(f"[data-testid=resident-row] a:has-text('{live_server['own_name']}')")
    page.wait_for_url(f"{base}/residents/{live_server['own_id']}")
    assert page.locator("[data-testid=resident-name]").inner_text().strip() == live_server["own_name"]

    response = page.goto(f"{base}/residents/{live_server['other_id']}")
    assert response.status == 404
    assert live_server["other_name"] not in page.content()
