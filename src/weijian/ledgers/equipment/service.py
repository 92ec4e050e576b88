"""Writes of the equipment registry: placing a device (ledger:write, in an org unit of the actor's scope) and
recording its monthly inspection. Every bad field is named at once, and nothing is written.

What other modules use of this area is importable from here: `list_devices`, `public_place_count` (the
figure of devices in public places)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, InvalidInput
from weijian.core.identifiers import division_level
from weijian.ledgers.equipment.models import Device, DeviceInspection
from weijian.ledgers.equipment.queries import (
    DeviceRow,
    device_in_scope,
    inspections,
    list_devices,
    public_place_count,
)
from weijian.ledgers.equipment.rules import rules
from weijian.ledgers.equipment.schemas import DeviceCreate, InspectionCreate
from weijian.orgunits import service as orgunits_service

_E = "ledgers.equipment.errors."
_MISSING = "core.errors.validation.missing"


def check_orgunit(session: Session, errs: ErrorCollector, actor: Actor, code: str | None, field: str,
                  prefix: str = _E) -> None:
    """A township or village of the county, in the actor's scope."""
    if code is None:
        return
    try:
        level = division_level(code)
    except InvalidInput:
        errs.add(field, "core.errors.division.format")
        return
    if level not in ("township", "village") or orgunits_service.get(session=session, code=code) is None:
        errs.add(field, prefix + "orgunit_unknown", code=code)
    elif not orgunits_service.in_scope(scope_code=actor.scope_code, code=code):
        errs.add(field, prefix + "orgunit_out_of_scope", code=code)


def register_device(*, session: Session, device_in: DeviceCreate, actor: Actor,
                    today: dt.date | None = None) -> Device:
    """Place a device. Refused, naming the field: serial, org unit, address, place type, owner or install
    date missing; an unknown kind or place type; an org unit that is no township or village of the scope;
    an install date in the future; an expiry before the install date; a serial number already registered."""
    actor.require("ledger:write")
    today = today or clock.today()
    cmd = device_in
    r = rules()
    errs = ErrorCollector()
    for name in ("serial", "orgunit_code", "address", "place_type", "owner", "install_date"):
        if getattr(cmd, name) is None:
            errs.add(name, _MISSING)
    if cmd.kind not in r.kinds:
        errs.add("kind", _E + "kind_unknown", value=cmd.kind, known=", ".join(r.kinds))
    if cmd.place_type is not None and cmd.place_type not in r.place_types:
        errs.add("place_type", _E + "place_type_unknown", value=cmd.place_type, known=", ".join(r.place_types))
    check_orgunit(session, errs, actor, cmd.orgunit_code, "orgunit_code")
    if cmd.install_date is not None and cmd.install_date > today:
        errs.add("install_date", _E + "in_future")
    for name in ("battery_expiry", "pad_expiry"):
        day = getattr(cmd, name)
        if day is not None and cmd.install_date is not None and day < cmd.install_date:
            errs.add(name, _E + "expiry_before_install", install_date=cmd.install_date)
    if cmd.serial is not None and session.scalar(select(Device.id).where(Device.serial == cmd.serial)) is not None:
        errs.add("serial", _E + "serial_taken", serial=cmd.serial)
    errs.raise_if_any()
    device = Device(kind=cmd.kind, serial=cmd.serial, model=cmd.model, orgunit_code=cmd.orgunit_code,
                    address=cmd.address, place_type=cmd.place_type, owner=cmd.owner, install_date=cmd.install_date,
                    battery_expiry=cmd.battery_expiry, pad_expiry=cmd.pad_expiry, status="active", note=cmd.note,
                    recorded_by=actor.username)
    session.add(device)
    session.flush()
    return device


def record_inspection(*, session: Session, device_id: int, inspection_in: InspectionCreate, actor: Actor,
                      today: dt.date | None = None) -> DeviceInspection:
    """Record an inspection of a device in the scope (NotFound otherwise). Refused, naming the field: the
    day, result or inspector missing; an unknown result; a day in the future or before the install date."""
    actor.require("ledger:write")
    today = today or clock.today()
    device = device_in_scope(session=session, actor=actor, device_id=device_id, for_update=True)
    cmd = inspection_in
    errs = ErrorCollector()
    for name in ("inspected_on", "result", "inspector"):
        if getattr(cmd, name) is None:
            errs.add(name, _MISSING)
    if cmd.result is not None and cmd.result not in rules().results:
        errs.add("result", _E + "result_unknown", value=cmd.result, known=", ".join(rules().results))
    if cmd.inspected_on is not None:
        if cmd.inspected_on > today:
            errs.add("inspected_on", _E + "in_future")
        elif cmd.inspected_on < device.install_date:
            errs.add("inspected_on", _E + "before_install", install_date=device.install_date)
    errs.raise_if_any()
    row = DeviceInspection(device_id=device.id, inspected_on=cmd.inspected_on, result=cmd.result,
                           inspector=cmd.inspector, note=cmd.note, recorded_by=actor.username)
    session.add(row)
    session.flush()
    return row


__all__ = ["DeviceRow", "check_orgunit", "device_in_scope", "inspections", "list_devices", "public_place_count",
           "record_inspection", "register_device"]
