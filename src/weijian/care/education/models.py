"""Tables of health education (健康教育): the activities a facility holds (lectures, consultations, board
updates, printed and audio-visual materials) and their photos (files under the media folder, the table
keeping their name, type, size and hash)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime


class EducationActivity(Base):
    """One health-education activity of a facility on a day."""

    __tablename__ = "education_activities"
    __table_args__ = (
        CheckConstraint("kind in ('lecture', 'consultation', 'bulletin', 'materials', 'video')", name="kind"),
        CheckConstraint("audience >= 0", name="audience"),
        Index("ix_education_activities_facility_date", "facility_id", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    kind: Mapped[str] = mapped_column(Code(16))  # rules().kinds
    date: Mapped[date] = mapped_column(Date)
    topic: Mapped[str] = mapped_column(String(200))  # 主题; for materials and video the title (种)
    place: Mapped[str | None] = mapped_column(String(200))
    audience: Mapped[int] = mapped_column(Integer, default=0)  # 受众人数 (copies handed out, for materials)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(64))

    photos: Mapped[list[EducationPhoto]] = relationship(back_populates="activity", order_by="EducationPhoto.id")


class EducationPhoto(Base):
    """A photo of an activity: the file `<media dir>/education/<stored_name>`, checked to be an image."""

    __tablename__ = "education_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("education_activities.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)  # <sha256>.<ext>
    content_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    original_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(64))

    activity: Mapped[EducationActivity] = relationship(back_populates="photos")
