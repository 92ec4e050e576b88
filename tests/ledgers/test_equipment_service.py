"""The equipment registry, the service: a device in a township or village of the user's scope, a known place
type, expiries not before the install date, a serial registered once; monthly inspections; the flags on a
day — expiring (a battery or pads expiring within 30 days, that day included, or expired) and uninspected
(none from the first of the month) — and the count of devices in public places."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.core.commands import build
from weijian.core.errors import InvalidInput, NotFound
from weijian.ledgers.equipment import service
from weijian.ledgers.equipment.schemas import DeviceCreate, InspectionCreate

TODAY = date(2026, 12, 8)


@pytest.fixture()
def world(session):
    f.make_county(session)
    town = accounts_service.actor_for(f.make_user(session, "township_doctor", f.TOWN_A))
    bureau = accounts_service.actor_for(f.make_user(session, "bureau_admin", f.COUNTY))
    return town, bureau


def _device(session, actor, serial, **over):
    values = {"serial": serial, "orgunit_code": f.VILLAGE_A1, "address": "东冲村村委会一楼", "place_type": "community",
              "owner": "东冲村村委会", "install_date": "2025-05-01", "battery_expiry": "2029-05-01",
              "pad_expiry": "2027-05-01", **over}
    return service.register_device(session=session, device_in=build(DeviceCreate, values), actor=actor, today=TODAY)


def _inspect(session, actor, device, on, result="working"):
    return service.record_inspection(session=session, device_id=device.id, actor=actor, today=TODAY,
                                     inspection_in=build(InspectionCreate, inspected_on=on.isoformat(), result=result,
                                                         inspector="王巡检"))


def _fields(exc) -> dict[str, str]:
    return {e.field: e.reason_key.rsplit(".", 1)[-1] for e in exc.value.errors}


def test_the_flags_on_a_day(session, world):
    town, _ = world
    fine = _device(session, town, "AED-1")
    pads_soon = _device(session, town, "AED-2", pad_expiry=(TODAY + timedelta(days=30)).isoformat())
    pads_later = _device(session, town, "AED-3", pad_expiry=(TODAY + timedelta(days=31)).isoformat())
    _inspect(session, town, fine, date(2026, 12, 1))
    _inspect(session, town, pads_soon, date(2026, 11, 30))
    _inspect(session, town, pads_later, date(2026, 12, 8))
    rows = {r.device.serial: r for r in service.list_devices(session=session, actor=town, as_of=TODAY)}
    assert [(s, r.expiring, r.uninspected) for s, r in sorted(rows.items())] == [
        ("AED-1", False, False), ("AED-2", True, True), ("AED-3", False, False)]
    # Next month AED-3's pads are within 30 days and nothing is inspected in January yet.
    later = {r.device.serial: r for r in service.list_devices(session=session, actor=town, as_of=date(2027, 1, 2))}
    assert later["AED-3"].expiring and all(r.uninspected for r in later.values())
    assert not later["AED-2"].expired  # its pads expire on 7 January
    after = {r.device.serial: r for r in service.list_devices(session=session, actor=town, as_of=date(2027, 1, 8))}
    assert after["AED-2"].expired and not after["AED-3"].expired


def test_public_places_are_counted_by_the_place_type(session, world):
    town, bureau = world
    _device(session, town, "AED-P1", place_type="school")
    _device(session, town, "AED-P2", place_type="transport", install_date="2026-12-01")
    _device(session, town, "AED-H", place_type="health_facility")
    _device(session, bureau, "AED-B", orgunit_code=f.VILLAGE_B1, place_type="mall")
    assert service.public_place_count(session=session, as_of=TODAY) == 3
    assert service.public_place_count(session=session, as_of=date(2026, 11, 30)) == 2
    assert service.public_place_count(session=session, as_of=TODAY, orgunit_code=f.TOWN_A) == 2


def test_a_device_names_every_bad_field_and_writes_nothing(session, world):
    town, _ = world
    _device(session, town, "AED-1")
    with pytest.raises(InvalidInput) as exc:
        _device(session, town, "AED-1", orgunit_code=f.VILLAGE_B1, place_type="harbour", install_date="2026-12-09",
                battery_expiry="2026-01-01", owner=None)
    assert _fields(exc) == {"serial": "serial_taken", "orgunit_code": "orgunit_out_of_scope",
                            "place_type": "place_type_unknown", "install_date": "in_future", "owner": "missing",
                            "battery_expiry": "expiry_before_install"}
    with pytest.raises(InvalidInput) as exc:
        _device(session, town, "AED-2", pad_expiry="2025-04-30")
    assert _fields(exc) == {"pad_expiry": "expiry_before_install"}
    with pytest.raises(InvalidInput) as exc:
        _device(session, town, "AED-3", orgunit_code=f.COUNTY)
    assert _fields(exc) == {"orgunit_code": "orgunit_unknown"}


def test_an_inspection_is_refused_before_the_install_or_in_the_future_and_outside_the_scope(session, world):
    town, bureau = world
    device = _device(session, town, "AED-1")
    with pytest.raises(InvalidInput) as exc:
        _inspect(session, town, device, date(2025, 4, 30), result="broken")
    assert _fields(exc) == {"inspected_on": "before_install", "result": "result_unknown"}
    with pytest.raises(InvalidInput) as exc:
        _inspect(session, town, device, TODAY + timedelta(days=1))
    assert _fields(exc) == {"inspected_on": "in_future"}
    other = _device(session, bureau, "AED-B", orgunit_code=f.VILLAGE_B1)
    with pytest.raises(NotFound):
        _inspect(session, town, other, TODAY)
    assert service.inspections(session=session, actor=town, device_id=device.id) == []
