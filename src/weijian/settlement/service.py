"""The settlement domain's service: the one module other domains import (`from weijian.settlement import
service as settlement_service`). Each area lives in its own module (settle, paylater, budget,
monitoring); their public functions are re-exported here.

`try_settle_at_discharge` is care's discharge hook (registered by weijian.wiring), so a stay is settled in
the discharge's transaction.
"""
from __future__ import annotations

# Totals for the indicators domain (per village and month, one grouped query), in settlement/counts.py.
from weijian.settlement.counts import PAYERS, amounts_by_month, amounts_by_month_all, payer_column, settlement_records
from weijian.settlement.paylater import grant_waiver, record_payment
from weijian.settlement.paylater import ledger as balances_ledger
from weijian.settlement.paylater import rules as paylater_rules
from weijian.settlement.settle import (
    SELF_PAY,
    Reversal,
    for_encounter,
    get,
    list_for_resident,
    pending_statement,
    reverse,
    settle_encounter,
    settle_pending,
    stay_facts,
    try_settle_at_discharge,
)
