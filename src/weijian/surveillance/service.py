"""What other domains use of surveillance: the case reports' writes and reads (surveillance.cases), re-exported
under their own names."""
from __future__ import annotations

from weijian.surveillance.cases.figures import TIMELINESS, case_report_counts_by_month, case_report_records
from weijian.surveillance.cases.prompts import case_report_prompts
from weijian.surveillance.cases.queries import (
    CaseItem,
    CasePage,
    counted,
    daily_counts,
    disease_name,
    get,
    list_reports,
    report_for_encounter,
)
from weijian.surveillance.cases.service import (
    MERGE_MOVER,
    allowed_actions,
    delete,
    mark_duplicate,
    move_resident,
    report,
    revise,
)

__all__ = ["CaseItem", "CasePage", "MERGE_MOVER", "TIMELINESS", "allowed_actions", "case_report_counts_by_month",
           "case_report_prompts", "case_report_records", "counted", "daily_counts", "delete", "disease_name", "get",
           "list_reports", "mark_duplicate", "move_resident", "report", "report_for_encounter", "revise"]
