"""API shapes and commands of the org-unit registry: org units, the tree, facilities, capacity totals."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from weijian.core.bounds import BoundedDate
from weijian.core.commands import Command, refuse
from weijian.core.errors import InvalidInput
from weijian.core.identifiers import division_level
from weijian.orgunits.queries import CAPACITY_FIELDS

_E = "orgunits.errors."
COMMUNITY_ROLES = ("lead", "member", "none")
# NBS urban–rural classification codes (城乡分类代码).
URBAN_RURAL_CLASSES = ("111", "112", "121", "122", "123", "210", "220")
NAME_MAX = 100
# A ceiling well above any county's figures, and inside a 32-bit INTEGER column.
MAX_COUNT = 100_000
FIGURE_DIGITS = len(str(MAX_COUNT)) + 1


class CapacityOut(BaseModel):
    beds_approved: int
    beds_open: int
    physicians: int
    assistant_physicians: int
    facilities: int


class OrgUnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: str
    kind: str | None
    parent_code: str | None
    urban_rural_class: str | None


class FacilityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    type: str
    type_label: str = ""
    grade: str | None
    grade_label: str = ""
    orgunit_code: str
    community_role: str
    beds_approved: int
    beds_open: int
    physicians: int
    assistant_physicians: int
    updated_at: datetime


class CapacitySnapshotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    as_of: date
    beds_approved: int
    beds_open: int
    physicians: int
    assistant_physicians: int


class FacilityDetailOut(FacilityOut):
    capacity_history: list[CapacitySnapshotOut]


class OrgUnitDetailOut(OrgUnitOut):
    parent: OrgUnitOut | None
    children: list[OrgUnitOut]
    facilities: list[FacilityOut]
    totals: CapacityOut  # the whole subtree, current figures


class TreeNodeOut(BaseModel):
    code: str
    name: str
    level: str
    kind: str | None
    facilities: list[FacilityOut]
    totals: CapacityOut
    children: list[TreeNodeOut]


class RegistryCommand(Command):
    """A write to the registry. Beyond `Command`: a field named in BLANK_IS_NONE that is sent blank is given as
    None (so its validator refuses it in the registry's words, or gives it its blank meaning) rather than
    dropped; an unknown field is refused with UNKNOWN_FIELD, together with every other bad field."""

    BLANK_IS_NONE: ClassVar[frozenset[str]] = frozenset()
    UNKNOWN_FIELD: ClassVar[str] = _E + "unknown_field"

    @model_validator(mode="wrap")
    @classmethod
    def _registry_words(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        if not isinstance(data, Mapping):
            return handler(data)
        unknown = [str(k) for k in data if k not in cls.model_fields]
        known = {k: None if k in cls.BLANK_IS_NONE and isinstance(v, str) and not v.strip() else v
                 for k, v in data.items() if k in cls.model_fields}
        try:
            model = handler(known)
        except ValidationError as exc:
            if not unknown:
                raise
            found = [InitErrorDetails(type=PydanticCustomError(e["type"], e["msg"], e.get("ctx")), loc=e["loc"],
                                      input=e["input"]) for e in exc.errors()]
        else:
            if not unknown:
                return model
            found = []
        found += [InitErrorDetails(type=refuse(cls.UNKNOWN_FIELD), loc=(k,), input=None) for k in unknown]
        raise ValidationError.from_exception_data(cls.__name__, found)


def _name(value: Any) -> Any:
    if value is None:
        raise refuse(_E + "name_required")
    if isinstance(value, str) and len(value.strip()) > NAME_MAX:
        raise refuse(_E + "name_too_long", max=NAME_MAX)
    return value


def _urban_rural(value: str | None) -> str | None:
    if value is not None and value not in URBAN_RURAL_CLASSES:
        raise refuse(_E + "urban_rural_unknown", value=value)
    return value


def _division_code(value: str) -> str:
    try:
        division_level(value)
    except InvalidInput:
        raise refuse("core.errors.division.format") from None
    return value


def _orgunit_code(value: Any) -> Any:
    if value is None:
        raise refuse(_E + "orgunit_required")
    return value


def _community_role(value: Any) -> str:
    role = "none" if value is None else str(value).strip()
    if role not in COMMUNITY_ROLES:
        raise refuse(_E + "community_role_unknown", value=role)
    return role


def _as_of(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    if isinstance(value, str):
        value = value.strip().replace("/", "-")
    try:
        return handler(value)
    except ValidationError as exc:
        if any(e["type"] == "date_out_of_range" for e in exc.errors()):
            raise
        raise refuse(_E + "as_of_invalid") from None


# At most NAME_MAX characters here, and within core.bounds' limit for a `name` (the stricter one wins).
Name = Annotated[str, BeforeValidator(_name)]
UrbanRural = Annotated[str | None, AfterValidator(_urban_rural),
                       WithJsonSchema({"anyOf": [{"enum": list(URBAN_RURAL_CLASSES)}, {"type": "null"}]})]
DivisionCode = Annotated[str, AfterValidator(_division_code)]
OrgUnitCode = Annotated[str, BeforeValidator(_orgunit_code)]
CommunityRole = Annotated[str, BeforeValidator(_community_role), WithJsonSchema({"enum": list(COMMUNITY_ROLES)})]
# The date of capacity figures: ISO (2025-12-31, or 2025/12/31); not after today (a rule: the service's).
AsOf = Annotated[BoundedDate | None, WrapValidator(_as_of)]
def _figure(value: Any) -> Any:
    if isinstance(value, bool):
        raise refuse(_E + "count_invalid")
    if isinstance(value, str) and len(value.strip()) > FIGURE_DIGITS:  # int() refuses 4,300 digits: a 500
        raise refuse(_E + "count_too_large", max=MAX_COUNT)
    return value


# A facility's code, type, grade and figures stay as sent here: the service checks them together with its
# database checks (a taken code, the county's one lead hospital), so a form shows every refusal at once.
# The document says what is meant (a whole number 0 … MAX_COUNT); a form's text is taken as sent too.
_FIGURE_SCHEMA = {"type": "integer", "minimum": 0, "maximum": MAX_COUNT}
Figure = Annotated[int | str | None, BeforeValidator(_figure), WithJsonSchema(_FIGURE_SCHEMA)]
FigureOrNone = Annotated[int | str | None, BeforeValidator(_figure),
                         WithJsonSchema({"anyOf": [_FIGURE_SCHEMA, {"type": "null"}]})]


class OrgUnitCreate(RegistryCommand):
    BLANK_IS_NONE = frozenset({"name"})

    code: DivisionCode
    name: Name
    level: str | None = None  # optional: follows from the code, checked when given
    parent_code: str | None = None  # optional: follows from the code, checked when given
    urban_rural_class: UrbanRural = None


class OrgUnitUpdate(RegistryCommand):
    """Only the name and the urban–rural class change: the code, level and parent are the unit's identity."""

    BLANK_IS_NONE = frozenset({"name"})
    UNKNOWN_FIELD = _E + "field_not_editable"

    name: Annotated[str | None, BeforeValidator(_name)] = None
    urban_rural_class: UrbanRural = None


class FacilityCreate(RegistryCommand):
    BLANK_IS_NONE = frozenset({"code", "name", "type", "grade", "orgunit_code", "community_role",
                               *CAPACITY_FIELDS})

    code: str | None  # required; blank (None) is refused by the service, beside its other checks
    name: Name
    type: str | None  # required, as `code`: a code, the Chinese label or an alias
    grade: str | None = None  # a code, a label or an alias; none: ungraded
    orgunit_code: OrgUnitCode
    community_role: CommunityRole = "none"
    beds_approved: Figure = 0
    beds_open: Figure = 0
    physicians: Figure = 0
    assistant_physicians: Figure = 0
    as_of: AsOf = None  # date of the capacity figures; today when omitted


class FacilityUpdate(RegistryCommand):
    """The fields given change; capacity figures (or `as_of` alone) write the snapshot of `as_of`."""

    BLANK_IS_NONE = FacilityCreate.BLANK_IS_NONE

    code: str | None = None
    name: Annotated[str | None, BeforeValidator(_name)] = None
    type: str | None = None
    grade: str | None = None
    orgunit_code: Annotated[str | None, BeforeValidator(_orgunit_code)] = None
    community_role: Annotated[str | None, BeforeValidator(_community_role)] = None
    beds_approved: FigureOrNone = None
    beds_open: FigureOrNone = None
    physicians: FigureOrNone = None
    assistant_physicians: FigureOrNone = None
    as_of: AsOf = None


class CapacityRecord(RegistryCommand):
    """Beds and physicians as of a date (last year's year-end figures, say): the figures not given keep
    those in effect on that date."""

    BLANK_IS_NONE = frozenset(CAPACITY_FIELDS)

    beds_approved: FigureOrNone = None
    beds_open: FigureOrNone = None
    physicians: FigureOrNone = None
    assistant_physicians: FigureOrNone = None
    as_of: AsOf = None  # today when omitted


class ChildCapacityOut(BaseModel):
    code: str
    name: str
    level: str
    totals: CapacityOut


class CapacityReportOut(BaseModel):
    orgunit_code: str
    as_of: date
    totals: CapacityOut
    children: list[ChildCapacityOut]
