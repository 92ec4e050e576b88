"""Tables of public-health emergencies: events and their timeline, response teams and their members,
deployments of staff, drills and the reserve of supplies."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime


class EmergencyEvent(Base):
    """突发公共卫生事件: what happened, its grade (I–IV), when it occurred, when it was discovered (none: when it
    occurred) and when it was reported — the 2-hour limit runs from the discovery (突发公共卫生事件应急条例
    Art. 20: "发现…应当在2小时内…报告"; emergency.rules) — where (an org unit), open or closed."""

    __tablename__ = "emergency_events"
    __table_args__ = (Index("ix_emergency_events_occurred", "occurred_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(Code(32))
    grade: Mapped[str] = mapped_column(Code(4))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    discovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    orgunit_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"))
    status: Mapped[str] = mapped_column(Code(16), default="open")  # open | closed
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class TimelineEntry(Base):
    """One entry of an event's timeline: when, and what was done or learnt."""

    __tablename__ = "emergency_timeline"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("emergency_events.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    entry: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class ResponseTeam(Base):
    """A standing response team (卫生应急队伍): its name and speciality."""

    __tablename__ = "response_teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    specialty: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class TeamMember(Base):
    """A member of a team: a user of weijian or a name, and the member's role in the team."""

    __tablename__ = "team_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("response_teams.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(50))


class Deployment(Base):
    """A batch of staff sent (派出批次): the day, where to, how many people, the task; the team and the event
    when there is one."""

    __tablename__ = "deployments"
    __table_args__ = (CheckConstraint("people > 0", name="people"),
                      Index("ix_deployments_day", "deployed_on"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployed_on: Mapped[date] = mapped_column(Date)
    destination: Mapped[str] = mapped_column(String(200))
    people: Mapped[int] = mapped_column(Integer)
    task: Mapped[str] = mapped_column(Text)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("response_teams.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("emergency_events.id"), index=True)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Drill(Base):
    """An exercise (应急演练): the day, the scenario, how many took part."""

    __tablename__ = "drills"
    __table_args__ = (CheckConstraint("participants >= 0", name="participants"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    held_on: Mapped[date] = mapped_column(Date)
    scenario: Mapped[str] = mapped_column(Text)
    participants: Mapped[int] = mapped_column(Integer)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("response_teams.id"))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class ReserveSupply(Base):
    """An item of the emergency reserve (应急物资储备): quantity, unit, expiry (None: does not expire)."""

    __tablename__ = "reserve_supplies"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(20))
    expiry_date: Mapped[date | None] = mapped_column(Date)
    location: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
