"""Reads of the equipment registry: the devices in the actor's scope with their flags on a day — expiring
(a battery or pads expiring within `expiring_days`, or expired), uninspected (no inspection in that day's
month), the last inspection — and the count of devices in public places (the "993 AEDs" figure)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weijian.core.actor import Actor
from weijian.core.errors import NotFound
from weijian.ledgers.equipment.models import Device, DeviceInspection
from weijian.ledgers.equipment.rules import rules
from weijian.orgunits import service as orgunits_service
from weijian.orgunits.models import OrgUnit

_E = "ledgers.equipment.errors."
FLAGS = ("expiring", "uninspected")


@dataclass(frozen=True)
class DeviceRow:
    device: Device
    orgunit_name: str
    last: DeviceInspection | None
    as_of: dt.date

    @property
    def public_place(self) -> bool:
        return self.device.place_type in rules().public_places

    @property
    def first_expiry(self) -> dt.date | None:
        days = [d for d in (self.device.battery_expiry, self.device.pad_expiry) if d is not None]
        return min(days) if days else None

    @property
    def expired(self) -> bool:
        first = self.first_expiry
        return first is not None and first < self.as_of

    @property
    def expiring(self) -> bool:
        """A battery or pads expired, or expiring within `expiring_days` of the day (that day included)."""
        first = self.first_expiry
        return first is not None and first <= self.as_of + dt.timedelta(days=rules().expiring_days)

    @property
    def uninspected(self) -> bool:
        """No inspection from the first of the day's month to the day."""
        return self.last is None or self.last.inspected_on < self.as_of.replace(day=1)


def device_in_scope(*, session: Session, actor: Actor, device_id: int, for_update: bool = False) -> Device:
    actor.require("ledger:read")
    stmt = select(Device).where(Device.id == device_id, orgunits_service.scope_condition(Device.orgunit_code, actor))
    if for_update:
        stmt = stmt.with_for_update()
    device = session.scalar(stmt)
    if device is None:
        raise NotFound(_E + "device_not_found", device_id=device_id)
    return device


def list_devices(*, session: Session, actor: Actor, as_of: dt.date, orgunit_code: str | None = None,
                 flag: str | None = None, public_only: bool = False) -> list[DeviceRow]:
    """Active devices installed on or before `as_of` in the actor's scope (under `orgunit_code` when it is in
    the scope), with their last inspection on or before that day; `flag` keeps the expiring or the
    uninspected ones; `public_only` those in public places."""
    actor.require("ledger:read")
    stmt = (select(Device, OrgUnit.name).join(OrgUnit, OrgUnit.code == Device.orgunit_code)
            .where(Device.status == "active", Device.install_date <= as_of,
                   orgunits_service.scope_condition(Device.orgunit_code, actor)))
    if orgunit_code and orgunits_service.in_scope(scope_code=actor.scope_code, code=orgunit_code):
        stmt = stmt.where(orgunits_service.subtree_condition(Device.orgunit_code, orgunit_code))
    if public_only:
        stmt = stmt.where(Device.place_type.in_(rules().public_places))
    found = session.execute(stmt.order_by(Device.orgunit_code, Device.id)).all()
    last: dict[int, DeviceInspection] = {}
    ids = [d.id for d, _ in found]
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for ins in session.scalars(select(DeviceInspection)
                                   .where(DeviceInspection.device_id.in_(chunk), DeviceInspection.inspected_on <= as_of)
                                   .order_by(DeviceInspection.inspected_on, DeviceInspection.id)):
            last[ins.device_id] = ins  # the latest in date order wins
    rows = [DeviceRow(d, name, last.get(d.id), as_of) for d, name in found]
    if flag == "expiring":
        rows = [r for r in rows if r.expiring]
    elif flag == "uninspected":
        rows = [r for r in rows if r.uninspected]
    return rows


def inspections(*, session: Session, actor: Actor, device_id: int) -> list[DeviceInspection]:
    device = device_in_scope(session=session, actor=actor, device_id=device_id)
    return list(session.scalars(select(DeviceInspection).where(DeviceInspection.device_id == device.id)
                                .order_by(DeviceInspection.inspected_on.desc(), DeviceInspection.id.desc())))


def public_place_count(*, session: Session, as_of: dt.date, orgunit_code: str | None = None,
                       kind: str = "aed") -> int:
    """Active devices of `kind` installed on or before `as_of` in public places (data/equipment.yaml's
    `public` place types), under `orgunit_code` (the county when None). No actor: a published figure."""
    return int(session.scalar(
        select(func.count(Device.id)).where(Device.kind == kind, Device.status == "active",
                                            Device.install_date <= as_of,
                                            Device.place_type.in_(rules().public_places),
                                            orgunits_service.subtree_condition(Device.orgunit_code, orgunit_code)))
               or 0)
