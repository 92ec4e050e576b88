"""The words of the audit log: the actions, objects and bases an audit event may carry.

The vocabulary is the set of labels in `accounts/locales/audit_words.zh_CN.yaml` (en has the same keys):
an event is refused when one of its codes has no label there, so the audit page, in either language,
never shows a bare code such as `poverty_risk`. A new kind of event adds its words to both files.
"""
from __future__ import annotations

from weijian.core.i18n import Translator, catalog

PREFIXES = {"action": "accounts.audit.actions", "entity_type": "accounts.audit.entities",
            "basis": "accounts.audit.bases"}


class UnknownAuditWord(ValueError):
    """A programming error: an audit event with a code that is not in the vocabulary."""


def codes(kind: str) -> tuple[str, ...]:
    """The codes of one kind ("action", "entity_type", "basis"), in the file's order."""
    prefix = PREFIXES[kind] + "."
    return tuple(key[len(prefix):] for key in catalog("zh_CN") if key.startswith(prefix))


def check(*, action: str, entity_type: str, basis: str) -> None:
    known = catalog("zh_CN")
    for kind, code in (("action", action), ("entity_type", entity_type), ("basis", basis)):
        if f"{PREFIXES[kind]}.{code}" not in known:
            raise UnknownAuditWord(f"audit {kind} {code!r} has no label: add it to "
                                   "accounts/locales/audit_words.zh_CN.yaml and .en.yaml")


def label(tr: Translator, kind: str, code: str | None) -> str:
    """The label of a code in the translator's language; an old event's code that has since left the
    vocabulary is shown as it is."""
    return tr.code(PREFIXES[kind], code)
