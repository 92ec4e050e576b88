"""Settings from WEIJIAN_* environment variables; one object, built once by the caller (never at import)."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEIJIAN_", env_file=None, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(default="sqlite:///var/weijian.db")
    # Derives CSRF tokens and signs second-factor set-up forms (≥ 32 bytes). Unset: the key in
    # `<key_dir>/secret.key`, made with mode 0600 on first start (core/keys.py).
    secret_key: str | None = None
    key_dir: Path = Path("var")
    # Uploaded files (health-education photos): `<key_dir>/media` when unset (var/media by default).
    media_dir: Path | None = None
    default_locale: Literal["zh_CN", "en"] = "zh_CN"
    # County this installation serves (GB/T 2260); the demo county is Yingshan, Hubei.
    county_code: str = "421124"
    # The county's time zone (IANA name): "today" on forms, lists and default periods is the day there
    # (core/clock.py); stored times are UTC whatever it is.
    timezone: str = "Asia/Shanghai"
    # The audit chain's key, also kept outside the database (core/keys.py), in `key_dir` beside the session
    # key unless given here. Never inside the database or its backups.
    audit_key: str | None = None  # HMAC key of the audit chain (≥ 32 characters); else key_dir/audit.key
    # Log-in sessions (server-side, accounts.sessions): ended after this long without a request, and
    # after this long whatever happens.
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_lifetime_hours: int = Field(default=12, ge=1, le=7 * 24)
    # Cookies carry `Secure` when this is on or the request came over HTTPS — seen directly, or in
    # X-Forwarded-Proto from one of the trusted proxies (comma-separated addresses; their
    # X-Forwarded-For also gives the client address that log-in throttling counts).
    cookie_secure: bool = False
    trusted_proxies: str = ""
    # Log-in throttling, per account name and per client address: this many failures within the window
    # lock further attempts for the lock time (429 with Retry-After; audited; `weijian users unlock`).
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_failure_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    login_lock_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # A password older than this many days must be changed at the next log-in (0: never).
    password_max_age_days: int = Field(default=90, ge=0, le=3650)
    # Roles that must log in with a second factor (TOTP); comma-separated. Every user may set one up.
    totp_required_roles: str = "sysadmin,security_admin,audit_admin"
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

    @property
    def media_path(self) -> Path:
        return Path(self.media_dir) if self.media_dir is not None else Path(self.key_dir) / "media"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from weijian.core.clock import zone_named

        zone_named(value)  # ValueError names an unknown zone
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: str | None) -> str | None:
        from weijian.core.keys import MIN_KEY_BYTES

        if value is not None and len(value.encode()) < MIN_KEY_BYTES:
            raise ValueError(f"WEIJIAN_SECRET_KEY must be at least {MIN_KEY_BYTES} bytes")
        return value or None

    def proxies(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.trusted_proxies.split(",") if p.strip())

    def second_factor_roles(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.totp_required_roles.split(",") if r.strip())

    def sqlite_path(self) -> Path | None:
        """The file behind a sqlite URL (created on demand), or None for other engines."""
        prefix = "sqlite:///"
        if not self.database_url.startswith(prefix):
            return None
        raw = self.database_url[len(prefix):]
        return None if raw in ("", ":memory:") else Path(raw)
