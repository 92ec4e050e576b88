"""The settlement domain's service: the one module other domains import (`from weijian.settlement import
service as settlement_service`). Each area lives in its own module (settle, paylater, budget,
monitoring); their public functions are re-exported here.

Importing it registers the discharge hook with care, so a stay is settled in the discharge's transaction.
"""
from __future__ import annotations

from weijian.care import service as care_service

# Totals for the indicators domain (per village and month, one grouped query), in settlement/counts.py.
from weijian.settlement.counts import PAYERS, amounts_by_month, amounts_by_month_all, settlement_records
from weijian.settlement.paylater import grant_waiver, record_payment
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

care_service.register_discharge_hook("settlement", try_settle_at_discharge)

