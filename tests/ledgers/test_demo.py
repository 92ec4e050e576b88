"""The demo's ledgers (demo/ledger_assets.py) on the test county: every township centre and village clinic
assessed, some meeting the standard; AEDs with inspections, some flagged; training sessions this year; blood
donors whose every donation is one the service would accept (GB 18467's volumes, ages and intervals,
replayed through `check_donation`), some due for recall."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests import factories as f
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import ErrorCollector
from weijian.demo import ledger_assets
from weijian.ledgers.blood import queries as blood_queries
from weijian.ledgers.blood import service as blood
from weijian.ledgers.blood.models import BloodDonation, BloodDonor
from weijian.ledgers.blood.schemas import DonationCreate
from weijian.ledgers.equipment import service as equipment
from weijian.ledgers.standards import service as standards
from weijian.ledgers.training import service as training


def test_the_demo_ledgers_are_current_and_every_donation_keeps_the_rules(session):
    f.make_county(session)
    f.make_care_facilities(session)
    for i in range(30):
        f.make_resident(session, name="献血候选", birth_date=date(1975 + i, 3, 1 + i % 27))
    today = clock.today()
    summary = ledger_assets.build(session=session, seed=1, reference=today)
    actor = Actor.system("test")
    assert summary.assessments >= 5  # 2 township centres and 3 clinics, some twice
    for std in ("township_quality", "village_clinic"):
        p = standards.progress(session=session, standard=std, as_of=today)
        assert p.total == (2 if std == "township_quality" else 3)
    devices = equipment.list_devices(session=session, actor=actor, as_of=today)
    assert len(devices) == ledger_assets.AEDS and any(d.uninspected for d in devices)
    assert any(d.expiring for d in devices) and not all(d.uninspected for d in devices)
    assert equipment.public_place_count(session=session, as_of=today) > 0
    assert sum(r.trained for r in training.rollup(session=session, actor=actor,
                                                  date_from=today.replace(month=1, day=1), date_to=today)) > 0
    donors = list(session.scalars(select(BloodDonor).order_by(BloodDonor.id)))
    assert len(donors) == summary.donors >= ledger_assets.OUTSIDE_DONORS
    for donor in donors:
        history = blood_queries.history(session, donor)
        for i, d in enumerate(history):
            errs = ErrorCollector()
            cmd = build(DonationCreate, donated_on=d.donated_on.isoformat(), kind=d.kind, volume_ml=d.volume_ml,
                        units=d.units)
            blood.check_donation(donor, history[:i], cmd, today, errs)
            assert errs.errors == [], (donor.name, d.donated_on, errs.errors)
    assert session.scalar(select(BloodDonation.id).where(BloodDonation.donated_on > today)) is None
    assert blood.recall(session=session, actor=actor, as_of=today)
