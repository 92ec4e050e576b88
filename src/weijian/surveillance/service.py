"""What other domains use of surveillance, re-exported from its areas (STYLE 17): TB patient management's
worklist section, merge mover and indicator counts (surveillance.tb)."""
from __future__ import annotations

from weijian.surveillance.tb.service import MERGE_MOVER as TB_MERGE_MOVER
from weijian.surveillance.tb.service import counts_by_village as tb_counts_by_village
from weijian.surveillance.tb.service import records_for as tb_records_for
from weijian.surveillance.tb.service import worklist_section as tb_worklist_section

__all__ = ["TB_MERGE_MOVER", "tb_counts_by_village", "tb_records_for", "tb_worklist_section"]
