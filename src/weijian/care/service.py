"""The care domain's service: the one module other domains import. Each area lives in its own module
(records, chronic/, referrals/, teleconsult/, figures); their public functions are re-exported here.

Areas import each other's modules directly (`from weijian.care.chronic import service as chronic`); other domains use
`from weijian.care import service as care_service`.
"""
from __future__ import annotations

from weijian.care.chronic.service import (
    close_from_voided_diagnosis,
    due_follow_ups,
    get_program,
    management_rates,
    record_follow_up,
    register_from_diagnosis,
)

# Counts for the indicators domain (per village and month, one grouped query each), in care/counts.py.
from weijian.care.counts import (
    ENCOUNTER_COUNTERS,
    chronic_records,
    elderly_check_records,
    elderly_checked,
    encounter_counter_columns,
    encounter_counts,
    encounter_records,
    referral_counts_by_month,
    referral_records,
    screened_people,
    screening_counts,
    screening_records,
)
from weijian.care.icd10 import get as icd10_code  # a diagnosis code's entry (its name), for other domains' pages
from weijian.care.records.figures import PRIMARY_TYPES, county_retention_rate, primary_care_share
from weijian.care.records.service import (
    create_encounter,
    create_health_check,
    create_screening,
    discharge,
    get_encounter,
    list_encounters,
    register_discharge_hook,
    register_timeline_source,
    timeline,
)
from weijian.care.referrals.queries import access_basis_for, referral_counts
from weijian.care.referrals.service import create_downward
from weijian.care.worklist import worklist
