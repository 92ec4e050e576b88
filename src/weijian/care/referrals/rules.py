"""The referral and consultation rules of care/data/referrals.yaml: the care tiers, the response time limits
(what is overdue), who may ask a consultation of whom, and how long a reply stays on the worklist. The tier of
each facility type is the org-unit registry's (one facility classification)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import ColumnElement, and_, or_

from weijian.care.models import Referral, Teleconsultation
from weijian.core import clock
from weijian.core.errors import RulesInvalid
from weijian.orgunits import service as orgunits_service

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "referrals.yaml"
TIER_NAMES = ("village", "township", "county", "beyond")
DIRECTIONS = ("up", "down")
URGENCIES = ("routine", "urgent")
# expired: accepted, but the patient did not arrive within the rules' arrival_days
STATUSES = ("requested", "accepted", "rejected", "arrived", "completed", "cancelled", "expired")
OPEN_STATUSES = ("requested", "accepted", "arrived")  # the receiver still has work to do
RECEIVED_STATUSES = ("arrived", "completed")  # the patient came: the receiver may refer them onward
# Referrals that were made and not withdrawn or refused: what the referral-count figure counts.
COUNTED_STATUSES = ("requested", "accepted", "arrived", "completed")

RulesError = RulesInvalid  # the rules file is malformed: the one rules-file error (core.errors)


@dataclass(frozen=True)
class Rules:
    version: int
    tiers: dict[str, int]  # tier name → rank (village 1 … beyond 4)
    facility_tiers: dict[str, str]  # facility type → tier name
    response_hours: dict[str, int]  # urgency → hours before a request is overdue
    consult_from: tuple[str, ...]
    consult_to: tuple[str, ...]
    worklist_reply_days: int
    arrival_days: int  # days after acceptance within which the patient must arrive
    downward_follow_up_days: int  # days after a downward referral by which the receiving clinic follows up
    out_of_county_from: tuple[str, ...]  # tiers that may refer a patient out of the county directly

    def may_refer_out_of_county(self, rank: int | None) -> bool:
        return self.tier_name(rank) in self.out_of_county_from

    def response_limit(self, urgency: str) -> timedelta:
        return timedelta(hours=self.response_hours.get(urgency, self.response_hours["routine"]))

    def tier_name(self, rank: int | None) -> str | None:
        return next((name for name, r in self.tiers.items() if r == rank), None)


def load_rules(path: Path = RULES_FILE) -> Rules:
    """Read and validate the rules file; RulesError names what is wrong."""
    def fail(reason: str) -> RulesInvalid:
        return RulesInvalid.one(path.name, "file", reason)

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    tiers = data.get("tiers") or {}
    if set(tiers) != set(TIER_NAMES):
        raise fail(f"tiers must name exactly {', '.join(TIER_NAMES)}")
    if sorted(tiers.values()) != list(range(1, len(TIER_NAMES) + 1)) or \
            [tiers[n] for n in TIER_NAMES] != sorted(tiers.values()):
        raise fail("tiers must rank village 1, township 2, county 3, beyond 4")
    if "facility_tiers" in data:
        raise fail("facility_tiers: each facility type's tier is in orgunits/data/facility_types.yaml")
    # The tier of each facility type is the org-unit registry's (one facility classification).
    facility_tiers = {code: t for code in orgunits_service.reference().types
                      if (t := orgunits_service.facility_tier(code)) is not None}
    hours = dict(data.get("response_hours") or {})
    if set(hours) != set(URGENCIES):
        raise fail(f"response_hours must give {', '.join(URGENCIES)}")
    for urgency, h in hours.items():
        if not isinstance(h, int) or h <= 0:
            raise fail(f"response_hours.{urgency} must be a positive whole number of hours")
    consult = data.get("consultation") or {}
    consult_from = tuple(consult.get("from_tiers") or ())
    consult_to = tuple(consult.get("to_tiers") or ())
    if not consult_from or not consult_to or not set(consult_from + consult_to) <= set(tiers) - {"beyond"}:
        raise fail("consultation.from_tiers and to_tiers must list village, township or county")
    days = data.get("worklist_reply_days", 7)
    if not isinstance(days, int) or days < 0:
        raise fail("worklist_reply_days must be a whole number of days")
    arrival_days = data.get("arrival_days")
    if not isinstance(arrival_days, int) or isinstance(arrival_days, bool) or arrival_days <= 0:
        raise fail("arrival_days must be a positive whole number of days")
    follow_days = data.get("downward_follow_up_days")
    if not isinstance(follow_days, int) or isinstance(follow_days, bool) or follow_days <= 0:
        raise fail("downward_follow_up_days must be a positive whole number of days")
    out_from = data.get("out_of_county_from_tiers")
    if not isinstance(out_from, list) or not out_from or not set(out_from) <= set(tiers) - {"beyond"}:
        raise fail("out_of_county_from_tiers must list village, township or county")
    return Rules(version=int(data.get("version") or 0), tiers=dict(tiers), facility_tiers=facility_tiers,
                 response_hours=hours, consult_from=consult_from, consult_to=consult_to,
                 worklist_reply_days=days, arrival_days=arrival_days, downward_follow_up_days=follow_days,
                 out_of_county_from=tuple(out_from))


@lru_cache(maxsize=1)
def rules() -> Rules:
    return load_rules(RULES_FILE)


def tier_of(facility_type: str | None) -> int | None:
    """The care tier (1 village … 3 county) of a facility type; None for cdc/other."""
    name = rules().facility_tiers.get(facility_type or "")
    return rules().tiers[name] if name else None


def tier_label_key(rank: int | None) -> str:
    return f"@care.referrals.tiers.{rules().tier_name(rank) or 'none'}"


# --- overdue (referrals and consultations alike) ------------------------------------------------------
def deadline(request: Referral | Teleconsultation) -> datetime:
    """When an unanswered request becomes overdue."""
    return request.requested_at + rules().response_limit(request.urgency)


def is_overdue(request: Referral | Teleconsultation, now: datetime) -> bool:
    """Still waiting for an answer (requested) after its urgency's limit (2 h urgent, 24 h routine)."""
    return request.status == "requested" and now > deadline(request)


def overdue_condition(model: type[Referral] | type[Teleconsultation], now: datetime) -> ColumnElement[bool]:
    """The SQL form of is_overdue for `model`'s rows."""
    return and_(model.status == "requested", or_(*(
        and_(model.urgency == urgency, model.requested_at < now - timedelta(hours=hours))
        for urgency, hours in rules().response_hours.items())))


# --- expiry of an accepted referral whose patient never arrives -----------------------------------------
def arrival_deadline(referral: Referral) -> datetime | None:
    """When an accepted referral lapses if the patient has not arrived (None unless accepted)."""
    if referral.status != "accepted" or referral.responded_at is None:
        return None
    return referral.responded_at + timedelta(days=rules().arrival_days)


def is_expired(referral: Referral, now: datetime) -> bool:
    """Accepted more than arrival_days ago and the patient never arrived: expired, whether or not the daily
    job (`weijian referrals expire`) has stored it yet."""
    if referral.status == "expired":
        return True
    limit = arrival_deadline(referral)
    return limit is not None and now > limit


def expired_condition(now: datetime) -> ColumnElement[bool]:
    """The SQL form of is_expired for accepted referrals not yet stored as expired."""
    return and_(Referral.status == "accepted",
                Referral.responded_at < now - timedelta(days=rules().arrival_days))


# --- the follow-up a downward referral asks of the receiving clinic -------------------------------------
def follow_up_due(referral: Referral) -> date | None:
    """The day by which the clinic a patient is referred down to follows them up (county day of the
    request + downward_follow_up_days); None for an upward referral."""
    if referral.direction != "down":
        return None
    return clock.local_date(referral.requested_at) + timedelta(days=rules().downward_follow_up_days)
