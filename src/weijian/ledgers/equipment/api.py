"""JSON routes of the equipment registry under /api/v1/ledgers/equipment: devices with their flags,
registering one, one device with its inspections, recording an inspection, and the count of devices in
public places (ledger:read / ledger:write)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from weijian.accounts.deps import require
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.web import SessionDep
from weijian.ledgers.equipment import queries, service
from weijian.ledgers.equipment.models import DeviceInspection
from weijian.ledgers.equipment.schemas import (
    DeviceCreate,
    DeviceListOut,
    DeviceOut,
    InspectionCreate,
    InspectionOut,
)
from weijian.residents import access

router = APIRouter(prefix="/api/v1/ledgers/equipment", tags=["ledgers: equipment"])


def device_out(r: queries.DeviceRow) -> DeviceOut:
    d = r.device
    return DeviceOut(id=d.id, kind=d.kind, serial=d.serial, model=d.model, orgunit_code=d.orgunit_code,
                     orgunit_name=r.orgunit_name, address=d.address, place_type=d.place_type,
                     public_place=r.public_place, owner=d.owner, install_date=d.install_date,
                     battery_expiry=d.battery_expiry, pad_expiry=d.pad_expiry, status=d.status,
                     last_inspected_on=r.last.inspected_on if r.last else None,
                     last_result=r.last.result if r.last else None, expiring=r.expiring, expired=r.expired,
                     uninspected=r.uninspected)


def inspection_out(i: DeviceInspection) -> InspectionOut:
    return InspectionOut.model_validate(i, from_attributes=True)


def device_visible(device_id: Id64, session: SessionDep, actor: Actor = Depends(require("ledger:write"))) -> int:
    """The device in the path, looked up before the body is read: one outside the scope answers 404."""
    service.device_in_scope(session=session, actor=actor, device_id=device_id)
    return device_id


@router.get("/devices", response_model=DeviceListOut)
def list_devices(session: SessionDep, as_of: BoundedDate | None = None,
                 orgunit: str | None = Query(None, max_length=12), flag: str | None = Query(None, max_length=16),
                 actor: Actor = Depends(require("ledger:read"))) -> DeviceListOut:
    """Active devices in scope; `flag=expiring` or `flag=uninspected` keeps those flagged."""
    day = as_of or clock.today()
    rows = service.list_devices(session=session, actor=actor, as_of=day, orgunit_code=orgunit)
    shown = [r for r in rows if flag not in queries.FLAGS or getattr(r, flag)]
    return DeviceListOut(as_of=day, public_places=sum(1 for r in rows if r.public_place),
                         expiring=sum(1 for r in rows if r.expiring),
                         uninspected=sum(1 for r in rows if r.uninspected), items=[device_out(r) for r in shown])


@router.post("/devices", response_model=DeviceOut, status_code=201)
def create_device(body: DeviceCreate, session: SessionDep,
                  actor: Actor = Depends(require("ledger:write"))) -> DeviceOut:
    device = service.register_device(session=session, device_in=body, actor=actor)
    row = next(r for r in service.list_devices(session=session, actor=actor, as_of=clock.today())
               if r.device.id == device.id)
    return device_out(row)


@router.get("/devices/{device_id}", response_model=dict)
def read_device(device_id: Id64, session: SessionDep,
                actor: Actor = Depends(require("ledger:read"))) -> dict[str, Any]:
    device = service.device_in_scope(session=session, actor=actor, device_id=device_id)
    return {"device": {c.name: getattr(device, c.name) for c in device.__table__.columns
                       if c.name not in ("recorded_at",)},
            "inspections": [inspection_out(i).model_dump(mode="json")
                            for i in service.inspections(session=session, actor=actor, device_id=device_id)]}


@router.post("/devices/{device_id}/inspections", response_model=InspectionOut, status_code=201)
def create_inspection(body: InspectionCreate, session: SessionDep, actor: Actor = Depends(require("ledger:write")),
                      device_id: int = Depends(device_visible)) -> InspectionOut:
    return inspection_out(service.record_inspection(session=session, device_id=device_id, inspection_in=body,
                                                    actor=actor))


@router.get("/public-count", response_model=dict)
def public_count(session: SessionDep, as_of: BoundedDate | None = None,
                 orgunit: str | None = Query(None, max_length=12),
                 actor: Actor = Depends(require("ledger:read"))) -> dict[str, Any]:
    """The AEDs in public places as of the day, in the org unit asked (default: the caller's scope)."""
    day = as_of or clock.today()
    unit = access.orgunit_target(session=session, actor=actor, orgunit=orgunit, default_county=True)
    return {"as_of": day.isoformat(), "orgunit_code": unit.code,
            "count": service.public_place_count(session=session, as_of=day, orgunit_code=unit.code)}
