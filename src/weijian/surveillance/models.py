"""Tables of surveillance: notifiable-disease case reports (传染病报告卡, surveillance.cases) and the history of
their revisions (订正), deletions and duplicate merges. Times are stored in UTC."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime


class CaseReport(Base):
    """One report card of a notifiable disease case. Never deleted from the table: a deleted card keeps its
    reason; a duplicate points at the report it was merged into (`duplicate_of`) and counts nowhere."""

    __tablename__ = "case_reports"
    __table_args__ = (
        # daily_counts: by disease and onset date; the timeliness indicator: by facility and report time.
        Index("ix_case_reports_disease_onset", "disease", "onset_date", "township_code"),
        Index("ix_case_reports_facility_reported", "facility_id", "reported_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    disease: Mapped[str] = mapped_column(Code(32))  # surveillance/data/diseases.yaml code
    icd10: Mapped[str | None] = mapped_column(Code(10))
    onset_date: Mapped[date] = mapped_column(Date)
    diagnosed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # suspected | clinical | confirmed | carrier | excluded (疑似 / 临床诊断 / 实验室确诊 / 病原携带 / 排除)
    classification: Mapped[str] = mapped_column(Code(16))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    doctor_name: Mapped[str | None] = mapped_column(String(64))
    # The patient's village and township when the card was made (the counts stay where the case was).
    village_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"))
    township_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"))
    status: Mapped[str] = mapped_column(Code(16), default="active")  # active | deleted
    delete_reason: Mapped[str | None] = mapped_column(Text)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("case_reports.id"))
    # The judgement of the card's timeliness is stored, not worked out on read: it is made by the limit of the
    # disease list's edition in force when the card was reported (a later edition, or a disease moved to
    # another class, does not re-judge old cards, as the rule version of a follow-up), and the timeliness
    # indicator counts late cards per facility and month in SQL. A revision (订正) of the diagnosis time or
    # the disease re-judges it (cases.service), with the values before kept in the revision.
    limit_hours: Mapped[int] = mapped_column(Integer)
    delay_hours: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounters.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(64))

    revisions: Mapped[list[CaseReportRevision]] = relationship(
        back_populates="report", order_by="CaseReportRevision.id")


class CaseReportRevision(Base):
    """One change of a card: a revision (订正), a deletion or a duplicate merge, with the values before and
    after (JSON), who, when and why."""

    __tablename__ = "case_report_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("case_reports.id"), index=True)
    kind: Mapped[str] = mapped_column(Code(16))  # revise | delete | duplicate
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    by_name: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    before: Mapped[str] = mapped_column(Text)  # JSON: the changed fields' previous values
    after: Mapped[str] = mapped_column(Text)  # JSON: their new values

    report: Mapped[CaseReport] = relationship(back_populates="revisions")
