"""The built-in computed progress source `indicator:<id>`: the indicator's county value for the calendar year
of the day (indicators.service, the indicator file), e.g. `indicator:prenatal_screening_rate` against a
target of 90 (%). Registered from the composition root (wiring)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from weijian.core.actor import Actor
from weijian.indicators import service as indicators_service


def indicator_known(argument: str) -> bool:
    return argument in {i.id for i in indicators_service.list_indicators()}


def indicator_done(*, session: Session, argument: str, as_of: date) -> Decimal | None:
    """The county's value of the indicator for the year of `as_of` (None: no value, e.g. a zero denominator).
    Read as the system: the figure is an aggregate the bureau publishes, not a record."""
    values = indicators_service.compute(session=session, actor=Actor.system("projects"), indicator_ids=[argument],
                                        period=str(as_of.year))
    return values[0].value if values else None
