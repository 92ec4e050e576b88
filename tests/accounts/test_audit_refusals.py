"""Issue 12, part 4: the audit log records refused and out-of-scope attempts (who tried what), the residents
each list showed, and reads as words: the audit page shows Chinese action and object names and whose record.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import select, text

from tests.factories import (
    COUNTY,
    VILLAGE_A1,
    VILLAGE_B1,
    make_audit_event,
    make_county,
    make_resident,
    make_user,
    page_login,
    token_headers,
)
from weijian.accounts import audit_chain, audit_words
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent, AuditShown
from weijian.core.actor import Actor
from weijian.core.i18n import catalog

SRC = Path(__file__).resolve().parents[2] / "src" / "weijian"


@pytest.fixture()
def world(session):
    make_county(session)
    doctor = make_user(session, "village_doctor", VILLAGE_A1)
    here = make_resident(session, name="本村甲")
    there = make_resident(session, name="外乡乙", village_code=VILLAGE_B1)
    return doctor, here, there


def _refusals(session, user_id: int) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "refused",
                                                         AuditEvent.user_id == user_id).order_by(AuditEvent.seq)))


def test_an_out_of_scope_read_answers_as_missing_and_the_attempt_is_logged(client, session, world):
    doctor, _, there = world
    headers = token_headers(session, doctor)
    outside = client.get(f"/api/v1/residents/{there.id}", headers=headers)
    missing = client.get("/api/v1/residents/999999", headers=headers)
    assert outside.status_code == missing.status_code == 404
    assert "外乡乙" not in outside.text
    first, second = _refusals(session, doctor.id)
    assert (first.entity_type, first.entity_id, first.resident_id, first.basis) == (
        "route", "GET /api/v1/residents/{resident_id}", there.id, "refused")
    assert second.resident_id == 999999
    detail = AuditEvent.__table__.c.detail
    assert session.scalar(select(detail).where(AuditEvent.id == first.id)).count(f"/api/v1/residents/{there.id}")


def test_a_permission_refusal_is_logged_and_a_refused_write_writes_only_its_log(client, session, world):
    doctor, here, _ = world
    headers = token_headers(session, doctor)
    assert client.get("/api/v1/audit", headers=headers).status_code == 403
    other = make_resident(session, name="本村丙")
    before = session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    answer = client.post(f"/api/v1/residents/{here.id}/merge", headers=headers,
                         json={"merged_id": other.id, "reason": "重复建档"})
    assert answer.status_code == 403  # a village doctor may not merge records
    read_log, write_log = _refusals(session, doctor.id)
    assert read_log.entity_id == "GET /api/v1/audit" and '"status": 403' in read_log.detail
    assert (write_log.entity_id, write_log.resident_id) == ("POST /api/v1/residents/{resident_id}/merge", here.id)
    new = list(session.scalars(select(AuditEvent).where(AuditEvent.seq > before)))
    assert [e.action for e in new] == ["refused"]  # nothing of the refused write itself
    assert session.get(type(other), other.id).status != "merged"


def test_pages_log_refusals_too(client, session, world):
    doctor, _, there = world
    page_login(client, doctor.username)
    assert client.get(f"/residents/{there.id}").status_code == 404
    assert [(e.entity_id, e.resident_id) for e in _refusals(session, doctor.id)] == [
        ("GET /residents/{resident_id:int}", there.id)]


def test_an_anonymous_request_is_not_logged_as_a_refusal(client, session, world):
    _, _, there = world
    count = session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    assert client.get(f"/api/v1/residents/{there.id}").status_code == 401
    assert session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)) == count


def test_a_search_logs_the_residents_it_showed_and_the_log_finds_it_by_resident(client, session, world):
    doctor, here, there = world
    headers = token_headers(session, doctor)
    found = client.get("/api/v1/residents", params={"q": "本村甲"}, headers=headers)
    assert found.status_code == 200 and [r["id"] for r in found.json()["items"]] == [here.id]
    search = session.scalars(select(AuditEvent).where(AuditEvent.user_id == doctor.id,
                                                      AuditEvent.action == "search")).one()
    assert f'"shown": [{here.id}]' in search.detail
    assert session.scalars(select(AuditShown.resident_id).where(AuditShown.seq == search.seq)).all() == [here.id]
    auditor = accounts_service.actor_for(make_user(session, "audit_admin", COUNTY))
    about_here = accounts_service.list_audit(session=session, actor=auditor, resident_id=here.id, page_size=200)
    assert search.id in {e.id for e in about_here.items}
    about_there = accounts_service.list_audit(session=session, actor=auditor, resident_id=there.id, page_size=200)
    assert search.id not in {e.id for e in about_there.items}
    assert audit_chain.verify(session).ok


def test_verify_names_an_index_row_changed_behind_the_log(session, world):
    doctor, here, there = world
    event = make_audit_event(session, action="search", entity_type="resident", basis="own_village",
                             detail=f'{{"shown": [{here.id}]}}')
    assert audit_chain.verify(session).ok
    with pytest.raises(Exception, match="append-only"), session.begin_nested():
        session.execute(text("DELETE FROM audit_shown"))
    # Someone with the database's owner rights drops the trigger and hides who saw the resident.
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("DROP TRIGGER audit_shown_no_delete"))
    else:
        session.execute(text("DROP TRIGGER audit_shown_no_update_delete ON audit_shown"))
    session.execute(text("DELETE FROM audit_shown WHERE seq = :s"), {"s": event.seq})
    session.execute(text("INSERT INTO audit_shown (seq, resident_id) VALUES (:s, :r)"), {"s": event.seq, "r": there.id})
    result = audit_chain.verify(session)
    assert not result.ok and (result.problems[0].kind, result.problems[0].seq) == ("shown", event.seq)


def test_the_audit_page_speaks_chinese_and_names_whose_record(client, session, world):
    doctor, here, there = world
    headers = token_headers(session, doctor)
    client.get(f"/api/v1/residents/{there.id}", headers=headers)  # refused
    client.get(f"/api/v1/residents/{here.id}", headers=headers)  # read
    make_audit_event(session, action="settle", entity_type="poverty_risk", basis="county", entity_id="16513")
    auditor = make_user(session, "audit_admin", COUNTY)
    page_login(client, auditor.username)
    page = client.get("/audit")
    assert page.status_code == 200
    table = page.text.split('data-testid="audit-table"', 1)[1]
    for word in ("拒绝访问", "页面或接口", "无权限或不在管辖范围", "查阅", "居民", "结算", "防返贫监测",
                 "本村甲", "外乡乙"):
        assert word in table, word
    for code in ("refused", "poverty_risk", "settle<", ">read<", "own_village"):
        assert code not in table, code


def test_every_audit_word_has_a_label_in_both_languages():
    for kind in audit_words.PREFIXES:
        codes = audit_words.codes(kind)
        assert codes, kind
        for code in codes:
            assert f"{audit_words.PREFIXES[kind]}.{code}" in catalog("en"), (kind, code)


def test_an_event_with_a_word_outside_the_vocabulary_is_refused(session):
    make_county(session)
    with pytest.raises(audit_words.UnknownAuditWord, match="poverty_rsk"):
        accounts_service.audit(session=session, actor=Actor.system("test"), action="read",
                               entity_type="poverty_rsk", basis="system")


def test_every_literal_audit_word_in_the_source_is_in_the_vocabulary():
    """The runtime check catches what the suite runs; this catches a literal on a path it does not."""
    known = {kind: set(audit_words.codes(kind)) for kind in audit_words.PREFIXES}
    unknown, seen = [], 0
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name not in ("audit", "audit_many"):
                continue
            for kw in node.keywords:
                if kw.arg in known and isinstance(kw.value, ast.Constant):
                    seen += 1
                    if kw.value.value not in known[kw.arg]:
                        unknown.append(f"{path.relative_to(SRC)}:{node.lineno} {kw.arg}={kw.value.value!r}")
    assert seen > 100 and unknown == []
