"""The settlement domain's service: the one module other domains import (`from weijian.settlement import
service as settlement_service`). Each area is a package (settle, paylater, budget, monitoring) with its own
service (writes) and queries (reads); their public functions are re-exported here, each under its own name
(the bundled budget and poverty-risk monitoring are pages and figures of their own, used by no other domain).

`try_settle_at_discharge` is care's discharge hook (registered by weijian.wiring), so a stay is settled in
the discharge's transaction.
"""
from __future__ import annotations

# Totals for the indicators domain (per village and month, one grouped query), in settlement/counts.py.
from weijian.settlement.counts import PAYERS, amounts_by_month, amounts_by_month_all, payer_column, settlement_records
from weijian.settlement.paylater.queries import balances_ledger
from weijian.settlement.paylater.rules import paylater_rules
from weijian.settlement.paylater.service import grant_waiver, record_payment
from weijian.settlement.settle.queries import (
    SELF_PAY,
    for_encounter,
    get,
    list_for_resident,
    live_settlement,
    pending_statement,
    stay_facts,
)
from weijian.settlement.settle.service import (
    Reversal,
    reverse,
    settle_encounter,
    settle_pending,
    try_settle_at_discharge,
)

__all__ = [
    "PAYERS", "SELF_PAY", "Reversal", "amounts_by_month", "amounts_by_month_all", "balances_ledger", "for_encounter",
    "get", "grant_waiver", "list_for_resident", "live_settlement", "payer_column", "paylater_rules",
    "pending_statement", "record_payment", "reverse", "settle_encounter", "settle_pending", "settlement_records",
    "stay_facts", "try_settle_at_discharge",
]
