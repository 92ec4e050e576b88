"""The review of each flagged person (issue 15 item 8): a status — 待核查 (to_check, the default), 已帮扶 (helped),
已关闭 (closed) — with who, when and a note, audited with the status before, set by poverty_risk:review holders
for residents in their scope; the page's filters by category and status, its review form (a refusal re-shown
beside the field, input kept, nothing stored) and the workbook (identity numbers masked, formulas escaped)."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests import factories as f
from tests.care import records_setup as rs
from weijian.accounts.models import AuditEvent
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import Forbidden, InvalidInput, NotFound
from weijian.core.identifiers import mask_id_number
from weijian.settlement.models import PovertyRiskReview
from weijian.settlement.monitoring import queries as monitoring
from weijian.settlement.monitoring import rules as monitoring_rules
from weijian.settlement.monitoring import service as review_service
from weijian.settlement.monitoring.schemas import ReviewIn

D = Decimal
AS_OF = "2025-12-31"
RULES = monitoring_rules.parse_rules({"groups": ["extreme_poverty", "min_living", "poverty_relapse",
                                                 "lifted_from_poverty", "monitored"],
                                      "ordinary": {"income_share": 0.5, "rural_income": {2024: 19000}}})


@pytest.fixture()
def world(session, monkeypatch):
    """甲低保 own 12,000 (monitored, above ¥10,000); 乙普通 own 9,800 (ordinary, above 50 % × 19,000 = 9,500)."""
    w = rs.build(session)
    monkeypatch.setattr(monitoring, "monitoring_rules", lambda: RULES)
    poor = f.make_resident(session, name="甲低保", groups=["低保"])
    plain = f.make_resident(session, name="乙普通")
    f.make_settlement(session, poor, w.facilities["county"], stay_date=date(2025, 5, 1), total="60000.00",
                      basic_pays="48000.00")
    f.make_settlement(session, plain, w.facilities["county"], stay_date=date(2025, 6, 1), total="49000.00",
                      basic_pays="39200.00")
    w.people.update(poor=poor, plain=plain)
    return w


def review(session, actor, resident, status: str, note: str | None = None):
    return review_service.set_status(session=session, actor=actor, review_in=build(
        ReviewIn, {"resident_id": resident.id, "status": status, "note": note}))


def listed(session, world, **kw) -> list[tuple[str, str]]:
    result = monitoring.at_risk(session=session, actor=world.actors["bureau"], threshold=D("10000"),
                                income_share=D("0.5"), as_of=date(2025, 12, 31), **kw)
    return [(a.name, a.status) for a in result.items]


def test_a_person_is_to_check_until_reviewed_and_each_change_is_audited_with_the_status_before(session, world):
    bureau = world.actors["bureau"]
    assert listed(session, world) == [("甲低保", "to_check"), ("乙普通", "to_check")]
    review(session, bureau, world.people["plain"], "helped", "已纳入医疗救助，乡镇已走访")
    row = review(session, bureau, world.people["plain"], "closed", "家庭收入恢复，风险消除")
    assert (row.status, row.note, row.updated_by) == ("closed", "家庭收入恢复，风险消除", world.users["bureau"].username)
    assert session.scalar(select(func.count()).select_from(PovertyRiskReview)) == 1
    result = monitoring.at_risk(session=session, actor=bureau, threshold=D("10000"), income_share=D("0.5"),
                                as_of=date(2025, 12, 31), status="closed")
    assert [(a.name, a.status, a.status_note, a.status_by) for a in result.items] == [
        ("乙普通", "closed", "家庭收入恢复，风险消除", world.users["bureau"].username)]
    assert result.items[0].status_at is not None
    assert listed(session, world, status="to_check") == [("甲低保", "to_check")]
    events = list(session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "poverty_risk",
                                                           AuditEvent.action.in_(("create", "update")))
                                  .order_by(AuditEvent.id)))
    assert [(e.action, e.resident_id) for e in events] == [("create", world.people["plain"].id),
                                                           ("update", world.people["plain"].id)]
    assert '"before": {"status": "helped"' in events[1].detail


@pytest.mark.parametrize(("status", "note", "field", "key"), [
    ("helped", None, "note", "settlement.monitoring.errors.note_required"),
    ("closed", "  ", "note", "settlement.monitoring.errors.note_required"),
    ("done", "x", "status", "settlement.monitoring.errors.status"),
    ("to_check", "长" * 501, "note", "settlement.monitoring.errors.note_too_long"),
])
def test_a_bad_review_is_refused_naming_the_field_and_nothing_is_stored(session, world, status, note, field, key):
    with pytest.raises(InvalidInput) as caught:
        review(session, world.actors["bureau"], world.people["poor"], status, note)
    assert [(e.field, e.reason_key) for e in caught.value.errors] == [(field, key)]
    assert session.scalar(select(func.count()).select_from(PovertyRiskReview)) == 0


def test_only_reviewers_set_a_status_and_only_in_their_scope(session, world):
    for who in ("village", "township", "county"):
        with pytest.raises(Forbidden):
            review(session, world.actors[who], world.people["poor"], "to_check")
    town_b = Actor(user_id=None, username="tb", role="x", scope_code=f.TOWN_B,
                   permissions=frozenset({"poverty_risk:read", "poverty_risk:review"}))
    with pytest.raises(NotFound):  # 甲 lives in town A: as a missing resident
        review(session, town_b, world.people["poor"], "helped", "x")
    assert session.scalar(select(func.count()).select_from(PovertyRiskReview)) == 0


def test_the_api_sets_a_status_and_the_list_shows_it(client, session, world):
    headers = f.token_headers(session, world.users["bureau"])
    bad = client.put(f"/api/v1/settlement/poverty-risk/{world.people['poor'].id}/review", json={"status": "helped"},
                     headers=headers)
    assert bad.status_code == 422 and "须填写说明" in bad.text
    ok = client.put(f"/api/v1/settlement/poverty-risk/{world.people['poor'].id}/review",
                    json={"status": "helped", "note": "已落实倾斜救助"}, headers=headers)
    assert ok.status_code == 200, ok.text
    assert (ok.json()["status"], ok.json()["note"]) == ("helped", "已落实倾斜救助")
    body = client.get("/api/v1/settlement/poverty-risk", params={"as_of": AS_OF, "status": "helped"},
                      headers=headers).json()
    assert [(i["name"], i["status"], i["category"]) for i in body["items"]] == [("甲低保", "helped", "monitored")]
    assert (body["ordinary_threshold"], body["income_year"]) == ("9500.00", 2024)
    ordinary = client.get("/api/v1/settlement/poverty-risk", params={"as_of": AS_OF, "category": "ordinary"},
                          headers=headers).json()
    assert [i["name"] for i in ordinary["items"]] == ["乙普通"]
    assert client.get("/api/v1/settlement/poverty-risk", params={"category": "x"}, headers=headers).status_code == 422


def test_the_page_filters_and_its_review_form(client, session, world):
    f.page_login(client, world.users["bureau"].username)
    page = client.get("/settlement/poverty-risk", params={"as_of": AS_OF, "category": "ordinary"})
    assert page.status_code == 200, page.text
    assert page.text.count('data-testid="risk-row"') == 1 and "乙普通" in page.text and "其他居民" in page.text
    assert "2024 年农村居民人均可支配收入的 50%，即 ¥9,500.00" in page.text
    token = f.csrf_from(page.text)
    url = f"/settlement/poverty-risk/{world.people['plain'].id}/review"
    form = {"csrf_token": token, "f_as_of": AS_OF, "f_category": "ordinary", "f_page": "1"}
    bad = client.post(url, data={**form, "status": "closed", "note": ""})
    assert bad.status_code == 422 and 'data-testid="error-note">标记为已帮扶或已关闭时须填写说明<' in bad.text
    assert '<option value="closed" selected' in bad.text
    assert session.scalar(select(func.count()).select_from(PovertyRiskReview)) == 0
    ok = client.post(url, data={**form, "status": "closed", "note": "已核实，风险消除"}, follow_redirects=False)
    assert ok.status_code == 303 and "category=ordinary" in ok.headers["location"]
    shown = client.get(ok.headers["location"]).text
    assert 'data-testid="risk-saved"' in shown and 'data-status="closed"' in shown and "已核实，风险消除" in shown
    assert client.get("/settlement/poverty-risk", params={"status": "nope"}).status_code == 422


def test_the_workbook_lists_the_filtered_people_masked_with_formulas_escaped(client, session, world):
    review(session, world.actors["bureau"], world.people["poor"], "helped", '=HYPERLINK("http://x","点")')
    f.page_login(client, world.users["bureau"].username)
    res = client.get("/settlement/poverty-risk/export.xlsx", params={"as_of": AS_OF})
    assert res.status_code == 200 and res.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(res.content)).active
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert rows[0][:4] == ["姓名", "身份证号", "村", "类别"] and rows[0][13] == "核查状态"
    assert [(r[0], r[1], r[3], r[10], r[13]) for r in rows[1:]] == [
        ("甲低保", mask_id_number(world.people["poor"].id_number), "监测人群", 12000.0, "已帮扶"),
        ("乙普通", mask_id_number(world.people["plain"].id_number), "其他居民", 9800.0, "待核查")]
    assert rows[1][14] == "'" + '=HYPERLINK("http://x","点")'
    exported = session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == "poverty_risk", AuditEvent.action == "export"))
    assert exported == 2
