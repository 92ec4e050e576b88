"""The audit log's hash chain: every row is appended here, and `verify` walks the chain.

Each row carries `seq` (1, 2, 3 … without gaps) and `chain_hash` = HMAC-SHA256(key, previous row's hash +
this row's content); the key lives outside the database (core/keys.py). The head (last seq, event id and
hash) is kept in `audit_chain_head`, signed with the same key. Someone who can write to the database but
has not the key cannot change, insert, remove or reorder a row, nor drop the newest rows, without
`verify` naming the first row where the chain breaks — unless they put back an older head row they kept
(e.g. from a backup) and drop everything after it: `verify` prints the head so that it can be recorded
elsewhere, and `--expect SEQ:HASH` checks that a recorded head is still in the chain.

The content hashed is every column but `id` and `chain_hash`, those that are NULL left out: a nullable
column added later leaves the hashes of older rows as they were (a column with a non-NULL default would
need its migration to re-chain the table).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

from sqlalchemy import Integer, String, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from weijian.accounts.models import AuditChainHead, AuditEvent, AuditShown
from weijian.core import clock
from weijian.core.db import keyring

GENESIS = "0" * 64  # the "previous hash" of the first row
HEAD_ID = 1
BREAK_ACTION = "chain_break"  # an event appended when the head was found altered (see `append`)
_EXCLUDED = {"id", "chain_hash"}


# --- hashing ---------------------------------------------------------------------------------------
def _canon(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite hands back naive UTC
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def content(row: Mapping[str, Any]) -> str:
    """The canonical text of a row: its columns but id and chain_hash, NULLs left out, keys sorted."""
    names = [c.name for c in AuditEvent.__table__.columns if c.name not in _EXCLUDED]
    data = {n: _canon(row[n]) for n in names if row.get(n) is not None}
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def row_hash(key: bytes, prev: str, row: Mapping[Any, Any]) -> str:
    return hmac.new(key, f"{prev}\n{content(row)}".encode(), hashlib.sha256).hexdigest()


def head_signature(key: bytes, seq: int, event_id: int | None, last_hash: str) -> str:
    # "head|" keeps a head signature from ever equalling a row hash (one could otherwise be copied).
    return hmac.new(key, f"head|{seq}|{event_id}|{last_hash}".encode(), hashlib.sha256).hexdigest()


def genesis_head(key: bytes) -> dict[str, Any]:
    return dict(id=HEAD_ID, seq=0, event_id=None, hash=GENESIS, signature=head_signature(key, 0, None, GENESIS))


# --- appending -------------------------------------------------------------------------------------
def shown_ids(detail: str | None) -> list[int]:
    """The resident ids a list or search event showed (`shown` in its JSON detail), sorted: what
    `append` indexes in audit_shown and `verify` checks against it."""
    if not detail or '"shown"' not in detail:
        return []
    return sorted({int(i) for i in json.loads(detail).get("shown") or ()})


def _normalized(row: Mapping[str, Any]) -> dict[str, Any]:
    """Values as the database hands them back (an id given as text is stored as a number), so that the
    hash computed now is the one `verify` recomputes."""
    out = dict(row)
    out.setdefault("at", clock.now())
    for column in AuditEvent.__table__.columns:
        value = out.get(column.name)
        if value is None or column.name in _EXCLUDED or column.name == "at":
            continue
        if isinstance(column.type, Integer):
            out[column.name] = int(value)
        elif isinstance(column.type, String):  # Text too
            out[column.name] = str(value)
    return out


def _take_head(session: Session) -> Any:
    """The head row, locked until the transaction ends. On SQLite every write transaction already holds
    the database's write lock (BEGIN IMMEDIATE); on PostgreSQL the row lock serializes appenders."""
    stmt = select(AuditChainHead.__table__).where(AuditChainHead.id == HEAD_ID)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    head = session.execute(stmt).first()
    if head is None:
        raise RuntimeError("audit_chain_head has no row: the database was not migrated (weijian db upgrade)")
    return head


def append(session: Session, rows: Iterable[dict[str, Any]], *, objects: bool = False) -> list[AuditEvent]:
    """Append `rows` (AuditEvent column values, without id, seq and chain_hash) to the chain, in order, in
    `session`'s transaction: the one way rows get into audit_events. `objects`: add them as ORM objects and
    return them (a single event whose id the caller wants); else one executemany (batch jobs).

    A head whose signature does not hold (someone changed it, e.g. to hide the newest rows) is not
    silently re-signed: a `chain_break` event recording what was found goes first, and `verify` reports it.
    """
    rows = [_normalized(r) for r in rows]
    if not rows:
        return []
    key = keyring(session).audit()
    head = _take_head(session)
    asked = len(rows)
    if not hmac.compare_digest(head.signature, head_signature(key, head.seq, head.event_id, head.hash)):
        at = rows[0]["at"]
        rows.insert(0, dict(at=at, user_id=None, username="system", role="system", action=BREAK_ACTION,
                            entity_type="audit_chain", entity_id=str(head.seq), resident_id=None,
                            basis="system", ip=None, detail=json.dumps(
                                {"head_seq": head.seq, "head_event_id": head.event_id, "head_hash": head.hash},
                                ensure_ascii=False)))
    seq, prev = head.seq, head.hash
    for row in rows:
        seq += 1
        row["seq"] = seq
        row["chain_hash"] = prev = row_hash(key, prev, row)
    shown = [dict(seq=row["seq"], resident_id=rid) for row in rows for rid in shown_ids(row.get("detail"))]
    out: list[AuditEvent] = []
    if objects:
        out = [AuditEvent(**row) for row in rows]
        session.add_all(out)
        session.flush()
        last_id = out[-1].id
    else:
        session.execute(AuditEvent.__table__.insert(), rows)
        last_id = session.scalar(select(AuditEvent.id).where(AuditEvent.seq == seq))
    if shown:
        session.execute(AuditShown.__table__.insert(), shown)
    session.execute(update(AuditChainHead.__table__).where(AuditChainHead.id == HEAD_ID).values(
        seq=seq, event_id=last_id, hash=prev, signature=head_signature(key, seq, last_id, prev)))
    return out[-asked:]  # the caller's own events, not a chain_break put before them


# --- verifying -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """Where the chain breaks: `kind` (altered | missing | reordered | duplicate | head | chain_break |
    anchor), the chain position and event id it names, and a message (key under accounts.audit_chain)."""

    kind: str
    seq: int | None
    event_id: int | None
    message_key: str
    params: dict[str, Any]


@dataclass
class Verification:
    count: int = 0
    head_seq: int | None = None
    head_hash: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(bind: Session | Connection, *, key: bytes | None = None,
           expect: tuple[int, str] | None = None) -> Verification:
    """Walk the chain in seq order and stop at the first row where it breaks; then check the head.
    `expect` (seq, hash): a head recorded earlier, which must still be in the chain."""
    key = key if key is not None else keyring(bind).audit()
    result = Verification()
    t = AuditEvent.__table__
    expected, prev, last_id = 1, GENESIS, 0
    found_expect = expect is None

    def fail(kind: str, seq: int | None, event_id: int | None, message: str, **params: Any) -> Verification:
        result.problems.append(Problem(kind, seq, event_id, f"accounts.audit_chain.{message}",
                                       dict(seq=seq, id=event_id, **params)))
        return result

    index = _shown_by_seq(bind)
    pending = next(index, None)  # (seq, resident ids) of audit_shown not yet matched to an event
    stmt = select(t).order_by(t.c.seq, t.c.id).execution_options(yield_per=5000)
    for row in bind.execute(stmt).mappings():
        seq, rid = row["seq"], row["id"]
        if seq is None or seq < expected:
            return fail("duplicate", seq, rid, "duplicate")
        if seq > expected:
            return fail("missing", expected, rid, "missing", gap=_span(expected, seq - 1))
        if rid <= last_id:
            return fail("reordered", seq, rid, "reordered", before=last_id)
        if not hmac.compare_digest(row["chain_hash"] or "", row_hash(key, prev, row)):
            return fail("altered", seq, rid, "altered")
        if row["action"] == BREAK_ACTION:
            return fail("chain_break", seq, rid, "chain_break", found=row["detail"])
        indexed: list[int] = []
        if pending is not None and pending[0] < seq:
            return fail("shown", pending[0], None, "shown_orphan")
        if pending is not None and pending[0] == seq:
            indexed, pending = pending[1], next(index, None)
        if indexed != shown_ids(row["detail"]):
            return fail("shown", seq, rid, "shown_differs")
        if expect is not None and seq == expect[0]:
            if not hmac.compare_digest(row["chain_hash"], expect[1]):
                return fail("anchor", seq, rid, "anchor_differs")
            found_expect = True
        result.count += 1
        expected, prev, last_id = seq + 1, row["chain_hash"], rid
    last_seq = expected - 1
    if pending is not None:
        return fail("shown", pending[0], None, "shown_orphan")
    head = bind.execute(select(AuditChainHead.__table__).where(AuditChainHead.id == HEAD_ID)).first()
    if head is None:
        return fail("head", None, None, "head_missing")
    result.head_seq, result.head_hash = head.seq, head.hash
    if not hmac.compare_digest(head.signature, head_signature(key, head.seq, head.event_id, head.hash)):
        return fail("head", head.seq, head.event_id, "head_signature")
    if head.seq > last_seq:
        return fail("missing", last_seq + 1, head.event_id, "newest_missing", gap=_span(last_seq + 1, head.seq))
    if head.seq < last_seq:
        return fail("head", head.seq + 1, None, "head_behind", head_seq=head.seq)
    if head.hash != prev or (head.seq and head.event_id != last_id):
        return fail("head", head.seq, head.event_id, "head_mismatch", last=last_id)
    if not found_expect:
        return fail("anchor", expect[0], None, "anchor_missing")
    return result


def _shown_by_seq(bind: Session | Connection) -> Iterator[tuple[int, list[int]]]:
    """audit_shown grouped by seq, in seq order (streamed, as the events are)."""
    t = AuditShown.__table__
    stmt = select(t.c.seq, t.c.resident_id).order_by(t.c.seq, t.c.resident_id).execution_options(yield_per=5000)
    for seq, group in groupby(bind.execute(stmt), key=lambda r: r[0]):
        yield seq, [r[1] for r in group]


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}–{last}"
