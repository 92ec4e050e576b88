"""The care domain's service: the one module other domains import. Each area lives in its own module
(records, chronic, referrals, teleconsult, figures); their public functions are re-exported here.

Areas import each other's modules directly (`from weijian.care import chronic`); other domains use
`from weijian.care import service as care_service`.
"""
from __future__ import annotations
