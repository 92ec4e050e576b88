"""Tables: settlements of inpatient stays (the cascade's breakdown and the year's accumulations before and
after), each person's running accumulations for a year, deposit waivers and outstanding balances under
先诊疗后付费, and the medical community's yearly bundled budget.

A settlement row is never changed except for its status: a reversal (冲销) marks it `reversed`; stays
settled after it in the same year are re-settled, their old rows marked `superseded` and new rows
written, so the history of every figure shown on a slip stays in the table.

Each settlement keeps the terms it ran on (issue 15 item 9): the policy as it stood (a row of
`settlement_terms`, one per distinct policy text, named by its SHA-256 digest) and the terms of its group
and level that applied (`applied_terms`, canonical JSON), written at settlement and never changed, so a
re-settlement or a reproduction does not depend on today's policy files. `reversed_on` is the local day a
row stopped counting (reversed, or superseded by a re-settlement): its amounts are booked positive in the
month of `settled_on` and negative in the month of `reversed_on` (red-ink reversal, 会计基础工作规范 第五十一条),
so a closed month's figures never change."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime

Money = Numeric(12, 2)
ZERO = Decimal("0.00")


class SettlementTerms(Base):
    """A policy's terms as a settlement ran on them: the policy-file format as canonical JSON
    (settle.rules.policy_snapshot), one row per distinct text, never changed."""

    __tablename__ = "settlement_terms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of `snapshot`
    policy_id: Mapped[str] = mapped_column(String(64))  # <region>-<scheme>-<version>
    snapshot: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Settlement(Base):
    """One settlement of one stay (an inpatient or day-surgery encounter) under one policy."""

    __tablename__ = "settlements"
    __table_args__ = (
        Index("ix_settlements_resident_year", "resident_id", "year"),
        Index("ix_settlements_settled_on", "settled_on"),
        Index("ix_settlements_encounter", "encounter_id"),
        CheckConstraint("status in ('settled', 'reversed', 'superseded')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))  # None: out of county
    # Org unit the stay counts at for figures: the patient's village at settlement time.
    village_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"), index=True)
    in_county: Mapped[bool] = mapped_column(Boolean, default=True)
    policy_id: Mapped[str] = mapped_column(String(64))
    scheme: Mapped[str] = mapped_column(Code(16))  # resident | employee
    benefit_group: Mapped[str | None] = mapped_column(Code(32))  # the group whose terms applied, if any
    year: Mapped[int] = mapped_column(Integer)  # the accumulation year (of the stay's date)
    seq: Mapped[int] = mapped_column(Integer)  # order within the person's year: accumulations run in seq order
    stay_date: Mapped[date] = mapped_column(Date)  # the date the policy is chosen by (discharge)
    settled_on: Mapped[date] = mapped_column(Date)  # local day of settlement (for monthly spending)
    level: Mapped[str] = mapped_column(Code(16))  # township | county | city
    downward_referral: Mapped[bool] = mapped_column(Boolean, default=False)
    referred: Mapped[bool] = mapped_column(Boolean, default=False)  # on a referral (倾斜救助 out of the county)

    total: Mapped[Decimal] = mapped_column(Money)
    in_policy: Mapped[Decimal] = mapped_column(Money)
    out_of_policy: Mapped[Decimal] = mapped_column(Money)
    deductible: Mapped[Decimal] = mapped_column(Money)
    basic_pays: Mapped[Decimal] = mapped_column(Money)
    critical_illness_pays: Mapped[Decimal] = mapped_column(Money)  # 居民大病保险 (resident scheme)
    large_expense_pays: Mapped[Decimal] = mapped_column(Money, default=ZERO)  # 职工大额医疗费用补助 (employee scheme)
    assistance_deductible: Mapped[Decimal] = mapped_column(Money, default=ZERO)  # borne against the 救助起付标准
    assistance_pays: Mapped[Decimal] = mapped_column(Money)
    tilt_assistance_pays: Mapped[Decimal] = mapped_column(Money, default=ZERO)  # 倾斜救助
    patient_pays: Mapped[Decimal] = mapped_column(Money)

    # The year's accumulations before this stay (after = before + this stay's parts).
    before_deductible_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    before_basic_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    before_in_policy_share: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    before_critical_illness_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    before_assistance_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    after_deductible_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    after_basic_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    after_in_policy_share: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    after_critical_illness_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    after_assistance_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    before_large_expense_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    before_assistance_deductible_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    before_tilt_share: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    before_tilt_assistance_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    after_large_expense_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    after_assistance_deductible_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    after_tilt_share: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    after_tilt_assistance_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)

    pay_later: Mapped[bool] = mapped_column(Boolean, default=False)  # 先诊疗后付费: share became a balance
    status: Mapped[str] = mapped_column(Code(16), default="settled")
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("settlements.id"))  # re-settlement of
    reversal_reason: Mapped[str | None] = mapped_column(String(200))
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reversed_by: Mapped[str | None] = mapped_column(String(64))
    settled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    settled_by: Mapped[str | None] = mapped_column(String(64))
    # The terms it ran on (module docstring). None on a self-pay stay (no terms), and on rows settled before
    # migration 0013, which recorded only policy_id (they are re-settled and reproduced from that file).
    terms_id: Mapped[int | None] = mapped_column(ForeignKey("settlement_terms.id"))
    applied_terms: Mapped[str | None] = mapped_column(Text)
    # Local day it stopped counting (reversed or superseded): booked negative in that month.
    reversed_on: Mapped[date | None] = mapped_column(Date, index=True)

    @property
    def fund_pays(self) -> Decimal:
        """What the payers other than the patient pay together."""
        return (self.basic_pays + self.critical_illness_pays + self.large_expense_pays + self.assistance_pays
                + self.tilt_assistance_pays)


class SettlementYear(Base):
    """A person's running accumulations for one year: the `after_*` of their last live settlement. Kept
    so a new settlement reads one row (and locks it: `version` is an optimistic lock)."""

    __tablename__ = "settlement_years"
    __table_args__ = (UniqueConstraint("resident_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    year: Mapped[int] = mapped_column(Integer)
    deductible_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    basic_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    in_policy_share: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    critical_illness_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    assistance_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    large_expense_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    assistance_deductible_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    tilt_share: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    tilt_assistance_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    stays: Mapped[int] = mapped_column(Integer, default=0)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class DepositWaiver(Base):
    """先诊疗后付费: an eligible resident admitted without a deposit (one per stay)."""

    __tablename__ = "deposit_waivers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"), unique=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    basis_group: Mapped[str] = mapped_column(Code(32))  # the resident group that made them eligible
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    granted_by: Mapped[str | None] = mapped_column(String(64))


class Balance(Base):
    """The patient's final share of a pay-later stay, outstanding until paid."""

    __tablename__ = "settlement_balances"
    __table_args__ = (
        Index("ix_settlement_balances_facility_status", "facility_id", "status"),
        CheckConstraint("paid_amount >= 0", name="paid_nonnegative"),
        CheckConstraint("status in ('outstanding', 'paid', 'cancelled')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id"), unique=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Code(16), default="outstanding")  # cancelled: its settlement reversed
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class BundledBudget(Base):
    """医保打包支付: the insurer's global budget for the medical community's residents for one year."""

    __tablename__ = "bundled_budgets"
    __table_args__ = (UniqueConstraint("orgunit_code", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    orgunit_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"))  # the county
    year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Money)
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(64))


class PovertyRiskReview(Base):
    """防止因病返贫致贫监测: the bureau's status of one person the list flagged — to_check (待核查), helped
    (已帮扶), closed (已关闭) — with who set it, when, and their note. One row per person; each change is
    in the audit log with the status and note before."""

    __tablename__ = "poverty_risk_reviews"
    __table_args__ = (CheckConstraint("status in ('to_check', 'helped', 'closed')", name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), unique=True)
    status: Mapped[str] = mapped_column(Code(16), default="to_check")
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
