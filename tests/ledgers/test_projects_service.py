"""Practical projects, the service: a project ending before it starts refused naming ends_on; progress above
the target without a note refused naming note (with one, kept); the latest entry up to a day is the figure;
a computed source (`kind:argument`, projects.sources) gives the figure of a project that takes no entry, an
unknown source is refused; the overview counts by category and owner."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.commands import build
from weijian.core.errors import Forbidden, InvalidInput
from weijian.ledgers.projects import queries, service, sources
from weijian.ledgers.projects.models import ProgressEntry, Project
from weijian.ledgers.projects.schemas import MilestoneCreate, ProgressCreate, ProjectCreate


@pytest.fixture()
def bureau(session):
    f.make_county(session)
    return accounts_service.actor_for(f.make_user(session, "bureau_admin", f.COUNTY))


def _project(session, actor, **over):
    today = clock.today()
    values = {"name": "村卫生室规范化建设", "category": "primary_care", "owner": "基层卫生股", "unit": "facility",
              "target": "150", "starts_on": date(today.year, 1, 1).isoformat(),
              "ends_on": date(today.year, 12, 31).isoformat(), **over}
    return service.create(session=session, project_in=build(ProjectCreate, values), actor=actor)


def _fields(exc) -> set[str]:
    return {e.field for e in exc.value.errors}


def test_a_project_ending_before_it_starts_is_refused_and_nothing_written(session, bureau):
    with pytest.raises(InvalidInput) as exc:
        _project(session, bureau, starts_on="2026-06-01", ends_on="2026-05-31")
    assert _fields(exc) == {"ends_on"}
    assert session.scalar(select(func.count(Project.id))) == 0


def test_missing_fields_and_unknown_codes_are_named_at_once(session, bureau):
    with pytest.raises(InvalidInput) as exc:
        service.create(session=session, project_in=build(ProjectCreate, {"category": "x", "unit": "y"}),
                       actor=bureau)
    assert _fields(exc) == {"name", "category", "owner", "unit", "target", "starts_on", "ends_on"}


def test_the_default_tolerance_is_taken_from_the_file(session, bureau):
    assert _project(session, bureau).tolerance == Decimal("0.05")
    assert _project(session, bureau, tolerance="0.1").tolerance == Decimal("0.1")


def test_progress_above_the_target_needs_a_note(session, bureau):
    project = _project(session, bureau)
    with pytest.raises(InvalidInput) as exc:
        service.record_progress(session=session, project_id=project.id,
                                progress_in=build(ProgressCreate, {"done": "151"}), actor=bureau)
    assert _fields(exc) == {"note"}
    assert session.scalar(select(func.count(ProgressEntry.id))) == 0
    service.record_progress(session=session, project_id=project.id, progress_in=build(ProgressCreate, {
        "done": "151", "note": "新增一所村卫生室纳入"}), actor=bureau)
    # Exactly the target needs none.
    service.record_progress(session=session, project_id=project.id, progress_in=build(ProgressCreate, {
        "done": "150"}), actor=bureau)


def test_progress_in_the_future_or_before_the_start_is_refused(session, bureau):
    today = clock.today()
    project = _project(session, bureau, starts_on=(today - timedelta(days=10)).isoformat(),
                       ends_on=(today + timedelta(days=100)).isoformat())
    for day, field in ((today + timedelta(days=1), "as_of"), (today - timedelta(days=11), "as_of")):
        with pytest.raises(InvalidInput) as exc:
            service.record_progress(session=session, project_id=project.id, progress_in=build(ProgressCreate, {
                "done": "1", "as_of": day.isoformat()}), actor=bureau)
        assert _fields(exc) == {field}


def test_the_latest_entry_up_to_the_day_is_the_figure(session, bureau):
    today = clock.today()
    project = _project(session, bureau, starts_on=(today - timedelta(days=99)).isoformat(),
                       ends_on=(today + timedelta(days=100)).isoformat(), target="200")
    for days_ago, done in ((30, "40"), (5, "90")):
        service.record_progress(session=session, project_id=project.id, progress_in=build(ProgressCreate, {
            "done": done, "as_of": (today - timedelta(days=days_ago)).isoformat()}), actor=bureau)
    now = queries.standings(session=session, projects=[project])[0]
    assert now.done == Decimal("90")
    # 100 of 200 days elapsed today: expected 1/2; 90/200 = 0.45 is exactly 0.5 − 0.05: on track (amber).
    assert now.progress is not None and (now.progress.status, now.progress.colour) == ("on_track", "amber")
    earlier = queries.standings(session=session, projects=[project], as_of=today - timedelta(days=10))[0]
    assert earlier.done == Decimal("40")


def test_a_computed_source_gives_the_figure_and_takes_no_entry(session, bureau):
    calls = []

    def standard(*, session, argument, as_of):
        calls.append((argument, as_of))
        return 98

    sources.register_source("teststandard", standard, known=lambda arg: arg == "village_clinic")
    try:
        with pytest.raises(InvalidInput) as exc:
            _project(session, bureau, progress_source="teststandard:nothing")
        assert _fields(exc) == {"progress_source"}
        with pytest.raises(InvalidInput) as exc:
            _project(session, bureau, progress_source="nosuchkind:x")
        assert _fields(exc) == {"progress_source"}
        project = _project(session, bureau, progress_source="teststandard:village_clinic")
        got = queries.standings(session=session, projects=[project])[0]
        assert got.done == Decimal(98) and calls == [("village_clinic", clock.today())]
        with pytest.raises(InvalidInput) as exc:
            service.record_progress(session=session, project_id=project.id,
                                    progress_in=build(ProgressCreate, {"done": "1"}), actor=bureau)
        assert _fields(exc) == {"done"}
    finally:
        sources._SOURCES.pop("teststandard", None)
        sources._CHECKS.pop("teststandard", None)


def test_the_indicator_source_is_wired_and_checks_the_indicator_file(session, bureau):
    assert "indicator" in sources.source_kinds()
    with pytest.raises(InvalidInput) as exc:
        _project(session, bureau, progress_source="indicator:no_such_indicator", unit="percent", target="90")
    assert _fields(exc) == {"progress_source"}
    project = _project(session, bureau, progress_source="indicator:prenatal_screening_rate", unit="percent",
                       target="90")
    assert project.source == "indicator:prenatal_screening_rate"


def test_milestones_fall_within_the_calendar(session, bureau):
    project = _project(session, bureau, starts_on="2026-01-01", ends_on="2026-12-31")
    with pytest.raises(InvalidInput) as exc:
        service.add_milestone(session=session, project_id=project.id, milestone_in=build(MilestoneCreate, {
            "title": "完成一半", "due_on": "2027-01-01", "target_done": "151"}), actor=bureau)
    assert _fields(exc) == {"due_on", "target_done"}
    m = service.add_milestone(session=session, project_id=project.id, milestone_in=build(MilestoneCreate, {
        "title": "完成一半", "due_on": "2026-06-30", "target_done": "75"}), actor=bureau)
    assert queries.milestones(session=session, project_id=project.id) == [m]


def test_the_overview_counts_by_category_and_owner(session, bureau):
    today = clock.today()
    calendar = {"starts_on": (today - timedelta(days=99)).isoformat(),
                "ends_on": (today + timedelta(days=100)).isoformat(), "target": "100"}
    behind = _project(session, bureau, **calendar)
    ahead = _project(session, bureau, owner="医政股", **calendar)
    _project(session, bureau, category="elderly", owner="医政股", **calendar)  # no figure
    for p, done in ((behind, "10"), (ahead, "90")):
        service.record_progress(session=session, project_id=p.id, progress_in=build(ProgressCreate, {"done": done}),
                                actor=bureau)
    rows = queries.standings(session=session, projects=queries.list_projects(session=session))
    by_cat = {g.key: (g.projects, g.behind, g.on_track, g.ahead, g.no_figure) for g in queries.overview(rows, "category")}
    assert by_cat == {"primary_care": (2, 1, 0, 1, 0), "elderly": (1, 0, 0, 0, 1)}
    by_owner = {g.key: (g.projects, g.behind, g.ahead, g.no_figure) for g in queries.overview(rows, "owner")}
    assert by_owner == {"基层卫生股": (1, 1, 0, 0), "医政股": (2, 0, 1, 1)}


def test_a_township_doctor_reads_but_does_not_keep_projects(session, bureau):
    doctor = accounts_service.actor_for(f.make_user(session, "township_doctor", f.TOWN_A))
    assert doctor.can("ledger:read")
    with pytest.raises(Forbidden):
        _project(session, doctor)
