"""Reproducing stored settlements (issue 15 item 9): each slip is settled again in memory from the same
stay, in settlement order — on top of the reproduced slips it was settled after, never on its own stored
accumulations — on the terms it stored, and compared with what is stored, to the fen.

Which slips a slip was settled after: those of the person's year settled before it (smaller id) and
earlier in the year's order (smaller seq) whose accumulations after are the ones it started from — the
chain its `before_*` columns name. Following the chain back to the year's start (zero accumulations), every
slip of the chain is reproduced from the stay bills alone, so a slip equal to the fen says: these stays,
on these stored terms, in this order, give this split. A link that cannot be found is a difference too.
A row settled before migration 0013 stored no terms: it is reproduced on the bundled file of its policy_id
and says so (`terms_source` "file").
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from weijian.core.errors import DomainError
from weijian.settlement.models import Settlement
from weijian.settlement.settle import engine
from weijian.settlement.settle.engine import Accumulations
from weijian.settlement.settle.queries import ACC_FIELDS, AMOUNTS, SELF_PAY, slip_number
from weijian.settlement.settle.rules import canonical_json
from weijian.settlement.settle.service import Outcome, compute, facts_of, stored_policy

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Difference:
    field: str  # a stored column (basic_pays, after_basic_paid …), or "chain", "applied_terms", "error"
    stored: str | None
    reproduced: str | None


@dataclass
class Reproduction:
    settlement_id: int
    number: str  # 结算单号 (settle.pages.slip_number)
    resident_id: int
    year: int
    seq: int
    status: str
    terms_source: str  # stored | file | none (self-pay)
    differences: list[Difference] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.differences


def _before(s: Settlement) -> tuple[Decimal, ...]:
    return tuple(getattr(s, f"before_{k}") for k in ACC_FIELDS)


def _after(s: Settlement) -> tuple[Decimal, ...]:
    return tuple(getattr(s, f"after_{k}") for k in ACC_FIELDS)


def reproduce(session: Session, settlements: Iterable[Settlement]) -> list[Reproduction]:
    """Reproduce `settlements` (with every other row of their people's years loaded alongside, since a
    slip's chain runs through them); one Reproduction each, in the order given."""
    wanted = list(settlements)
    by_year: dict[tuple[int, int], list[Settlement]] = defaultdict(list)
    for s in _years_of(session, wanted):
        by_year[(s.resident_id, s.year)].append(s)
    done: dict[int, tuple[Outcome | None, list[Difference]]] = {}

    def chain_of(s: Settlement) -> list[Settlement]:
        """s and the slips it was settled after, earliest first; a missing link is reported on s."""
        chain = [s]
        zero = tuple(ZERO for _ in ACC_FIELDS)
        while _before(chain[-1]) != zero:
            cur = chain[-1]
            prior = [r for r in by_year[(cur.resident_id, cur.year)]
                     if r.id < cur.id and r.seq < cur.seq and _after(r) == _before(cur)]
            if not prior:
                break
            chain.append(max(prior, key=lambda r: r.id))
        return chain[::-1]

    def run(s: Settlement) -> tuple[Outcome | None, list[Difference]]:
        if s.id in done:
            return done[s.id]
        chain = chain_of(s)
        acc = Accumulations(year=s.year)
        diffs: list[Difference] = []
        head = chain[0]
        if _before(head) != tuple(ZERO for _ in ACC_FIELDS):
            diffs.append(Difference("chain", "before: " + ", ".join(f"{v:.2f}" for v in _before(head)), None))
        for r in chain[:-1]:
            prev, _ = done.get(r.id) or _one(session, r, acc, done)
            if prev is None:  # an earlier link could not be settled again: nothing to start s from
                diffs.append(Difference("chain", f"settlement {r.id}", None))
                done[s.id] = (None, diffs)
                return done[s.id]
            acc = prev.after
        out, own = _one(session, s, acc, done)
        done[s.id] = (out, diffs + own)
        return done[s.id]

    result = []
    for s in wanted:
        _, diffs = run(s)
        source = "stored" if s.terms_id is not None else ("none" if s.policy_id == SELF_PAY else "file")
        result.append(Reproduction(settlement_id=s.id, number=slip_number(s), resident_id=s.resident_id,
                                   year=s.year, seq=s.seq, status=s.status, terms_source=source,
                                   differences=diffs))
    return result


def _one(session: Session, s: Settlement, acc: Accumulations,
         done: dict[int, tuple[Outcome | None, list[Difference]]]) -> tuple[Outcome | None, list[Difference]]:
    """Settle s again on top of `acc` on its stored terms; the outcome and how it differs from the row."""
    try:
        policy = stored_policy(session, s)
        out = compute(facts_of(s), acc, terms=(policy, s.benefit_group))
    except DomainError as exc:
        done[s.id] = (None, [Difference("error", None, exc.message_key)])
        return done[s.id]
    diffs = []
    if out.policy_id != s.policy_id:
        diffs.append(Difference("policy_id", s.policy_id, out.policy_id))
    for name in AMOUNTS:
        if out.parts[name] != getattr(s, name):
            diffs.append(Difference(name, f"{getattr(s, name):.2f}", f"{out.parts[name]:.2f}"))
    for name in ACC_FIELDS:
        for side, acc_value in (("before", out.before), ("after", out.after)):
            stored, again = getattr(s, f"{side}_{name}"), getattr(acc_value, name)
            if stored != again:
                diffs.append(Difference(f"{side}_{name}", f"{stored:.2f}", f"{again:.2f}"))
    if s.applied_terms is not None and policy is not None:
        again_terms = canonical_json(engine.terms_data(policy, s.benefit_group, s.level))
        if again_terms != s.applied_terms:  # the row's own record of its terms disagrees with its policy text
            diffs.append(Difference("applied_terms", s.applied_terms, again_terms))
    done[s.id] = (out, diffs)
    return done[s.id]


def _years_of(session: Session, wanted: list[Settlement]) -> list[Settlement]:
    """Every settlement row of the people's years of `wanted` (in chunks: the whole county's year works)."""
    keys = sorted({(s.resident_id, s.year) for s in wanted})
    out: list[Settlement] = []
    for start in range(0, len(keys), 400):
        part = keys[start:start + 400]
        out.extend(session.scalars(select(Settlement).where(
            tuple_(Settlement.resident_id, Settlement.year).in_(part)).order_by(Settlement.id)))
    return out
