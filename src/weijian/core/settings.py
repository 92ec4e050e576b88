"""Settings from WEIJIAN_* environment variables; one object, built once by the caller (never at import)."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "development-only-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEIJIAN_", env_file=None, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(default="sqlite:///var/weijian.db")
    secret_key: str = DEV_SECRET
    default_locale: Literal["zh_CN", "en"] = "zh_CN"
    # County this installation serves (GB/T 2260); the demo county is Yingshan, Hubei.
    county_code: str = "421124"
    # The county's time zone (IANA name): "today" on forms, lists and default periods is the day there
    # (core/clock.py); stored times are UTC whatever it is.
    timezone: str = "Asia/Shanghai"
    # Keys kept outside the database (core/keys.py): a key given here, else a file in `key_dir` made on
    # first use (mode 0600). Never inside the database or its backups.
    key_dir: Path = Path("var")
    audit_key: str | None = None  # HMAC key of the audit chain (≥ 32 characters); else key_dir/audit.key
    session_max_age_seconds: int = 12 * 3600
    token_ttl_seconds: int = 24 * 3600
    sql_echo: bool = False
    # Connection pool of each server process (`weijian serve --workers N` runs N of them): a connection
    # for each of the 40 threads that run requests, so a request never waits for one under normal load.
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=30, ge=0, le=500)
    db_pool_timeout_seconds: int = Field(default=30, ge=1, le=600)
    page_size: int = 20
    # Immunization: when a missing dose counts as overdue on recall lists (`complete_before`: from the dose's
    # complete-before age; `recommended+30d`: 30 days after its recommended date), and the window of the
    # timely vaccination rate in the same form (no single official definition: the domain reference).
    immunization_overdue_rule: str = "complete_before"
    immunization_timely_rule: str = "complete_before"
    # Settlement, poverty-risk monitoring (防止因病返贫): a resident of a monitored group is flagged when their
    # out-of-pocket costs in the last 12 months exceed this amount (yuan), or, where their household's annual
    # income is recorded, this share of it — whichever is lower (settlement/monitoring.py).
    poverty_risk_threshold: Decimal = Field(default=Decimal("10000"), gt=0)
    poverty_risk_income_share: Decimal = Field(default=Decimal("0.5"), gt=0, le=1)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from weijian.core.clock import zone_named

        zone_named(value)  # ValueError names an unknown zone
        return value

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> "Settings":
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("WEIJIAN_SECRET_KEY must be set in production")
        if self.environment == "production" and len(self.secret_key) < 32:
            raise ValueError("WEIJIAN_SECRET_KEY must be at least 32 characters in production")
        return self

    def sqlite_path(self) -> Path | None:
        """The file behind a sqlite URL (created on demand), or None for other engines."""
        prefix = "sqlite:///"
        if not self.database_url.startswith(prefix):
            return None
        raw = self.database_url[len(prefix):]
        return None if raw in ("", ":memory:") else Path(raw)
