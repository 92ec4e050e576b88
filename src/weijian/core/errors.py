"""Domain errors raised by services; one handler (core.web) maps them to JSON or a re-rendered form.

Messages are i18n keys plus parameters, never literal text: the handler translates them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, message_key: str, **params: Any) -> None:
        super().__init__(message_key)
        self.message_key = message_key
        self.params = params


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Throttled(DomainError):
    """Too many attempts (log-in throttling): try again after `retry_after` seconds (the Retry-After header)."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message_key: str, *, retry_after: int, **params: Any) -> None:
        super().__init__(message_key, **params)
        self.retry_after = max(1, int(retry_after))


class StepRequired(Unauthorized):
    """Logged in, but a step of the log-in is still due (second factor, new password): pages go to
    `location`, the API answers 401."""

    def __init__(self, message_key: str, *, location: str, **params: Any) -> None:
        super().__init__(message_key, **params)
        self.location = location


class InvalidState(DomainError):
    status_code = 409
    code = "invalid_state"


class NotSaved(DomainError):
    """The database did not take the unit of work (a failed commit, a lock time-out, a full disk): nothing of
    the request was saved. Raised by the web layer, never by services."""

    status_code = 500
    code = "not_saved"


class Unavailable(NotSaved):
    """As NotSaved, for a passing cause (busy, connection lost): trying again later may succeed."""

    status_code = 503
    code = "unavailable"


@dataclass(frozen=True)
class FieldError:
    """One bad value: the field (dotted path, or a spreadsheet column), an i18n key, its parameters."""

    field: str
    reason_key: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)  # `field` is the attribute above
    row: int | None = None  # spreadsheet row number (1-based, as Excel shows it), for imports


class InvalidInput(DomainError):
    """Bad values: one or more FieldErrors. `InvalidInput("id_number", "errors.id_number.check_digit")`."""

    status_code = 422
    code = "invalid_input"

    def __init__(self, field: str | None = None, reason_key: str | None = None, *,
                 errors: list[FieldError] | None = None, **params: Any) -> None:
        errs = list(errors or [])
        if field is not None and reason_key is not None:
            errs.insert(0, FieldError(field, reason_key, params))
        if not errs:
            raise ValueError("InvalidInput needs at least one FieldError")
        super().__init__(errs[0].reason_key, **errs[0].params)
        self.errors = errs

    @property
    def field(self) -> str:
        return self.errors[0].field


class RulesInvalid(InvalidInput):
    """A rules file refused (an insurance policy, a vaccination schedule, the referral rules …): the one
    error class for every data file of rules. Each FieldError's field is a key path; `str()` reads
    `nip-2021.yaml: series[3].doses[1].recommended: "18x" is not an age …` (English, for logs)."""

    def __init__(self, errors: list[FieldError], *, source: str = "") -> None:
        super().__init__(errors=errors)
        self.source = source

    @classmethod
    def one(cls, source: str, field: str, detail: str) -> RulesInvalid:
        """A refusal whose reason is plain English (`core.errors.rules_file`): for loaders that check a
        file's shape rather than a user's values."""
        return cls([FieldError(field, "core.errors.rules_file", {"detail": detail})], source=source)

    @classmethod
    def from_validation(cls, exc: Any, *, source: str) -> RulesInvalid:
        """A rules file whose shape its pydantic model refused: one FieldError per problem, its key path as the
        field (`file` for the whole file) and pydantic's English message as the detail."""
        return cls([FieldError(".".join(str(p) for p in e["loc"]) or "file", "core.errors.rules_file",
                               {"detail": e["msg"]}) for e in exc.errors()], source=source)

    def lines(self, locale: str = "en") -> list[str]:
        from weijian.core.i18n import translate

        prefix = f"{self.source}: " if self.source else ""
        return [f"{prefix}{e.field}: {translate(e.reason_key, locale, **e.params)}" for e in self.errors]

    def __str__(self) -> str:
        return "; ".join(self.lines("en"))


class ErrorCollector:
    """Gathers every FieldError of one input so the user sees them all at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, reason_key: str, **params: Any) -> None:
        self.errors.append(FieldError(field, reason_key, params))

    def extend(self, exc: InvalidInput) -> None:
        self.errors.extend(exc.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(errors=self.errors)
