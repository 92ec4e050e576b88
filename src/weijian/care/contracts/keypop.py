"""Key populations (重点人群) of family-doctor contracting, derived from the records that exist, as
contract_packages.yaml lists them: age from the birth date, active chronic registrations (care.chronic), an
open pregnancy (care.maternal), TB treatment (surveillance.tb: above care, so through the `tb_patients`
hook the composition root provides), and the resident's special groups (disability, severe mental illness,
poverty: residents/data/groups.yaml). Each is a SQL condition on a resident id column, so a list and a
count read them in one query."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select
from sqlalchemy.orm import Session

from weijian.care.contracts import rules
from weijian.care.maternal.models import Pregnancy
from weijian.care.models import ChronicRegistration
from weijian.core.hooks import Hook
from weijian.residents.models import Resident, ResidentGroup
from weijian.residents.service import years_before

# tb_patients(on=date) -> a statement of the resident ids under TB treatment on that day (started on or
# before it, no outcome recorded by it): surveillance.service.tb_patients_on, provided by weijian.wiring.
tb_patients: Hook[Callable[..., Select[Any]]] = Hook("care.contracts.tb_patients")


def condition(code: str, person: Any, birth: Any, on: dt.date) -> ColumnElement[bool]:
    """The resident (id column `person`, birth-date column `birth`) belongs to key population `code` on `on`."""
    k = rules.rules().key_populations[code]
    if k.source == "age":
        conds = [birth <= on]
        if k.min_age is not None:
            conds.append(birth <= years_before(on, k.min_age))
        if k.max_age is not None:
            conds.append(birth > years_before(on, k.max_age + 1))
        return and_(*conds)
    if k.source == "chronic":
        return exists().where(ChronicRegistration.resident_id == person, ChronicRegistration.program == k.program,
                              ChronicRegistration.status == "active", ChronicRegistration.registered_on <= on)
    if k.source == "pregnancy":
        open_ = exists().where(Pregnancy.resident_id == person, Pregnancy.lmp <= on,
                               or_(Pregnancy.status == "open", Pregnancy.delivered_on >= on))
        return or_(open_, _groups(person, k.groups)) if k.groups else open_
    if k.source == "tb":
        return person.in_(tb_patients(on=on))
    if k.source == "group":
        return _groups(person, k.groups)
    raise AssertionError(k.source)


def _groups(person: Any, groups: tuple[str, ...]) -> ColumnElement[bool]:
    if not groups:
        return false()
    return exists().where(ResidentGroup.resident_id == person, ResidentGroup.group.in_(groups))


def any_condition(person: Any, birth: Any, on: dt.date) -> ColumnElement[bool]:
    """The resident belongs to at least one key population on `on`."""
    return or_(*(condition(code, person, birth, on) for code in rules.rules().key_populations))


def of_residents(session: Session, ids: list[int], on: dt.date) -> dict[int, list[str]]:
    """Resident id → the key populations (codes, in the file's order) each belongs to on `on`. One query
    with a column per key population."""
    if not ids:
        return {}
    codes = list(rules.rules().key_populations)
    out: dict[int, list[str]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        cols = [condition(c, Resident.id, Resident.birth_date, on).label(c) for c in codes]
        for row in session.execute(select(Resident.id, *cols).where(Resident.id.in_(chunk))):
            out[row[0]] = [c for c, flag in zip(codes, row[1:], strict=True) if flag]
    return out
