"""Resident master index: validation of a resident's fields, create, and (below) read, search, merge.

Every read or write of a resident goes through here, is checked against the actor's permission and
org-unit scope in the query itself, and is written to the audit log with its basis.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pypinyin import Style, lazy_pinyin
from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, Forbidden, InvalidInput
from weijian.core.identifiers import parse_id_number
from weijian.orgunits import service as orgunits_service
from weijian.residents.models import Household, Resident, ResidentGroup

GROUPS_FILE = Path(__file__).resolve().parent / "data" / "groups.yaml"
SEXES = ("male", "female")
SCHEMES = ("resident", "employee", "none")
RELATIONS = ("head", "spouse", "son", "daughter", "parent", "grandchild", "sibling",
             "son_in_law", "daughter_in_law", "grandparent", "other")
_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
_NAME = re.compile(r"^[\u3400-\u9fff\u00b7·A-Za-z\s]{1,50}$")


# --- reference data -------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def groups() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(GROUPS_FILE.read_text(encoding="utf-8"))
    return dict(data["groups"])


@lru_cache(maxsize=1)
def _group_aliases() -> dict[str, str]:
    out: dict[str, str] = {}
    for code, spec in groups().items():
        out[code] = code
        out[spec["zh"]] = code
        for alias in spec.get("aliases", []):
            out[alias] = code
    return out


def group_code(label: str) -> str | None:
    """The group code for a code, its Chinese name or any alias counties use; None when unknown."""
    return _group_aliases().get((label or "").strip())


def pinyin_keys(name: str) -> tuple[str, str]:
    """(initials, full pinyin) of a name, lower case: 张三 → ("zs", "zhangsan")."""
    syllables = lazy_pinyin(name, errors="ignore")
    initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore"))
    return initials.lower()[:50], "".join(syllables).lower()[:200]


# --- validation -----------------------------------------------------------------------------------
@dataclass
class ResidentData:
    """A resident's fields after validation: what create/update/import write."""

    name: str
    sex: str
    birth_date: date
    id_number: str | None
    phone: str | None
    village_code: str
    insurance_scheme: str = "none"
    groups: list[str] = field(default_factory=list)
    relation_to_head: str | None = None
    household_number: str | None = None
    address: str | None = None
    id_converted_from_15: bool = False


def validate(values: dict[str, Any], *, today: date | None = None,
             known_villages: set[str] | None = None, session: Session | None = None) -> ResidentData:
    """Check every field of one resident and return the normalized data, or raise InvalidInput listing
    every bad field. Villages are checked against `known_villages` (bulk import) or the database.

    Accepted keys: name, sex, birth_date, id_number, phone, village_code, insurance_scheme, groups,
    relation_to_head, household_number, address. `groups` may be codes or Chinese names.
    """
    today = today or date.today()
    errs = ErrorCollector()
    name = str(values.get("name") or "").strip()
    if not name:
        errs.add("name", "residents.errors.name_required")
    elif not _NAME.match(name):
        errs.add("name", "residents.errors.name_invalid")

    sex = values.get("sex") or None
    sex = {"男": "male", "女": "female", "1": "male", "2": "female"}.get(str(sex), sex) if sex else None
    if sex is not None and sex not in SEXES:
        errs.add("sex", "residents.errors.sex_invalid")
        sex = None

    birth = values.get("birth_date")
    if isinstance(birth, str) and birth.strip():
        try:
            birth = date.fromisoformat(birth.strip().replace("/", "-"))
        except ValueError:
            errs.add("birth_date", "residents.errors.birth_date_invalid")
            birth = None
    elif not isinstance(birth, date):
        birth = None
    if birth is not None and birth > today:
        errs.add("birth_date", "residents.errors.birth_date_future")

    id_number = None
    converted = False
    raw_id = str(values.get("id_number") or "").strip()
    if raw_id:
        try:
            parsed = parse_id_number(raw_id, today=today)
        except InvalidInput as exc:
            errs.extend(exc)
        else:
            id_number, converted = parsed.normalized, parsed.converted_from_15
            if birth is None and "birth_date" not in {e.field for e in errs.errors}:
                birth = parsed.birth_date
            elif birth is not None and birth != parsed.birth_date:
                errs.add("birth_date", "residents.errors.birth_date_mismatch", id_birth=parsed.birth_date.isoformat())
            if sex is None and "sex" not in {e.field for e in errs.errors}:
                sex = parsed.sex
            elif sex is not None and sex != parsed.sex:
                errs.add("sex", "residents.errors.sex_mismatch")
    if birth is None and not any(e.field == "birth_date" for e in errs.errors):
        errs.add("birth_date", "residents.errors.birth_date_required")
    if sex is None and not any(e.field == "sex" for e in errs.errors):
        errs.add("sex", "residents.errors.sex_required")

    phone = str(values.get("phone") or "").strip().replace(" ", "") or None
    if phone is not None and not _PHONE.match(phone):
        errs.add("phone", "residents.errors.phone_invalid")

    village = str(values.get("village_code") or "").strip()
    if not village:
        errs.add("village_code", "residents.errors.village_required")
    elif known_villages is not None:
        if village not in known_villages:
            errs.add("village_code", "residents.errors.village_unknown", code=village)
    elif session is not None:
        unit = orgunits_service.get(session=session, code=village)
        if unit is None or unit.level != "village":
            errs.add("village_code", "residents.errors.village_unknown", code=village)

    scheme = values.get("insurance_scheme") or "none"
    scheme = {"城乡居民医保": "resident", "居民医保": "resident", "职工医保": "employee",
              "城镇职工医保": "employee", "无": "none", "未参保": "none"}.get(str(scheme).strip(), scheme)
    if scheme not in SCHEMES:
        errs.add("insurance_scheme", "residents.errors.scheme_invalid")

    raw_groups = values.get("groups") or []
    if isinstance(raw_groups, str):
        raw_groups = [g for g in re.split(r"[,，、;；\s]+", raw_groups) if g]
    group_codes: list[str] = []
    for g in raw_groups:
        code = group_code(str(g))
        if code is None:
            errs.add("groups", "residents.errors.group_unknown", group=g)
        elif code not in group_codes:
            group_codes.append(code)

    relation = values.get("relation_to_head") or None
    if relation is not None:
        relation = relation_code(str(relation))
        if relation is None:
            errs.add("relation_to_head", "residents.errors.relation_unknown", relation=values.get("relation_to_head"))

    errs.raise_if_any()
    return ResidentData(
        name=name, sex=sex, birth_date=birth, id_number=id_number, phone=phone, village_code=village,
        insurance_scheme=scheme, groups=sorted(group_codes), relation_to_head=relation,
        household_number=str(values.get("household_number") or "").strip() or None,
        address=str(values.get("address") or "").strip() or None, id_converted_from_15=converted,
    )


_RELATION_ALIASES = {
    "户主": "head", "本人": "head", "配偶": "spouse", "妻": "spouse", "夫": "spouse", "妻子": "spouse",
    "丈夫": "spouse", "子": "son", "儿子": "son", "长子": "son", "次子": "son", "女": "daughter",
    "女儿": "daughter", "长女": "daughter", "次女": "daughter", "父母": "parent", "父亲": "parent",
    "母亲": "parent", "父": "parent", "母": "parent", "孙子女": "grandchild", "孙子": "grandchild",
    "孙女": "grandchild", "外孙子": "grandchild", "外孙女": "grandchild", "兄弟姐妹": "sibling",
    "兄": "sibling", "弟": "sibling", "姐": "sibling", "妹": "sibling", "女婿": "son_in_law",
    "儿媳": "daughter_in_law", "媳妇": "daughter_in_law", "祖父母": "grandparent", "祖父": "grandparent",
    "祖母": "grandparent", "其他": "other",
}


def relation_code(label: str) -> str | None:
    label = label.strip()
    if label in RELATIONS:
        return label
    return _RELATION_ALIASES.get(label)


# --- scope ------------------------------------------------------------------------------------------
def access_basis(actor: Actor, village_code: str) -> str | None:
    """Why the actor may see a resident of `village_code` (own_village/own_township/county/system),
    or None when the village lies outside the actor's scope."""
    if actor.scope_code is None:
        return "system"
    if not orgunits_service.in_scope(scope_code=actor.scope_code, code=village_code):
        return None
    if actor.scope_code == village_code:
        return "own_village"
    if actor.scope_code[9:] == "000" and actor.scope_code[6:9] != "000":
        return "own_township"
    return "county"


# --- create -----------------------------------------------------------------------------------------
def create(*, session: Session, values: dict[str, Any], actor: Actor) -> Resident:
    """Register one resident (and the household, when a new household number is given)."""
    actor.require("resident:write")
    data = validate(values, session=session)
    basis = access_basis(actor, data.village_code)
    if basis is None:
        raise Forbidden("residents.errors.village_out_of_scope")
    if data.id_number and session.scalar(select(Resident.id).where(Resident.id_number == data.id_number)):
        raise InvalidInput("id_number", "residents.errors.id_number_duplicate")
    household = None
    if data.household_number:
        household = session.scalar(select(Household).where(Household.number == data.household_number))
        if household is None:
            household = Household(number=data.household_number, village_code=data.village_code,
                                  address=data.address)
            session.add(household)
            session.flush()
        elif household.village_code != data.village_code:
            raise InvalidInput("household_number", "residents.errors.household_other_village")
        if data.relation_to_head == "head" and household.head is not None:
            raise InvalidInput("relation_to_head", "residents.errors.household_has_head")
    initials, full = pinyin_keys(data.name)
    resident = Resident(
        id_number=data.id_number, name=data.name, name_initials=initials, name_pinyin=full, sex=data.sex,
        birth_date=data.birth_date, phone=data.phone, village_code=data.village_code,
        household_id=household.id if household else None, relation_to_head=data.relation_to_head,
        insurance_scheme=data.insurance_scheme, status="active",
        groups=[ResidentGroup(group=g) for g in data.groups],
    )
    session.add(resident)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="resident",
                           entity_id=resident.id, resident_id=resident.id, basis=basis)
    return resident
