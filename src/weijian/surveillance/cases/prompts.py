"""The prompt a clinician sees on saving a notifiable diagnosis: for each ICD-10 code of an encounter that
names a notifiable disease on the encounter's day, the link to a card prefilled from it (or to the card
already made from the encounter). care.records declares the hook; the composition root fills it with this."""
from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from weijian.surveillance import rules
from weijian.surveillance.cases.queries import report_for_encounter


def case_report_prompts(*, session: Session, encounter_id: int, resident_id: int, codes: list[str], on: date,
                        locale: str) -> list[dict[str, Any]]:
    """One entry per notifiable disease among `codes` (the first code naming it): icd10, disease, name,
    hours (the reporting limit), href (the prefilled form, or the card made already) and report_id."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for code in codes:
        try:
            disease = rules.disease_for_icd10(code, on)
        except LookupError:  # a day before the first edition of the list
            return []
        if disease is None or disease.code in seen:
            continue
        seen.add(disease.code)
        made = report_for_encounter(session=session, encounter_id=encounter_id, disease=disease.code)
        query = urlencode({"resident_id": resident_id, "encounter_id": encounter_id, "icd10": code,
                           "disease": disease.code, "diagnosed_on": on.isoformat()})
        href = f"/surveillance/case-reports/{made}" if made else f"/surveillance/case-reports/new?{query}"
        out.append({"icd10": code, "disease": disease.code, "name": disease.name(locale),
                    "hours": disease.limit_hours(code), "report_id": made, "href": href})
    return out
