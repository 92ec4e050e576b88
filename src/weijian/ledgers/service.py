"""What other domains and the composition root use of ledgers, re-exported from its areas (STYLE 17): the
hazard ledger's escalation list (ledgers.hazards), the practical projects' 序时进度 rule and their computed
progress sources (ledgers.projects: `register_source(kind, fn, known=…)`, a project's `source` being
`kind:argument`)."""
from __future__ import annotations

from weijian.ledgers.hazards.queries import Escalation, escalations
from weijian.ledgers.projects.figures import indicator_done, indicator_known
from weijian.ledgers.projects.rules import Progress, progress
from weijian.ledgers.projects.sources import Source, register_source, source_kinds

__all__ = ["Escalation", "Progress", "Source", "escalations", "indicator_done", "indicator_known", "progress",
           "register_source", "source_kinds"]
