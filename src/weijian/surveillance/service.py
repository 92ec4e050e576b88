"""What other domains use of surveillance, re-exported from its areas (STYLE 17): the case reports' writes and
reads (surveillance.cases); TB patient management's worklist section, merge mover and indicator counts
(surveillance.tb)."""
from __future__ import annotations

from weijian.surveillance.cases.figures import (
    CLASS_FILTERS,
    TIMELINESS,
    case_onset_counts_by_month,
    case_onset_records,
    case_report_counts_by_month,
    case_report_records,
)
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
from weijian.surveillance.tb.service import MERGE_MOVER as TB_MERGE_MOVER
from weijian.surveillance.tb.service import counts_by_village as tb_counts_by_village
from weijian.surveillance.tb.service import patients_on as tb_patients_on
from weijian.surveillance.tb.service import records_for as tb_records_for
from weijian.surveillance.tb.service import worklist_section as tb_worklist_section

__all__ = ["CLASS_FILTERS", "CaseItem", "CasePage", "MERGE_MOVER", "TIMELINESS", "case_onset_counts_by_month",
           "case_onset_records", "allowed_actions", "case_report_counts_by_month",
           "case_report_prompts", "case_report_records", "counted", "daily_counts", "delete", "disease_name", "get",
           "list_reports", "mark_duplicate", "move_resident", "report", "report_for_encounter", "revise",
           "TB_MERGE_MOVER", "tb_counts_by_village", "tb_patients_on", "tb_records_for", "tb_worklist_section"]
