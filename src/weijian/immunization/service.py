"""The immunization domain's service: the one module other domains import. Each area lives in its own
module (schedule/engine: pure; records, stock, recall, figures, newborn: database); their public
functions are re-exported here."""
from __future__ import annotations
