"""Health education's writes and reads: an activity recorded (a future date, an audience below 0, an unknown
kind, a facility out of scope refused naming the field), photos checked by their bytes (size, format, a real
image) and stored, the completion table per facility against the minimums and the calendar, the CLI."""
from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests import factories as f
from weijian.accounts.models import AuditEvent
from weijian.care.education import cli as education_cli
from weijian.care.education import rules, service
from weijian.care.education.models import EducationActivity, EducationPhoto
from weijian.care.education.schemas import ActivityCreate
from weijian.core import clock
from weijian.core.commands import build
from weijian.core.errors import InvalidInput, NotFound

TODAY = date(2026, 12, 8)


@pytest.fixture()
def fac(session):
    f.make_county(session)
    return f.make_care_facilities(session)


@pytest.fixture()
def village(session, fac):
    return f.make_clinician(session, fac["clinic_a1"])[1]


@pytest.fixture()
def township(session, fac):
    return f.make_clinician(session, fac["town_a"])[1]


def refused(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {e.field: e.reason_key.rsplit(".", 1)[-1] for e in exc.value.errors}


def record(session, actor, today=TODAY, **over):
    values = {"kind": "lecture", "date": (today - timedelta(days=1)).isoformat(), "topic": "高血压防治",
              "place": "村委会", "audience": 30, **over}
    return service.record_activity(session=session, activity_in=build(ActivityCreate, values), actor=actor,
                                   today=today)


def image(fmt: str = "PNG", size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format=fmt)
    return buf.getvalue()


def test_an_activity_is_recorded_at_the_actors_facility_and_audited(session, fac, village):
    a = record(session, village)
    assert a.facility_id == fac["clinic_a1"].id and a.kind == "lecture" and a.audience == 30
    events = session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == "education_activity", AuditEvent.entity_id == str(a.id)))
    assert events == 1


def test_a_future_date_is_refused_naming_the_field(session, village):
    with pytest.raises(InvalidInput) as exc:
        record(session, village, date=(TODAY + timedelta(days=1)).isoformat())
    assert refused(exc) == {"date": "date_future"}
    assert session.scalar(select(func.count()).select_from(EducationActivity)) == 0


def test_an_audience_below_zero_is_refused_naming_the_field(session, village):
    with pytest.raises(InvalidInput) as exc:
        record(session, village, audience=-1)
    assert "audience" in refused(exc)


def test_an_unknown_kind_and_a_facility_out_of_scope_are_refused(session, fac, village):
    with pytest.raises(InvalidInput) as exc:
        record(session, village, kind="party", facility_id=fac["clinic_b1"].id)
    assert refused(exc) == {"kind": "kind_unknown", "facility_id": "facility_not_found"}


def test_a_township_doctor_records_for_a_village_clinic_of_the_township(session, fac, township):
    a = record(session, township, facility_id=fac["clinic_a2"].id)
    assert a.facility_id == fac["clinic_a2"].id


def test_a_png_and_a_jpeg_are_stored_under_the_media_folder(session, village, tmp_path):
    a = record(session, village)
    p1 = service.add_photo(session=session, activity_id=a.id, data=image("PNG"), filename="讲座.png", actor=village,
                           media_dir=tmp_path)
    p2 = service.add_photo(session=session, activity_id=a.id, data=image("JPEG"), filename="b.jpg", actor=village,
                           media_dir=tmp_path)
    assert (p1.content_type, p1.width, p1.height) == ("image/png", 64, 48)
    assert p2.content_type == "image/jpeg"
    path, ctype = service.photo_file(session=session, actor=village, photo_id=p1.id, media_dir=tmp_path)
    assert ctype == "image/png" and path.read_bytes() == image("PNG")
    assert path.parent == tmp_path / "education"


def test_a_photo_over_the_size_limit_is_refused(session, village, tmp_path):
    a = record(session, village)
    too_big = image("PNG") + b"\0" * rules.rules().photo_max_bytes
    with pytest.raises(InvalidInput) as exc:
        service.add_photo(session=session, activity_id=a.id, data=too_big, filename="big.png", actor=village,
                          media_dir=tmp_path)
    assert refused(exc) == {"photo": "photo_too_large"}
    assert not (tmp_path / "education").exists()


def test_a_file_that_is_not_a_real_image_is_refused_whatever_its_name(session, village, tmp_path):
    a = record(session, village)
    for data in (b"<script>alert(1)</script>", b"\x89PNG\r\n\x1a\n" + b"not really", image("PNG")[:60]):
        with pytest.raises(InvalidInput) as exc:
            service.add_photo(session=session, activity_id=a.id, data=data, filename="photo.png", actor=village,
                              media_dir=tmp_path)
        assert refused(exc) == {"photo": "photo_not_image"}, data[:20]
    with pytest.raises(InvalidInput) as exc:
        service.add_photo(session=session, activity_id=a.id, data=b"", filename="empty.png", actor=village,
                          media_dir=tmp_path)
    assert refused(exc) == {"photo": "photo_empty"}
    assert session.scalar(select(func.count()).select_from(EducationPhoto)) == 0


def test_an_image_of_another_format_is_refused_naming_it(session, village, tmp_path):
    a = record(session, village)
    with pytest.raises(InvalidInput) as exc:
        service.add_photo(session=session, activity_id=a.id, data=image("GIF"), filename="a.gif", actor=village,
                          media_dir=tmp_path)
    assert refused(exc) == {"photo": "photo_format"}
    assert exc.value.errors[0].params["format"] == "GIF"


def test_the_same_photo_twice_and_more_than_the_limit_are_refused(session, village, tmp_path):
    a = record(session, village)
    service.add_photo(session=session, activity_id=a.id, data=image(), filename=None, actor=village, media_dir=tmp_path)
    with pytest.raises(InvalidInput) as exc:
        service.add_photo(session=session, activity_id=a.id, data=image(), filename=None, actor=village,
                          media_dir=tmp_path)
    assert refused(exc) == {"photo": "photo_duplicate"}
    for n in range(1, rules.rules().photos_per_activity):
        service.add_photo(session=session, activity_id=a.id, data=image(size=(10 + n, 10)), filename=None,
                          actor=village, media_dir=tmp_path)
    session.expire_all()
    with pytest.raises(InvalidInput) as exc:
        service.add_photo(session=session, activity_id=a.id, data=image(size=(99, 9)), filename=None, actor=village,
                          media_dir=tmp_path)
    assert refused(exc) == {"photo": "photo_too_many"}


def test_an_activity_of_another_township_is_not_found(session, fac, village, tmp_path):
    other = f.make_clinician(session, fac["clinic_b1"])[1]
    a = record(session, other)
    with pytest.raises(NotFound):
        service.get_activity(session=session, actor=village, activity_id=a.id)
    p = service.add_photo(session=session, activity_id=a.id, data=image(), filename=None, actor=other,
                          media_dir=tmp_path)
    with pytest.raises(NotFound):
        service.photo_file(session=session, actor=village, photo_id=p.id, media_dir=tmp_path)


def test_completion_counts_activities_and_different_titles_against_the_minimums(session, fac, township):
    centre = fac["town_a"].id
    for month in range(1, 12):  # a lecture each month January–November: 11
        record(session, township, facility_id=centre, date=date(2026, month, 10).isoformat())
    for n in range(4):  # the same leaflet four times is one kind of material
        record(session, township, facility_id=centre, kind="materials", topic="控烟手册", date=f"2026-0{n + 1}-02")
    record(session, township, facility_id=centre, kind="materials", topic="合理膳食", date="2026-05-02")
    record(session, township, facility_id=centre, kind="lecture", date="2025-12-20")  # last year: not counted
    rows = {r.facility.id: r for r in service.completion(session=session, actor=township, year=2026, as_of=TODAY)}
    # The township doctor sees the centre and the two village clinics of the township, not town B's.
    assert set(rows) == {centre, fac["clinic_a1"].id, fac["clinic_a2"].id}
    kinds = {k.kind: k for k in rows[centre].kinds}
    assert (kinds["lecture"].done, kinds["lecture"].state) == (11, "on_track")
    assert (kinds["materials"].done, kinds["materials"].minimum, kinds["materials"].state) == (2, 12, "behind")
    clinic = {k.kind: k for k in rows[fac["clinic_a1"].id].kinds}
    assert clinic["consultation"].state == "none" and clinic["lecture"].state == "behind"


def test_completion_of_a_past_year_is_judged_on_the_whole_minimum(session, fac, township):
    centre = fac["town_a"].id
    for month in range(1, 12):
        record(session, township, facility_id=centre, date=date(2025, month, 10).isoformat())
    rows = {r.facility.id: r for r in service.completion(session=session, actor=township, year=2025, as_of=TODAY)}
    lecture = next(k for k in rows[centre].kinds if k.kind == "lecture")
    assert (lecture.done, lecture.expected, lecture.state) == (11, 12, "behind")


def test_the_xlsx_export_escapes_a_formula_in_a_facility_name(session, fac, township):
    from openpyxl import load_workbook

    fac["clinic_a2"].name = "=HYPERLINK(\"http://x\")"
    session.flush()
    rows = service.completion(session=session, actor=township, year=2026, as_of=TODAY)
    data = service.completion_xlsx(rows, year=2026, as_of=TODAY, locale="zh_CN", state_labels={}, headings={
        k: k for k in ("title", "as_of", "facility", "type", "orgunit", "done", "minimum", "state")})
    ws = load_workbook(io.BytesIO(data)).active
    names = [ws.cell(row=i, column=1).value for i in range(3, ws.max_row + 1)]
    assert "'=HYPERLINK(\"http://x\")" in names


def test_cli_completion_json(session, fac, township, monkeypatch):
    record(session, township, facility_id=fac["town_a"].id, today=clock.today(),
           date=clock.today().isoformat())
    from contextlib import contextmanager

    from weijian.cli import app

    @contextmanager
    def same_session(_factory):
        yield session

    monkeypatch.setattr(education_cli, "_sessions", lambda: None)
    monkeypatch.setattr(education_cli, "unit_of_work", same_session)
    year = clock.today().year
    res = CliRunner().invoke(app, ["education", "completion", "--year", str(year), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["year"] == year
    centre = next(x for x in out["facilities"] if x["facility_id"] == fac["town_a"].id)
    assert next(k for k in centre["kinds"] if k["kind"] == "lecture")["done"] == 1
    bad = CliRunner().invoke(app, ["education", "completion", "--year", "20x6"])
    assert bad.exit_code == 2
