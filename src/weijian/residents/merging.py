"""What a merge moves and how it is undone: the registry of movers (one per domain that keeps rows keyed by a
resident, registered by the composition root: residents may not import them), the record of every row a
merge changed (resident_merge_moves), and the undo that writes the values before back.

Every move is an ORM write, so the running tallies follow in the same flush (core.tallies sees the old and
the new person of each row) and the audit log records it. A domain's mover returns `Moved` rows; this
module stores them, audits them by record type and, on undo, checks that each row still holds the values
the merge wrote before restoring the ones it had.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weijian.core.errors import Conflict
from weijian.core.hooks import NotWired
from weijian.residents.models import Resident, ResidentGroup, ResidentMerge, ResidentMergeMove


@dataclass
class Moved:
    """One row a merge changed: `values` maps each column changed to (before, after); `note` says what the
    change was beyond a move (closed_duplicate, renumbered, combined, kept_on_merged: a row left where it
    was because the survivor has its own, with no values)."""

    entity: str  # the record type as the audit log names it (accounts.audit.entities)
    table: str
    row_id: int
    values: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    note: str | None = None


# Why an undo is refused: (reason key, its params), each naming the record that stops it.
UndoProblems = list[tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Context:
    """What a mover is told: the session, the two records (survivor first), the county's today, and the
    merge's row (an undo reads its time: what was written since)."""

    session: Session
    survivor_id: int
    merged_id: int
    today: date
    merge: ResidentMerge


@dataclass(frozen=True)
class Mover:
    """A domain's part of a merge. `columns`: the foreign-key columns to residents.id it moves ("table.column";
    a test compares them with the metadata, so a new table cannot be forgotten); `classes`: the ORM classes of
    the rows it moves (the undo reads them back); `move(ctx)` moves the rows and returns them; `undo_problems
    (ctx, moves)` names what since the merge stops an undo ((reason key, params), each a refusal); `after(ctx)`
    runs after the moves and after an undo (derived rows: the immunization engine's due dates);
    `renumbered`: table → a unique column the undo restores through a temporary value."""

    name: str
    columns: frozenset[str]
    classes: tuple[type, ...]
    move: Callable[[Context], list[Moved]]
    undo_problems: Callable[[Context, Sequence[ResidentMergeMove]], UndoProblems] | None = None
    after: Callable[[Context], None] | None = None
    renumbered: dict[str, str] = field(default_factory=dict)


_MOVERS: dict[str, Mover] = {}


def add_mover(mover: Mover) -> None:
    """Register a domain's mover (the composition root does, at start); again under its name: replaced."""
    _MOVERS[mover.name] = mover


def movers() -> list[Mover]:
    """The movers, the residents' own first; none registered is a process not wired, refused: a merge that
    moved nothing would hide the merged record's history again."""
    if not _MOVERS:
        raise NotWired("residents.merging: no mover registered: weijian.wiring.wire() was not called")
    return [RESIDENTS_MOVER, *_MOVERS.values()]


def mover_names() -> set[str]:
    return set(_MOVERS)


# --- helpers for the domains' movers ------------------------------------------------------------------
def reassign(ctx: Context, cls: Any, entity: str, column: str = "resident_id",
             rows: Iterable[Any] | None = None) -> list[Moved]:
    """Point the merged record's rows of `cls` (by `column`, or the `rows` given) at the survivor."""
    found = list(rows) if rows is not None else list(ctx.session.scalars(
        select(cls).where(getattr(cls, column) == ctx.merged_id).order_by(cls.id)))
    out = []
    for row in found:
        setattr(row, column, ctx.survivor_id)
        out.append(Moved(entity, cls.__tablename__, row.id, {column: (ctx.merged_id, ctx.survivor_id)}))
    return out


def plain(value: Any) -> Any:
    """A column's value as stored in a move's JSON (dates as ISO text, amounts as text)."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _typed(cls: Any, column: str, value: Any) -> Any:
    if value is None:
        return None
    kind = cls.__table__.c[column].type.python_type
    if kind is date:
        return date.fromisoformat(value)
    if kind is Decimal:
        return Decimal(value)
    return value


# --- the residents' own rows ----------------------------------------------------------------------------
def _move_own(ctx: Context) -> list[Moved]:
    """The merged record's children (mother_id), its groups (the survivor gains those it lacks) and its
    household: a survivor without one takes the merged record's place in it (its relation, the householder
    too) when both are of one village; otherwise the merged record keeps it (retired, it is listed nowhere)."""
    session = ctx.session
    out = reassign(ctx, Resident, "resident", "mother_id")
    survivor = session.get_one(Resident, ctx.survivor_id)
    merged = session.get_one(Resident, ctx.merged_id)
    have = set(survivor.group_codes)
    for code in merged.group_codes:
        if code not in have:
            survivor.groups.append(ResidentGroup(group=code))
            out.append(Moved("resident", "resident_groups", ctx.survivor_id, {"group": (None, code)},
                             note="group_added"))
    if merged.household_id is not None:
        if survivor.household_id is None and survivor.village_code == merged.village_code:
            household_id, relation = merged.household_id, merged.relation_to_head
            values: dict[str, tuple[Any, Any]] = {"household_id": (None, household_id),
                                                  "relation_to_head": (survivor.relation_to_head, relation)}
            out.append(Moved("household", "residents", merged.id,
                             {"household_id": (merged.household_id, None),
                              "relation_to_head": (merged.relation_to_head, None)}, note="household_left"))
            merged.household_id, merged.relation_to_head = None, None
            session.flush()
            survivor.household_id, survivor.relation_to_head = household_id, relation
            out.append(Moved("household", "residents", survivor.id, values, note="household_taken"))
        else:
            out.append(Moved("household", "households", merged.household_id, note="kept_on_merged"))
    session.flush()
    return out


RESIDENTS_MOVER = Mover(
    name="residents", columns=frozenset({"residents.mother_id", "resident_groups.resident_id"}),
    classes=(Resident,), move=_move_own)

# Columns to residents.id that no merge moves, and why (tests/residents/test_merge_moves.py holds the list).
NOT_MOVED = {
    "residents.merged_into_id": "the merge chain itself: a record merged into the merged one still points there",
    "resident_merges.survivor_id": "the merge's own history",
    "resident_merges.merged_id": "the merge's own history",
    "resident_distinct_pairs.first_id": "a clerk's judgement about two records, kept as made",
    "resident_distinct_pairs.second_id": "a clerk's judgement about two records, kept as made",
    "resident_residences.resident_id": "each record keeps the residence history it was registered with (the "
                                       "survivor's counts the events moved to it); the registry's past stays true",
}


# --- merge: move, record, count -----------------------------------------------------------------------
def move_all(ctx: Context) -> list[ResidentMergeMove]:
    """Run every mover for the merge `ctx.merge` (already flushed) and store what moved, in order."""
    moved: list[Moved] = []
    for mover in movers():
        moved += mover.move(ctx)
    ctx.session.flush()
    for mover in movers():
        if mover.after is not None:
            mover.after(ctx)
    rows = [ResidentMergeMove(
        merge_id=ctx.merge.id, seq=i, entity=m.entity, table_name=m.table, row_id=m.row_id, note=m.note,
        changes=json.dumps({k: [plain(b), plain(a)] for k, (b, a) in m.values.items()}, ensure_ascii=False))
        for i, m in enumerate(moved, 1)]
    ctx.session.add_all(rows)
    ctx.session.flush()
    return rows


def counts(moves: Iterable[ResidentMergeMove]) -> dict[str, int]:
    """Record type → rows moved (rows only kept on the merged record, or changed in place, not counted)."""
    return dict(Counter(m.entity for m in moves if m.note != "kept_on_merged"))


def notes(moves: Iterable[ResidentMergeMove]) -> dict[str, int]:
    """Conflict note → rows (closed_duplicate, renumbered, combined, kept_on_merged, …)."""
    return dict(Counter(m.note for m in moves if m.note))


def moves_of(session: Session, merge_id: int) -> list[ResidentMergeMove]:
    return list(session.scalars(select(ResidentMergeMove).where(ResidentMergeMove.merge_id == merge_id)
                                .order_by(ResidentMergeMove.seq)))


# --- undo -----------------------------------------------------------------------------------------------
class UndoRefused(Conflict):
    """The records moved have changed since the merge in a way the undo cannot reverse: `problems` lists each
    (reason key, params); the message is the first."""

    def __init__(self, problems: UndoProblems) -> None:
        key, params = problems[0]
        super().__init__(key, **params)
        self.problems = problems


def _classes() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mover in movers():
        for cls in mover.classes:
            out[cls.__tablename__] = cls  # type: ignore[attr-defined]
    return out


def undo_problems(ctx: Context, moves: Sequence[ResidentMergeMove]) -> UndoProblems:
    """Each reason the undo of this merge is refused: a moved row gone or holding other values than the merge
    wrote, and what each domain names (records added since that rely on the moved history)."""
    classes = _classes()
    problems: UndoProblems = []
    for m in moves:
        changes = json.loads(m.changes)
        if not changes or m.table_name == "resident_groups":
            continue
        cls = classes[m.table_name]
        row = ctx.session.get(cls, m.row_id)
        entity = f"@accounts.audit.entities.{m.entity}"
        if row is None:
            problems.append(("residents.errors.unmerge_row_gone", {"entity": entity, "row_id": m.row_id}))
            continue
        for column, (_before, after) in changes.items():
            if plain(getattr(row, column)) != after:
                problems.append(("residents.errors.unmerge_row_changed",
                                 {"entity": entity, "row_id": m.row_id, "column": column}))
    for mover in movers():
        if mover.undo_problems is not None:
            problems += mover.undo_problems(ctx, moves)
    return problems


def restore_all(ctx: Context, moves: Sequence[ResidentMergeMove]) -> None:
    """Write back the values before, in reverse order; flushed at each change of table and around each
    row that was more than a move (so a closed duplicate reopens after its twin has left, and no unique
    index sees two rows at once), a renumbered column through a temporary value first."""
    session = ctx.session
    classes = _classes()
    renumbered = {t: c for mover in movers() for t, c in mover.renumbered.items()}
    for table, column in renumbered.items():
        ids = [m.row_id for m in moves if m.table_name == table and column in json.loads(m.changes)]
        for row_id in ids:
            setattr(session.get_one(classes[table], row_id), column, -row_id)
        if ids:
            session.flush()
    last_table = None
    for m in reversed(moves):
        changes = json.loads(m.changes)
        if not changes:
            continue
        if m.table_name != last_table or m.note:
            session.flush()
        last_table = m.table_name
        if m.table_name == "resident_groups":
            survivor = session.get_one(Resident, m.row_id)
            survivor.groups = [g for g in survivor.groups if g.group != changes["group"][1]]
            continue
        cls = classes[m.table_name]
        row = session.get_one(cls, m.row_id)
        for column, (before, _after) in changes.items():
            setattr(row, column, _typed(cls, column, before))
        if m.note:
            session.flush()
    try:
        session.flush()
    except IntegrityError:  # a unique row the undo would bring back exists again (written around the checks)
        raise UndoRefused([("residents.errors.unmerge_conflict", {})]) from None
    for mover in movers():
        if mover.after is not None:
            mover.after(ctx)
