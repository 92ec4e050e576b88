"""The hazard ledger, the service: the four to's required and named at once; a deadline before the inspection
day, a photo over the size limit or not an image (read from its bytes) refused naming the field with nothing
written; rectification then verification (accepted closes on the rectification's day, sent back reopens,
its reporter may not verify it); overdue computed from the county clock and escalated by facility and
responsible leader; the three ledgers as views of the same rows; the scope of a problem (its facility)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.commands import build
from weijian.core.errors import InvalidInput, InvalidState, NotFound
from weijian.ledgers.hazards import queries, service
from weijian.ledgers.hazards.models import Photo, Problem
from weijian.ledgers.hazards.rules import image_type, rules
from weijian.ledgers.hazards.schemas import (
    InspectionCreate,
    ProblemCreate,
    RectificationCreate,
    VerificationCreate,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture()
def world(session):
    f.make_county(session)
    fac = f.make_care_facilities(session)
    bureau = accounts_service.actor_for(f.make_user(session, "bureau_admin", f.COUNTY))
    inspector = accounts_service.actor_for(f.make_user(session, "bureau_admin", f.COUNTY))
    town_a = accounts_service.actor_for(f.make_user(session, "township_doctor", f.TOWN_A,
                                                    facility_id=fac["town_a"].id))
    return {"fac": fac, "bureau": bureau, "inspector": inspector, "town_a": town_a}


def _inspection(session, actor, facility, days_ago=10, category="fire"):
    day = clock.today() - timedelta(days=days_ago)
    return service.create_inspection(session=session, inspection_in=build(InspectionCreate, {
        "facility_id": facility.id, "category": category, "inspected_on": day.isoformat(), "inspector": "李检查"}),
        actor=actor)


def _problem(session, actor, inspection, deadline, **over):
    values = {"location": "门诊楼二楼", "description": "安全出口堵塞", "severity": "general",
              "responsible_person": "王责任", "responsible_leader": "张院长", "deadline": deadline.isoformat(),
              "standard": "疏散通道畅通，无杂物", **over}
    return service.add_problem(session=session, inspection_id=inspection.id, problem_in=build(ProblemCreate, values),
                               actor=actor)


def _fields(exc) -> set[str]:
    return {e.field for e in exc.value.errors}


def test_the_four_tos_are_required_and_named_at_once(session, world):
    inspection = _inspection(session, world["bureau"], world["fac"]["town_a"])
    with pytest.raises(InvalidInput) as exc:
        service.add_problem(session=session, inspection_id=inspection.id, problem_in=build(ProblemCreate, {}),
                            actor=world["bureau"])
    assert _fields(exc) == {"location", "description", "severity", "responsible_person", "responsible_leader",
                            "deadline", "standard"}


def test_a_deadline_before_the_inspection_day_is_refused_naming_the_deadline(session, world):
    inspection = _inspection(session, world["bureau"], world["fac"]["town_a"], days_ago=10)
    with pytest.raises(InvalidInput) as exc:
        _problem(session, world["bureau"], inspection, inspection.inspected_on - timedelta(days=1))
    assert _fields(exc) == {"deadline"}
    assert session.scalar(select(func.count(Problem.id))) == 0
    # The inspection day itself is a valid deadline.
    assert _problem(session, world["bureau"], inspection, inspection.inspected_on).status == "open"


def test_an_unknown_category_or_a_future_inspection_is_refused(session, world):
    with pytest.raises(InvalidInput) as exc:
        service.create_inspection(session=session, inspection_in=build(InspectionCreate, {
            "facility_id": world["fac"]["town_a"].id, "category": "ghosts",
            "inspected_on": (clock.today() + timedelta(days=1)).isoformat()}), actor=world["bureau"])
    assert _fields(exc) == {"category", "inspected_on"}


def test_an_image_is_known_by_its_bytes_not_its_name():
    assert image_type(PNG) == ("image/png", "png")
    assert image_type(JPEG) == ("image/jpeg", "jpg")
    assert image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == ("image/webp", "webp")
    assert image_type(b"%PDF-1.7 pretending.jpg") is None
    assert image_type(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None


def test_a_photo_not_an_image_or_over_the_limit_is_refused_and_nothing_is_written(session, world, tmp_path):
    inspection = _inspection(session, world["bureau"], world["fac"]["town_a"])
    values = {"location": "配电房", "description": "线路老化", "severity": "major", "responsible_person": "王",
              "responsible_leader": "张", "deadline": clock.today().isoformat(), "standard": "更换线路"}
    too_big = b"\xff\xd8\xff" + b"\x00" * rules().photo_max_bytes  # one byte over the limit
    for content in (b"MZ\x90\x00 an executable named photo.jpg", too_big):
        with pytest.raises(InvalidInput) as exc:
            service.add_problem(session=session, inspection_id=inspection.id,
                                problem_in=build(ProblemCreate, values), actor=world["bureau"],
                                photos=[service.Upload(content, "photo.jpg")], store=tmp_path)
        assert _fields(exc) == {"photos"}
    assert session.scalar(select(func.count(Problem.id))) == 0
    assert list(tmp_path.iterdir()) == []
    problem = service.add_problem(session=session, inspection_id=inspection.id,
                                  problem_in=build(ProblemCreate, values), actor=world["bureau"],
                                  photos=[service.Upload(PNG, "a.png")], store=tmp_path)
    photo = session.scalars(select(Photo).where(Photo.problem_id == problem.id)).one()
    assert (photo.content_type, photo.size, photo.stage) == ("image/png", len(PNG), "problem")
    assert service.photo_path(tmp_path, photo).read_bytes() == PNG


def test_rectify_then_verify_closes_on_the_rectification_day(session, world, tmp_path):
    inspection = _inspection(session, world["bureau"], world["fac"]["town_a"])
    problem = _problem(session, world["bureau"], inspection, clock.today() + timedelta(days=5))
    done = clock.today() - timedelta(days=1)
    service.rectify(session=session, problem_id=problem.id, rectification_in=build(RectificationCreate, {
        "done_on": done.isoformat(), "measures": "清理杂物，设置警示"}), actor=world["town_a"],
        evidence=[service.Upload(JPEG, "after.jpg")], store=tmp_path)
    assert problem.status == "submitted"
    with pytest.raises(InvalidState):  # one rectification awaits verification: not a second
        service.rectify(session=session, problem_id=problem.id, rectification_in=build(RectificationCreate, {
            "done_on": done.isoformat(), "measures": "again"}), actor=world["town_a"])
    service.verify(session=session, problem_id=problem.id,
                   verification_in=build(VerificationCreate, {"verdict": "accepted"}), actor=world["inspector"])
    assert (problem.status, problem.closed_on) == ("closed", done)
    evidence = session.scalars(select(Photo).where(Photo.problem_id == problem.id)).one()
    assert evidence.stage == "evidence" and evidence.rectification_id is not None


def test_a_rectification_verified_by_its_own_reporter_is_refused(session, world):
    inspection = _inspection(session, world["bureau"], world["fac"]["town_a"])
    problem = _problem(session, world["bureau"], inspection, clock.today())
    service.rectify(session=session, problem_id=problem.id, rectification_in=build(RectificationCreate, {
        "done_on": clock.today().isoformat(), "measures": "已整改"}), actor=world["bureau"])
    with pytest.raises(InvalidInput) as exc:
        service.verify(session=session, problem_id=problem.id,
                       verification_in=build(VerificationCreate, {"verdict": "accepted"}), actor=world["bureau"])
    assert _fields(exc) == {"verdict"}
    assert exc.value.errors[0].reason_key == "ledgers.hazards.errors.own_rectification"
    assert problem.status == "submitted"


def test_sent_back_needs_a_note_and_reopens_the_problem(session, world):
    inspection = _inspection(session, world["bureau"], world["fac"]["town_a"])
    problem = _problem(session, world["bureau"], inspection, clock.today())
    service.rectify(session=session, problem_id=problem.id, rectification_in=build(RectificationCreate, {
        "done_on": clock.today().isoformat(), "measures": "贴了张纸"}), actor=world["town_a"])
    with pytest.raises(InvalidInput) as exc:
        service.verify(session=session, problem_id=problem.id,
                       verification_in=build(VerificationCreate, {"verdict": "sent_back"}), actor=world["inspector"])
    assert _fields(exc) == {"note"}
    service.verify(session=session, problem_id=problem.id, verification_in=build(VerificationCreate, {
        "verdict": "sent_back", "note": "未达到整改标准"}), actor=world["inspector"])
    assert problem.status == "open" and problem.closed_on is None


def test_overdue_problems_escalate_by_facility_and_leader(session, world):
    """Overdue = not closed and the deadline before today (the county's); the deadline day is still in time; a
    closed problem is never overdue. The bureau's list groups by facility and responsible leader."""
    today = clock.today()
    a = _inspection(session, world["bureau"], world["fac"]["town_a"], days_ago=30)
    b = _inspection(session, world["bureau"], world["fac"]["town_b"], days_ago=30)
    p1 = _problem(session, world["bureau"], a, today - timedelta(days=7), responsible_leader="张院长")
    p2 = _problem(session, world["bureau"], a, today - timedelta(days=2), responsible_leader="张院长")
    p3 = _problem(session, world["bureau"], a, today - timedelta(days=1), responsible_leader="李副院长")
    _problem(session, world["bureau"], a, today, responsible_leader="张院长")  # due today: in time
    p5 = _problem(session, world["bureau"], b, today - timedelta(days=20), responsible_leader="赵院长")
    closed = _problem(session, world["bureau"], b, today - timedelta(days=9), responsible_leader="赵院长")
    service.rectify(session=session, problem_id=closed.id, rectification_in=build(RectificationCreate, {
        "done_on": (today - timedelta(days=3)).isoformat(), "measures": "done"}), actor=world["bureau"])
    service.verify(session=session, problem_id=closed.id,
                   verification_in=build(VerificationCreate, {"verdict": "accepted"}), actor=world["inspector"])
    got = [(e.facility_name, e.responsible_leader, e.overdue, e.most_days_overdue, sorted(e.problem_ids))
           for e in queries.escalations(session=session, actor=world["bureau"])]
    assert got == [("南河镇卫生院", "赵院长", 1, 20, [p5.id]), ("温泉镇卫生院", "张院长", 2, 7, sorted([p1.id, p2.id])),
                   ("温泉镇卫生院", "李副院长", 1, 1, [p3.id])]
    # The township doctor of 温泉镇 sees only its own.
    mine = queries.escalations(session=session, actor=world["town_a"])
    assert {e.facility_name for e in mine} == {"温泉镇卫生院"}
    # The completion ledger: the closed problem, closed 6 days late (its rectification day after the deadline).
    completion = queries.ledger(session=session, actor=world["bureau"], view="completion")
    assert [r.problem.id for r in completion] == [closed.id] and completion[0].on_time is False


def test_the_three_ledgers_are_views_of_the_same_problems(session, world):
    inspection = _inspection(session, world["bureau"], world["fac"]["town_a"])
    first = _problem(session, world["bureau"], inspection, clock.today(), responsible_person="乙", responsible_leader="B")
    second = _problem(session, world["bureau"], inspection, clock.today(), responsible_person="甲",
                      responsible_leader="A")
    problems = queries.ledger(session=session, actor=world["bureau"], view="problems")
    persons = queries.ledger(session=session, actor=world["bureau"], view="persons")
    assert [r.problem.id for r in problems] == [first.id, second.id]
    assert [r.problem.id for r in persons] == [second.id, first.id]  # by leader, then person
    assert queries.ledger(session=session, actor=world["bureau"], view="completion") == []
    with pytest.raises(InvalidInput) as exc:
        queries.ledger(session=session, actor=world["bureau"], view="everything")
    assert _fields(exc) == {"view"}


def test_a_problem_outside_the_scope_answers_as_missing(session, world):
    inspection = _inspection(session, world["bureau"], world["fac"]["town_b"])
    problem = _problem(session, world["bureau"], inspection, clock.today())
    with pytest.raises(NotFound):
        queries.get_problem(session=session, problem_id=problem.id, actor=world["town_a"])
    with pytest.raises(InvalidInput) as exc:  # nor may it record an inspection there
        service.create_inspection(session=session, inspection_in=build(InspectionCreate, {
            "facility_id": world["fac"]["town_b"].id, "category": "fire",
            "inspected_on": clock.today().isoformat()}), actor=world["town_a"])
    assert _fields(exc) == {"facility_id"}
