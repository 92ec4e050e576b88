"""Facility standardisation, the service: an assessment answers every item of the standard's checklist
(data/standards.yaml) once, for a facility in the user's scope of a type the standard applies to; a facility
meets the standard when every required item of its latest assessment (as of the day) passed — a recommended
item failed does not stop it; `progress` gives "N of M facilities meet standard S as of D"."""
from __future__ import annotations

from datetime import date

import pytest

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.core.commands import build
from weijian.core.errors import InvalidInput
from weijian.ledgers.standards import service
from weijian.ledgers.standards.rules import DATA_FILE, rules
from weijian.ledgers.standards.schemas import AssessmentCreate

TODAY = date(2026, 12, 8)


@pytest.fixture()
def world(session):
    f.make_county(session)
    fac = f.make_care_facilities(session)
    town = accounts_service.actor_for(f.make_user(session, "township_doctor", f.TOWN_A))
    bureau = accounts_service.actor_for(f.make_user(session, "bureau_admin", f.COUNTY))
    return fac, town, bureau


def _assess(session, actor, facility, on, failed=(), standard="village_clinic", **over):
    std = rules().standards[standard]
    values = {"facility_id": facility.id, "standard": standard, "assessed_on": on.isoformat(), "assessor": "张评估",
              "results": [{"item": i.code, "passed": i.code not in failed} for i in std.items], **over}
    return service.record_assessment(session=session, assessment_in=build(AssessmentCreate, values), actor=actor,
                                     today=TODAY)


def _fields(exc) -> dict[str, str]:
    return {e.field: e.reason_key.rsplit(".", 1)[-1] for e in exc.value.errors}


def test_a_required_item_failed_fails_the_standard_a_recommended_one_does_not(session, world):
    fac, town, _ = world
    assert rules().standards["village_clinic"].item("signage").required is False
    assert _assess(session, town, fac["clinic_a1"], date(2026, 5, 1), failed=("signage",)).meets
    a = _assess(session, town, fac["clinic_a2"], date(2026, 5, 1), failed=("four_rooms",))
    assert not a.meets and service.failed_required(a) == ["four_rooms"]


def test_progress_counts_the_latest_assessment_as_of_the_day(session, world):
    fac, town, bureau = world
    _assess(session, town, fac["clinic_a1"], date(2026, 3, 1), failed=("staff",))
    _assess(session, town, fac["clinic_a1"], date(2026, 9, 1))
    _assess(session, bureau, fac["clinic_b1"], date(2026, 6, 1))
    p = service.progress(session=session, standard="village_clinic", as_of=date(2026, 6, 30))
    assert (p.met, p.total) == (1, 3)  # A1 still failed then, A2 never assessed, B1 met
    p = service.progress(session=session, standard="village_clinic", as_of=date(2026, 9, 1))
    assert (p.met, p.total, p.share) == (2, 3, 0.6667)
    town_a = service.progress(session=session, standard="village_clinic", as_of=TODAY, orgunit_code=f.TOWN_A)
    assert (town_a.met, town_a.total) == (1, 2)
    township = service.progress(session=session, standard="township_quality", as_of=TODAY)
    assert (township.met, township.total) == (0, 2)


def test_an_assessment_names_every_bad_field_and_writes_nothing(session, world):
    fac, town, _ = world
    std = rules().standards["village_clinic"]
    results = [{"item": i.code, "passed": True} for i in std.items[1:]] + [{"item": "rooms", "passed": True},
                                                                           {"item": "drugs", "passed": True}]
    with pytest.raises(InvalidInput) as exc:
        _assess(session, town, fac["clinic_a1"], date(2027, 1, 1), results=results, assessor=None)
    got = _fields(exc)
    assert got == {"assessor": "missing", "assessed_on": "in_future", f"results.{len(std.items) - 1}.item": "item_unknown",
                   f"results.{len(std.items)}.item": "item_twice", "results": "items_unanswered"}
    assert "floor_space" in exc.value.errors[-1].params["items"]
    with pytest.raises(InvalidInput) as exc:
        _assess(session, town, fac["town_a"], date(2026, 1, 1))  # a township centre, the village standard
    assert _fields(exc) == {"facility_id": "facility_type"}
    with pytest.raises(InvalidInput) as exc:
        _assess(session, town, fac["clinic_b1"], date(2026, 1, 1))  # another township's clinic
    assert _fields(exc) == {"facility_id": "facility_not_found"}
    assert service.progress(session=session, standard="village_clinic", as_of=TODAY).met == 0


def test_every_standard_names_its_source_and_has_required_items():
    text = DATA_FILE.read_text(encoding="utf-8")
    assert "乡镇卫生院服务能力标准" in text and "村卫生室管理办法" in text and "VERIFY" in text
    for std in rules().standards.values():
        assert std.required


def test_a_project_computed_from_the_checklists_counts_the_facilities_meeting_the_standard(session, world):
    """A practical project "N village clinics standardised" with source `standard:village_clinic` (wired in the
    composition root): its figure done on a day is the number of facilities meeting the standard then."""
    from weijian.ledgers.projects import sources
    fac, town, bureau = world
    _assess(session, town, fac["clinic_a1"], date(2026, 3, 1))
    _assess(session, bureau, fac["clinic_b1"], date(2026, 6, 1), failed=("four_rooms",))
    assert "standard" in sources.source_kinds()
    sources.check("standard:village_clinic")
    with pytest.raises(InvalidInput):
        sources.check("standard:no_such_standard")
    assert sources.done(session=session, source="standard:village_clinic", as_of=date(2026, 2, 1)) == 0
    assert sources.done(session=session, source="standard:village_clinic", as_of=date(2026, 6, 30)) == 1
