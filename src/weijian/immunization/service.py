"""The immunization domain's service: the one module other domains import. Each area lives in its own
package or module (schedule: the rules and the pure engine; records, recall, stock, newborn, figures, counts:
database); their public functions are re-exported here, under their own names."""
from __future__ import annotations

# Counts for the indicators domain (per village, one read for many periods), in immunization/counts.py.
from weijian.immunization.counts import (
                                          coverage_by_period,
                                          dose_records,
                                          doses_by_month,
                                          doses_by_month_and_vaccine,
                                          eligible_born_by,
                                          series_dates,
                                          slot_span,
)
from weijian.immunization.figures import coverage, doses_given, latest_birth, rates, slots, timeliness
from weijian.immunization.newborn.queries import (
                                                  certificate_view,
                                                  export_packets,
                                                  get_registration,
                                                  list_handoffs,
                                                  list_registrations,
)
from weijian.immunization.newborn.service import register_newborn, set_handoff_status
from weijian.immunization.recall.export import recall_xlsx
from weijian.immunization.recall.queries import parse_week, recall_list, week_bounds, worklist_recall
from weijian.immunization.records.queries import child_schedule, get_vaccination, list_aefi
from weijian.immunization.records.service import (
    MERGE_MOVER,
    record_historical,
    record_refusal,
    record_vaccination,
    report_aefi,
)
from weijian.immunization.schedule.due import refresh_due
from weijian.immunization.schedule.rules import VACCINE_CODES, add_months, edition_files, edition_for, editions
from weijian.immunization.stock.queries import (
                                                available_lots,
                                                balances,
                                                flags,
                                                list_points,
                                                managed_points,
                                                point_of_facility,
                                                suggest_lot,
)
from weijian.immunization.stock.service import (
                                                adjust,
                                                create_lot,
                                                create_point,
                                                receive,
                                                transfer,
                                                use_dose,
                                                waste,
)
