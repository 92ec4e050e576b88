"""The role × route matrix (issue 12, part 8a): every route of the app — `/api/v1` and the HTML pages, every
method — asked by every role and by a visitor not logged in, about an object inside the user's scope (side
A of tests/security/matrix_world.py) and one outside it (side B), each answer held to the expectation
written below. The routes are enumerated from the app: a route without a row here fails the test, and so
does a row whose route is gone.

The expectations are read from the code, not recorded from answers:
- not logged in: 401 under /api, a redirect (303) to the log-in page for pages;
- a role without the route's permission: 403, before any object is looked at;
- an object outside the user's scope: exactly what a missing id answers (404 where the id is in the path);
- otherwise the permission gate and the scope let the request through: no 401, 403 or 404 (a 422 for the
  empty form or body sent is fine), and never a 5xx.
A refused answer shows no field of either side's people (name, identity number, phone); a refused write
leaves every table as it was. Each case runs in a savepoint rolled back after it, so allowed writes (sent
with empty or minimal bodies) do not change what the next case sees.
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import select

from tests import factories as f
from tests.security import matrix_world
from weijian.accounts import service as accounts_service
from weijian.core.db import Base
from weijian.indicators.definitions import definitions

LOGIN = "login"  # any logged-in user
PUBLIC = "public"  # no log-in needed
ANONYMOUS = "anonymous"
ROLES = [*matrix_world.ROLE_UNITS, ANONYMOUS]
MISSING_ID = 987_654_321


@dataclass(frozen=True)
class R:
    """One route's expectation. `need`: the permission (a tuple: any of them), LOGIN or PUBLIC.
    `send`: the JSON body (API), form (page POST) or query (GET) sent, "@kind" standing for the side's
    object of that kind; `ref`: the kind of the scoped object named in `send` (not in the path).
    `after`: role → the statuses the service answers an allowed role on an object it sees, where the
    service refuses for a reason of its own (not the receiver, not the sender …), read in the code."""

    need: str | tuple[str, ...]
    send: dict[str, Any] = field(default_factory=dict)
    ref: str | None = None
    after: dict[str, tuple[int, ...]] = field(default_factory=dict)
    unscoped: bool = False  # the object in the path is a registry entry anyone allowed may use


# Path parameter → the kind of object it names (None: not an object; filled with a fixed value).
PARAM_KIND = {
    "resident_id": "resident", "household_id": "household", "encounter_id": "encounter",
    "health_check_id": "health_check", "screening_id": "screening", "registration_id": "registration",
    "referral_id": "referral", "consultation_id": "consultation", "vaccination_id": "vaccination",
    "pregnancy_id": "pregnancy", "settlement_id": "settlement", "balance_id": "balance", "birth_id": "birth",
    "point_id": "point", "user_id": "user", "code": "orgunit", "facility_id": "facility", "merge_id": "merge",
    "report_id": "case_report", "signal_id": "signal", "treatment_id": "tb_treatment", "suspect_id": "tb_suspect",
    "event_id": "emergency_event", "team_id": "response_team", "approval_id": "approval",
    "tcm_id": "tcm",
    "frail_id": "frail",
    "inspection_id": "hazard_inspection", "problem_id": "hazard_problem", "photo_id": "hazard_photo",
    "project_id": "project",
    "assessment_id": "standard_assessment", "device_id": "device", "donor_id": "blood_donor",
    "contract_id": "contract", "contract_team_id": "contract_team",
    "patient_id": "mental_patient",
    "activity_id": "education_activity", "education_photo_id": "education_photo",
}
FIXED = {"department": "insurance", "year": "2025", "action": "accept", "kind": "receipt", "standard": "village_clinic"}
# Kinds a user sees whatever their scope: the registry (org units, facilities) and the users a
# user:manage / lockout:manage holder (county-wide roles only) keeps.
UNSCOPED = {"orgunit", "facility", "user", "response_team", "project"}
# Kinds reached by another path parameter's name than their own.
PATH_KIND_OVERRIDE = {("/settlement/stays/{encounter_id:int}", "encounter_id"): "stay",
                      # the health record's void and correction pages: one route per kind of entry
                      **{(f"/care/{path}/{{entry_id:int}}/{action}", "entry_id"): kind
                         for path, kind in (("encounters", "encounter"), ("health-checks", "health_check"),
                                            ("screenings", "screening")) for action in ("void", "correct")}}

# A vaccination point is a registry entry every logged-in user lists (GET /api/v1/immunization/points):
# keeping the stock of one outside the scope is refused naming it (stock.managed_point), not hidden.
OUT_OF_SCOPE_STATUS = {"point": 403}

NOT_RECEIVER = (403,)  # a role that may answer, asking about an object it sees but did not receive
# Referral A goes from the village clinic of A1 to the township centre of A: only the centre answers it
# (and refers the patient back down), only the clinic cancels it (care.referrals._for_receiver, cancel).
RECEIVER_ONLY = {"village_doctor": NOT_RECEIVER, "county_doctor": NOT_RECEIVER}
SENDER_ONLY = {"township_doctor": NOT_RECEIVER, "county_doctor": NOT_RECEIVER}

# Case reports: read by any of the three permissions (surveillance.cases.queries.require_read); changed by the
# reporting facility (case:report) or a reviewer (case:review).
CASE_READ = ("case:read", "case:report", "case:review")
CASE_CHANGE = ("case:report", "case:review")
REPORTER_ONLY = {"village_doctor": NOT_RECEIVER, "county_doctor": NOT_RECEIVER}
# A whole exposure, so that the resident (in or out of the scope) is what the service decides on.
EXPOSURE = {"resident_id": "@resident", "disease": "brucellosis", "exposure_kinds": ["herding"]}

T = {
    # --- accounts: log-in, own account, users, security, audit -------------------------------------
    ("POST", "/api/v1/auth/token"): R(PUBLIC),
    ("DELETE", "/api/v1/auth/token"): R(LOGIN),
    ("GET", "/api/v1/auth/me"): R(LOGIN),
    ("GET", "/api/v1/audit"): R("audit:read"),
    ("GET", "/login"): R(PUBLIC),
    ("POST", "/login"): R(PUBLIC),
    ("GET", "/login/totp"): R(LOGIN),
    ("POST", "/login/totp"): R(LOGIN),
    ("POST", "/logout"): R(LOGIN),
    ("GET", "/account/password"): R(LOGIN),
    ("POST", "/account/password"): R(LOGIN),
    ("GET", "/account/totp"): R(LOGIN),
    # An empty form's secret has no valid signature: refused as a forgery (a user who has a second factor
    # already is sent home).
    ("POST", "/account/totp"): R(LOGIN, after={r: (303, 403) for r in matrix_world.ROLE_UNITS}),
    ("GET", "/"): R(LOGIN),
    ("GET", "/audit"): R("audit:read"),
    ("GET", "/users"): R("user:manage"),
    ("POST", "/users"): R("user:manage"),
    ("POST", "/users/{user_id}/password"): R("user:manage"),
    ("POST", "/users/{user_id}/deactivate"): R("user:manage"),
    ("GET", "/security"): R("lockout:manage"),
    ("POST", "/security/unlock"): R("lockout:manage"),
    ("POST", "/security/users/{user_id}/role"): R("lockout:manage"),
    ("POST", "/security/users/{user_id}/totp-reset"): R("lockout:manage"),
    ("GET", "/api/docs"): R(LOGIN),
    ("GET", "/api/openapi.json"): R(LOGIN),
    # --- org units and facilities: a registry without personal data ------------------------------
    ("GET", "/api/v1/orgunits"): R("orgunit:read"),
    ("GET", "/api/v1/orgunits/tree"): R("orgunit:read"),
    ("GET", "/api/v1/orgunits/{code}"): R("orgunit:read"),
    ("POST", "/api/v1/orgunits"): R("orgunit:write"),
    ("PATCH", "/api/v1/orgunits/{code}"): R("orgunit:write"),
    ("GET", "/api/v1/orgunits/{code}/capacity"): R("orgunit:read"),
    ("GET", "/api/v1/facilities"): R("orgunit:read"),
    ("GET", "/api/v1/facilities/{facility_id}"): R("orgunit:read"),
    ("POST", "/api/v1/facilities"): R("orgunit:write"),
    ("PATCH", "/api/v1/facilities/{facility_id}"): R("orgunit:write"),
    ("GET", "/orgunits"): R("orgunit:read"),
    ("GET", "/orgunits/{code}"): R("orgunit:read"),
    ("GET", "/facilities/new"): R("orgunit:write"),
    ("POST", "/facilities/new"): R("orgunit:write"),
    ("GET", "/facilities/{facility_id}/edit"): R("orgunit:write"),
    ("POST", "/facilities/{facility_id}/edit"): R("orgunit:write"),
    # --- residents ---------------------------------------------------------------------------------
    ("GET", "/api/v1/residents"): R("resident:read"),
    ("GET", "/api/v1/residents/{resident_id}"): R("resident:read"),
    ("POST", "/api/v1/residents"): R("resident:write"),
    ("PATCH", "/api/v1/residents/{resident_id}"): R("resident:write"),
    ("POST", "/api/v1/residents/{resident_id}/merge"): R("resident:merge", send={"merged_id": "@child", "reason": "x"}),
    ("GET", "/api/v1/households/{household_id}"): R("resident:read"),
    ("GET", "/api/v1/resident-duplicates"): R("resident:merge"),
    ("POST", "/api/v1/resident-duplicates/distinct"): R("resident:merge", send={"first_id": "@resident",
                                                                                "second_id": "@child"},
                                                          ref="resident"),
    ("GET", "/residents/duplicates"): R("resident:merge"),
    ("POST", "/residents/duplicates/distinct"): R("resident:merge", send={"first_id": "@resident",
                                                                          "second_id": "@child"}, ref="resident"),
    ("GET", "/residents"): R("resident:read"),
    ("GET", "/residents/{resident_id:int}"): R("resident:read"),
    ("GET", "/residents/new"): R("resident:write"),
    ("POST", "/residents/new"): R("resident:write"),
    ("GET", "/residents/{resident_id:int}/edit"): R("resident:write"),
    ("POST", "/residents/{resident_id:int}/edit"): R("resident:write"),
    ("GET", "/api/v1/resident-merges/{merge_id}"): R("resident:merge"),
    ("POST", "/api/v1/resident-merges/{merge_id}/undo"): R("resident:unmerge"),
    ("GET", "/residents/merges/{merge_id:int}"): R("resident:merge"),
    ("POST", "/residents/merges/{merge_id:int}/undo"): R("resident:unmerge"),
    ("GET", "/residents/merge"): R("resident:merge"),
    ("POST", "/residents/merge"): R("resident:merge", send={"survivor_id": "@resident", "merged_id": "@child",
                                                             "reason": "x"}, ref="resident"),
    # --- care records ------------------------------------------------------------------------------
    ("POST", "/api/v1/encounters"): R("care:write", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/api/v1/encounters"): R("care:read"),
    ("GET", "/api/v1/encounters/{encounter_id}"): R("care:read"),
    ("PATCH", "/api/v1/encounters/{encounter_id}/discharge"): R("care:write"),
    ("PATCH", "/api/v1/encounters/{encounter_id}/correction"): R("care:write"),
    ("POST", "/api/v1/encounters/{encounter_id}/void"): R("care:write"),
    ("POST", "/api/v1/health-checks/{health_check_id}/void"): R("care:write"),
    ("PATCH", "/api/v1/health-checks/{health_check_id}/correction"): R("care:write"),
    ("PATCH", "/api/v1/screenings/{screening_id}/correction"): R("care:write"),
    ("POST", "/api/v1/screenings/{screening_id}/void"): R("care:write"),
    ("POST", "/api/v1/health-checks"): R("care:write", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/api/v1/health-checks/{health_check_id}"): R("care:read"),
    ("POST", "/api/v1/screenings"): R("care:write", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/api/v1/screenings/{screening_id}"): R("care:read"),
    ("GET", "/api/v1/residents/{resident_id}/timeline"): R("care:read"),
    ("GET", "/api/v1/icd10"): R(LOGIN),
    ("GET", "/api/v1/care/figures/county_retention_rate"): R("stats:read"),
    ("GET", "/api/v1/care/figures/primary_care_share"): R("stats:read"),
    ("GET", "/residents/{resident_id:int}/encounters/new"): R("care:write"),
    ("POST", "/residents/{resident_id:int}/encounters/new"): R("care:write"),
    ("GET", "/care/encounters/{encounter_id:int}"): R("care:read"),
    ("GET", "/care/encounters/{encounter_id:int}/discharge"): R("care:write"),
    ("GET", "/care/encounters/{entry_id:int}/void"): R("care:write"),
    ("POST", "/care/encounters/{entry_id:int}/void"): R("care:write"),
    ("GET", "/care/encounters/{encounter_id:int}/correct"): R("care:write"),
    ("POST", "/care/encounters/{encounter_id:int}/correct"): R("care:write"),
    ("GET", "/care/health-checks/{entry_id:int}/void"): R("care:write"),
    ("POST", "/care/health-checks/{entry_id:int}/void"): R("care:write"),
    ("GET", "/care/screenings/{entry_id:int}/void"): R("care:write"),
    ("POST", "/care/screenings/{entry_id:int}/void"): R("care:write"),
    ("GET", "/care/health-checks/{entry_id:int}/correct"): R("care:write"),
    ("POST", "/care/health-checks/{entry_id:int}/correct"): R("care:write"),
    ("GET", "/care/screenings/{entry_id:int}/correct"): R("care:write"),
    ("POST", "/care/screenings/{entry_id:int}/correct"): R("care:write"),
    ("POST", "/care/encounters/{encounter_id:int}/discharge"): R("care:write"),
    ("GET", "/residents/{resident_id:int}/health-checks/new"): R("care:write"),
    ("POST", "/residents/{resident_id:int}/health-checks/new"): R("care:write"),
    ("GET", "/residents/{resident_id:int}/screenings/new"): R("care:write"),
    ("POST", "/residents/{resident_id:int}/screenings/new"): R("care:write"),
    ("GET", "/residents/{resident_id:int}/timeline"): R("care:read"),
    ("GET", "/care/icd10/options"): R("care:read"),
    # --- chronic disease ---------------------------------------------------------------------------
    ("GET", "/api/v1/care/chronic/registrations"): R("care:read"),
    ("POST", "/api/v1/care/chronic/registrations"): R("care:write", send={"resident_id": "@resident",
                                                                          "program": "diabetes"}, ref="resident"),
    ("GET", "/api/v1/care/chronic/registrations/{registration_id}"): R("care:read"),
    ("POST", "/api/v1/care/chronic/registrations/{registration_id}/close"): R("care:write"),
    ("POST", "/api/v1/care/chronic/registrations/{registration_id}/follow-ups"): R("care:write"),
    ("GET", "/api/v1/care/chronic/registrations/{registration_id}/follow-ups"): R("care:read"),
    ("GET", "/api/v1/care/chronic/due"): R("care:read"),
    ("GET", "/api/v1/care/figures/hypertension_management_rate"): R(("stats:read", "care:read")),
    ("GET", "/api/v1/care/figures/hypertension_control_rate"): R(("stats:read", "care:read")),
    ("GET", "/api/v1/care/figures/diabetes_management_rate"): R(("stats:read", "care:read")),
    ("GET", "/api/v1/care/figures/diabetes_control_rate"): R(("stats:read", "care:read")),
    ("GET", "/api/v1/care/figures/hypertension_health_management_rate"): R(("stats:read", "care:read")),
    ("GET", "/api/v1/care/figures/diabetes_health_management_rate"): R(("stats:read", "care:read")),
    ("GET", "/care/chronic"): R("care:read"),
    ("GET", "/care/chronic/register"): R("care:write"),
    ("POST", "/care/chronic/register"): R("care:write", send={"resident_id": "@resident", "program": "diabetes"},
                                          ref="resident"),
    ("GET", "/care/chronic/registrations/{registration_id:int}"): R("care:read"),
    ("POST", "/care/chronic/registrations/{registration_id:int}/follow-ups"): R("care:write"),
    ("POST", "/care/chronic/registrations/{registration_id:int}/close"): R("care:write"),
    ("GET", "/care/chronic/rates"): R(("stats:read", "care:read")),
    # --- TB patient management (surveillance.tb: care:read / care:write, scoped by the patient's village) ---
    ("GET", "/api/v1/surveillance/tb/suspects"): R("care:read"),
    ("POST", "/api/v1/surveillance/tb/suspects"): R("care:write", send={"resident_id": "@resident"}, ref="resident"),
    ("POST", "/api/v1/surveillance/tb/suspects/{suspect_id}/result"): R("care:write"),
    ("GET", "/api/v1/surveillance/tb/treatments"): R("care:read"),
    ("POST", "/api/v1/surveillance/tb/treatments"): R("care:write", send={"resident_id": "@resident"},
                                                      ref="resident"),
    ("GET", "/api/v1/surveillance/tb/treatments/{treatment_id}"): R("care:read"),
    ("POST", "/api/v1/surveillance/tb/treatments/{treatment_id}/doses"): R("care:write"),
    ("POST", "/api/v1/surveillance/tb/treatments/{treatment_id}/first-visit"): R("care:write"),
    ("POST", "/api/v1/surveillance/tb/treatments/{treatment_id}/follow-ups"): R("care:write"),
    ("POST", "/api/v1/surveillance/tb/treatments/{treatment_id}/outcome"): R("care:write"),
    ("GET", "/api/v1/surveillance/tb/worklist"): R("care:read"),
    ("GET", "/surveillance/tb"): R("care:read"),
    ("GET", "/surveillance/tb/register"): R("care:write"),
    ("POST", "/surveillance/tb/register"): R("care:write", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/surveillance/tb/suspects/new"): R("care:write"),
    ("POST", "/surveillance/tb/suspects/new"): R("care:write", send={"resident_id": "@resident"}, ref="resident"),
    ("POST", "/surveillance/tb/suspects/{suspect_id:int}/result"): R("care:write"),
    ("GET", "/surveillance/tb/treatments/{treatment_id:int}"): R("care:read"),
    ("POST", "/surveillance/tb/treatments/{treatment_id:int}/doses"): R("care:write"),
    ("POST", "/surveillance/tb/treatments/{treatment_id:int}/first-visit"): R("care:write"),
    ("POST", "/surveillance/tb/treatments/{treatment_id:int}/follow-ups"): R("care:write"),
    ("POST", "/surveillance/tb/treatments/{treatment_id:int}/outcome"): R("care:write"),
    # --- maternal health ----------------------------------------------------------------------------
    ("GET", "/api/v1/care/maternal/register"): R("care:read"),
    ("GET", "/api/v1/care/maternal/schedule"): R("care:read", send={"lmp": "2026-03-01"}),
    ("POST", "/api/v1/care/maternal/pregnancies"): R("care:write", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/api/v1/care/maternal/pregnancies/{pregnancy_id}"): R("care:read"),
    ("POST", "/api/v1/care/maternal/pregnancies/{pregnancy_id}/antenatal-visits"): R("care:write"),
    ("POST", "/api/v1/care/maternal/pregnancies/{pregnancy_id}/risk"): R("care:write"),
    ("POST", "/api/v1/care/maternal/pregnancies/{pregnancy_id}/delivery"): R("care:write"),
    ("POST", "/api/v1/care/maternal/pregnancies/{pregnancy_id}/postpartum-visits"): R("care:write"),
    ("GET", "/care/maternal"): R("care:read"),
    ("GET", "/care/maternal/new"): R("care:write"),
    ("POST", "/care/maternal/new"): R("care:write", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/care/maternal/pregnancies/{pregnancy_id:int}"): R("care:read"),
    ("POST", "/care/maternal/pregnancies/{pregnancy_id:int}/visits"): R("care:write"),
    ("POST", "/care/maternal/pregnancies/{pregnancy_id:int}/risk"): R("care:write"),
    ("POST", "/care/maternal/pregnancies/{pregnancy_id:int}/delivery"): R("care:write"),
    ("POST", "/care/maternal/pregnancies/{pregnancy_id:int}/postpartum"): R("care:write"),
    # --- the elderly 65+ and TCM --------------------------------------------------------------------
    ("GET", "/api/v1/care/elderly/due"): R("care:read"),
    ("GET", "/api/v1/care/elderly/residents/{resident_id}"): R("care:read"),
    ("POST", "/api/v1/care/elderly/self-care"): R("care:write", send={"resident_id": "@resident"}, ref="resident"),
    ("POST", "/api/v1/care/elderly/tcm"): R("care:write", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/api/v1/care/elderly/tcm/{tcm_id}"): R("care:read"),
    ("POST", "/api/v1/care/elderly/constitution/score"): R("care:read"),
    ("GET", "/care/elderly"): R("care:read"),
    ("GET", "/care/elderly/residents/{resident_id:int}"): R("care:read"),
    ("POST", "/care/elderly/residents/{resident_id:int}/self-care"): R("care:write"),
    ("POST", "/care/elderly/residents/{resident_id:int}/tcm"): R("care:write"),
    ("GET", "/care/elderly/tcm/{tcm_id:int}/print"): R("care:read"),
    # --- child health 0–6 ---------------------------------------------------------------------------
    ("GET", "/api/v1/care/childcare/schedule"): R("care:read", send={"birth_date": "2026-01-15"}),
    ("GET", "/api/v1/care/childcare/children/{resident_id}"): R("care:read"),
    ("POST", "/api/v1/care/childcare/checks"): R("care:write", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/api/v1/care/childcare/due"): R("care:read"),
    ("GET", "/api/v1/care/childcare/frail"): R("care:read"),
    ("POST", "/api/v1/care/childcare/frail/{frail_id}/close"): R("care:write"),
    ("GET", "/care/childcare"): R("care:read"),
    ("GET", "/care/childcare/frail"): R("care:read"),
    ("GET", "/care/childcare/children/{resident_id:int}"): R("care:read"),
    ("POST", "/care/childcare/children/{resident_id:int}/checks"): R("care:write"),
    ("POST", "/care/childcare/frail/{frail_id:int}/close"): R("care:write"),
    # --- family-doctor contracts ---------------------------------------------------------------------
    ("GET", "/api/v1/care/contracts"): R("care:read"),
    ("GET", "/api/v1/care/contracts/due"): R("care:read"),
    ("GET", "/api/v1/care/contracts/packages"): R("care:read"),
    ("POST", "/api/v1/care/contracts"): R("care:write", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/api/v1/care/contracts/{contract_id}"): R("care:read"),
    ("POST", "/api/v1/care/contracts/{contract_id}/renew"): R("care:write"),
    ("POST", "/api/v1/care/contracts/{contract_id}/end"): R("care:write"),
    ("GET", "/api/v1/care/contract-teams"): R("care:read"),
    ("POST", "/api/v1/care/contract-teams"): R("care:write"),
    ("GET", "/api/v1/care/contract-teams/{contract_team_id}"): R("care:read"),
    ("GET", "/care/contracts"): R("care:read"),
    ("GET", "/care/contracts/teams"): R("care:read"),
    ("GET", "/care/contracts/teams/{contract_team_id:int}"): R("care:read"),
    ("GET", "/care/contracts/teams/new"): R("care:write"),
    ("POST", "/care/contracts/teams/new"): R("care:write"),
    ("GET", "/care/contracts/new"): R("care:write"),
    ("POST", "/care/contracts/new"): R("care:write", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/care/contracts/{contract_id:int}"): R("care:read"),
    ("POST", "/care/contracts/{contract_id:int}/renew"): R("care:write"),
    ("POST", "/care/contracts/{contract_id:int}/end"): R("care:write"),
    ("GET", "/care/contracts/residents/{resident_id:int}/section"): R("care:read"),
    # --- severe mental illness (only the patient's own team) -------------------------------------------
    ("GET", "/api/v1/care/mental/register"): R("mental:read"),
    ("POST", "/api/v1/care/mental/patients"): R("mental:write", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/api/v1/care/mental/patients/{patient_id}"): R("mental:read"),
    ("POST", "/api/v1/care/mental/patients/{patient_id}/follow-ups"): R("mental:write"),
    ("POST", "/api/v1/care/mental/patients/{patient_id}/consent"): R("mental:write"),
    ("POST", "/api/v1/care/mental/patients/{patient_id}/close"): R("mental:write"),
    ("GET", "/care/mental"): R("mental:read"),
    ("GET", "/care/mental/new"): R("mental:write"),
    ("POST", "/care/mental/new"): R("mental:write", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/care/mental/patients/{patient_id:int}"): R("mental:read"),
    ("POST", "/care/mental/patients/{patient_id:int}/follow-ups"): R("mental:write"),
    ("POST", "/care/mental/patients/{patient_id:int}/consent"): R("mental:write"),
    ("POST", "/care/mental/patients/{patient_id:int}/close"): R("mental:write"),
    # --- health education (per facility: no personal data; education:read / education:write) -----------
    ("GET", "/api/v1/care/education/activities"): R("education:read"),
    ("POST", "/api/v1/care/education/activities"): R("education:write"),
    ("GET", "/api/v1/care/education/activities/{activity_id}"): R("education:read"),
    ("POST", "/api/v1/care/education/activities/{activity_id}/photos"): R("education:write"),
    ("GET", "/api/v1/care/education/completion"): R("education:read"),
    ("GET", "/care/education"): R("education:read"),
    ("GET", "/care/education/completion.xlsx"): R("education:read"),
    ("GET", "/care/education/new"): R("education:write"),
    ("POST", "/care/education/new"): R("education:write"),
    ("GET", "/care/education/activities/{activity_id:int}"): R("education:read"),
    ("POST", "/care/education/activities/{activity_id:int}/photos"): R("education:write"),
    ("GET", "/care/education/photos/{education_photo_id:int}"): R("education:read"),
    # --- referrals and consultations ---------------------------------------------------------------
    ("POST", "/api/v1/care/referrals"): R("referral:create", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/api/v1/care/referrals"): R("referral:read"),
    ("GET", "/api/v1/care/referrals/inbox"): R("referral:respond"),
    ("GET", "/api/v1/care/referrals/{referral_id}"): R("referral:read"),
    ("POST", "/api/v1/care/referrals/{referral_id}/accept"): R("referral:respond", after=RECEIVER_ONLY),
    ("POST", "/api/v1/care/referrals/{referral_id}/reject"): R("referral:respond", after=RECEIVER_ONLY),
    ("POST", "/api/v1/care/referrals/{referral_id}/arrive"): R("referral:respond", after=RECEIVER_ONLY),
    ("POST", "/api/v1/care/referrals/{referral_id}/complete"): R("referral:respond", after=RECEIVER_ONLY),
    ("POST", "/api/v1/care/referrals/{referral_id}/cancel"): R("referral:create", after=SENDER_ONLY),
    ("POST", "/api/v1/care/referrals/{referral_id}/downward"): R("referral:create", after=RECEIVER_ONLY),
    ("POST", "/api/v1/care/consultations"): R("consult:request", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/api/v1/care/consultations"): R(("consult:request", "consult:answer")),
    ("GET", "/api/v1/care/consultations/{consultation_id}"): R(("consult:request", "consult:answer")),
    ("POST", "/api/v1/care/consultations/{consultation_id}/schedule"): R("consult:answer"),
    ("POST", "/api/v1/care/consultations/{consultation_id}/answer"): R("consult:answer"),
    # Consultation A was asked by the township centre of A: only it cancels.
    ("POST", "/api/v1/care/consultations/{consultation_id}/cancel"): R("consult:request", after={
        "village_doctor": NOT_RECEIVER}),
    ("GET", "/api/v1/care/worklist"): R("worklist:read"),
    ("GET", "/api/v1/care/figures/referrals"): R("stats:read"),
    ("GET", "/care/worklist"): R("worklist:read"),
    ("GET", "/care/referrals/desk"): R("referral:respond"),
    ("GET", "/care/referrals"): R("referral:read"),
    ("GET", "/care/referrals/{referral_id:int}"): R("referral:read"),
    ("GET", "/care/referrals/new"): R("referral:create", send={"resident_id": "@resident"}, ref="resident"),
    ("POST", "/care/referrals/new"): R("referral:create", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/care/referrals/{referral_id:int}/downward"): R("referral:create"),
    ("POST", "/care/referrals/{referral_id:int}/downward"): R("referral:create", after=RECEIVER_ONLY),
    # The page's action "accept" is checked in the service (referral:respond, the receiver).
    ("POST", "/care/referrals/{referral_id:int}/{action}"): R("referral:respond", after=RECEIVER_ONLY),
    ("GET", "/care/consultations"): R(("consult:request", "consult:answer")),
    ("GET", "/care/consultations/new"): R("consult:request", send={"resident_id": "@resident"}, ref="resident"),
    ("POST", "/care/consultations/new"): R("consult:request", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/care/consultations/{consultation_id:int}"): R(("consult:request", "consult:answer")),
    # The page's action "accept" is unknown to consultations: a 404 page for whoever may read them.
    ("POST", "/care/consultations/{consultation_id:int}/{action}"): R(LOGIN, after={
        r: (404,) for r in matrix_world.ROLE_UNITS}),
    # --- surveillance: case reports (传染病报告卡) ---------------------------------------------------
    ("POST", "/api/v1/surveillance/case-reports"): R("case:report", send={"resident_id": "@resident"},
                                                     ref="resident"),
    ("GET", "/api/v1/surveillance/case-reports"): R(CASE_READ),
    ("GET", "/api/v1/surveillance/case-reports/{report_id}"): R(CASE_READ),
    # Card A was reported by the township centre of A: only it (and a reviewer) changes it.
    ("POST", "/api/v1/surveillance/case-reports/{report_id}/revise"): R(CASE_CHANGE, after=REPORTER_ONLY),
    ("POST", "/api/v1/surveillance/case-reports/{report_id}/delete"): R(CASE_CHANGE, after=REPORTER_ONLY),
    ("POST", "/api/v1/surveillance/case-reports/{report_id}/duplicate"): R(CASE_CHANGE, after=REPORTER_ONLY),
    ("GET", "/surveillance/case-reports"): R(CASE_READ),
    ("GET", "/surveillance/case-reports/new"): R("case:report", send={"resident_id": "@resident"}, ref="resident"),
    ("POST", "/surveillance/case-reports/new"): R("case:report", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/surveillance/case-reports/{report_id:int}"): R(CASE_READ),
    # The page's action "accept" is unknown to case reports: a 404 page for whoever is logged in.
    ("POST", "/surveillance/case-reports/{report_id:int}/{action}"): R(LOGIN, after={
        r: (404,) for r in matrix_world.ROLE_UNITS}),
    # --- immunization: records, stock --------------------------------------------------------------
    ("POST", "/api/v1/immunization/vaccinations"): R("immunization:write", send={"resident_id": "@child"},
                                                     ref="child"),
    ("POST", "/api/v1/immunization/vaccinations/historical"): R("immunization:write", send={"resident_id": "@child"},
                                                                ref="child"),
    ("GET", "/api/v1/immunization/vaccinations/{vaccination_id}"): R("immunization:read"),
    ("GET", "/api/v1/residents/{resident_id}/vaccinations"): R("immunization:read"),
    ("POST", "/api/v1/immunization/refusals"): R("immunization:write", send={"resident_id": "@child"}, ref="child"),
    ("POST", "/api/v1/immunization/aefi"): R("immunization:write", send={"vaccination_id": "@vaccination"},
                                             ref="vaccination"),
    ("GET", "/api/v1/immunization/aefi"): R("aefi:read"),
    ("GET", "/api/v1/immunization/points"): R(LOGIN),
    ("POST", "/api/v1/immunization/points"): R("stock:manage"),
    ("GET", "/api/v1/immunization/lots"): R(LOGIN),
    ("POST", "/api/v1/immunization/lots"): R("stock:manage"),
    ("GET", "/api/v1/immunization/stock"): R("stock:manage"),
    ("GET", "/api/v1/immunization/points/{point_id}/stock"): R("stock:manage"),
    ("GET", "/api/v1/immunization/points/{point_id}/flags"): R("stock:manage"),
    ("GET", "/api/v1/immunization/points/{point_id}/movements"): R("stock:manage"),
    # Which lot to use at a point: any point (a vaccinator may work at another village's session).
    ("GET", "/api/v1/immunization/points/{point_id}/suggested-lot"): R("immunization:write", unscoped=True,
                                                                        send={"vaccine": "HepB"}),
    ("POST", "/api/v1/immunization/points/{point_id}/receipts"): R("stock:manage"),
    ("POST", "/api/v1/immunization/points/{point_id}/wastage"): R("stock:manage"),
    ("POST", "/api/v1/immunization/points/{point_id}/transfers"): R("stock:manage"),
    ("POST", "/api/v1/immunization/points/{point_id}/adjustments"): R("stock:manage"),
    ("GET", "/residents/{resident_id:int}/vaccinations"): R("immunization:read"),
    ("GET", "/immunization/records/lot-options"): R("immunization:write"),
    ("POST", "/residents/{resident_id:int}/vaccinations"): R("immunization:write"),
    ("POST", "/residents/{resident_id:int}/vaccinations/historical"): R("immunization:write"),
    ("POST", "/residents/{resident_id:int}/vaccinations/refusals"): R("immunization:write"),
    ("GET", "/immunization/vaccinations/{vaccination_id:int}/aefi/new"): R("immunization:write"),
    ("POST", "/immunization/vaccinations/{vaccination_id:int}/aefi/new"): R("immunization:write"),
    ("GET", "/immunization/aefi"): R("aefi:read"),
    ("GET", "/immunization/stock"): R("stock:manage"),
    ("POST", "/immunization/stock/{point_id:int}/{kind}"): R("stock:manage"),
    # --- immunization: the newborn bundle (county doctors at a delivering facility) ----------------
    ("POST", "/api/v1/immunization/newborns"): R("newborn:register", send={"mother_id": "@resident"}, ref="resident"),
    ("GET", "/api/v1/immunization/newborns"): R("newborn:register"),
    ("GET", "/api/v1/immunization/newborns/{birth_id}"): R("newborn:register"),
    ("POST", "/api/v1/immunization/newborns/{birth_id}/handoffs/{department}"): R("newborn:register",
                                                                                   send={"status": "sent"}),
    ("GET", "/api/v1/immunization/handoffs"): R("newborn:register", send={"department": "insurance"}),
    ("GET", "/api/v1/immunization/handoffs/{department}/export"): R("newborn:register"),
    ("GET", "/immunization/newborns"): R("newborn:register"),
    ("GET", "/immunization/newborns/new"): R("newborn:register"),
    ("POST", "/immunization/newborns/new"): R("newborn:register", send={"mother_id": "@resident"}, ref="resident"),
    ("GET", "/immunization/newborns/mothers"): R("newborn:register"),
    ("GET", "/immunization/newborns/mother"): R("newborn:register", send={"mother_id": "@resident"}, ref="resident"),
    ("GET", "/immunization/newborns/{birth_id:int}"): R("newborn:register"),
    ("POST", "/immunization/newborns/{birth_id:int}/handoffs/{department}"): R("newborn:register"),
    ("GET", "/immunization/handoffs"): R("newborn:register"),
    ("GET", "/immunization/handoffs/{department}/export.xlsx"): R("newborn:register"),
    # --- immunization: recall and figures ----------------------------------------------------------
    ("GET", "/api/v1/immunization/recall"): R("immunization:read"),
    ("GET", "/api/v1/immunization/figures/doses"): R(("stats:read", "immunization:read"), send={"period": "2025"}),
    ("GET", "/api/v1/immunization/figures/coverage"): R(("stats:read", "immunization:read"), send={"period": "2025"}),
    ("GET", "/api/v1/immunization/figures/timeliness"): R(("stats:read", "immunization:read"),
                                                          send={"period": "2025"}),
    ("GET", "/immunization/recall"): R("immunization:read"),
    ("GET", "/immunization/recall/print"): R("immunization:read"),
    ("GET", "/immunization/worklist"): R("immunization:read"),
    ("GET", "/immunization/coverage"): R(("stats:read", "immunization:read")),
    # --- settlement --------------------------------------------------------------------------------
    ("POST", "/api/v1/settlement/settlements"): R("settlement:write", send={"encounter_id": "@encounter"},
                                                  ref="encounter"),
    ("GET", "/api/v1/settlement/settlements/{settlement_id}"): R("settlement:read"),
    ("POST", "/api/v1/settlement/settlements/{settlement_id}/reverse"): R("settlement:write", send={"reason": "x"}),
    ("GET", "/api/v1/settlement/residents/{resident_id}/settlements"): R("settlement:read"),
    ("GET", "/api/v1/settlement/encounters/{encounter_id}/settlements"): R("settlement:read"),
    ("POST", "/api/v1/settlement/pending"): R("settlement:write", send={"year": 2025}),
    ("POST", "/api/v1/settlement/encounters/{encounter_id}/waiver"): R("care:write"),
    ("GET", "/api/v1/settlement/balances"): R("settlement:read"),
    ("POST", "/api/v1/settlement/balances/{balance_id}/payments"): R("settlement:write", send={"amount": "1.00"}),
    ("GET", "/settlement/stays/{encounter_id:int}"): R("settlement:read"),
    ("POST", "/settlement/stays/{encounter_id:int}/settle"): R("settlement:write"),
    # A refused waiver re-renders the stay's page, which needs settlement:read (settle.for_encounter).
    ("POST", "/settlement/stays/{encounter_id:int}/waiver"): R("care:write", after={"village_doctor": (403,)}),
    ("POST", "/settlement/settlements/{settlement_id:int}/reverse"): R("settlement:write"),
    ("GET", "/settlement/settlements/{settlement_id:int}/slip"): R("settlement:read"),
    ("GET", "/settlement/balances"): R("settlement:read"),
    ("GET", "/settlement/pending"): R("settlement:read"),
    ("POST", "/settlement/balances/{balance_id:int}/pay"): R("settlement:write"),
    # The community's budget: read with stats:read or budget:manage, set with budget:manage
    # (settlement.budget._reader, set_budget), by county-wide users only.
    ("GET", "/api/v1/settlement/budgets"): R(("stats:read", "budget:manage")),
    ("GET", "/api/v1/settlement/budget/{year}"): R(("stats:read", "budget:manage")),
    ("PUT", "/api/v1/settlement/budget/{year}"): R("budget:manage"),
    ("GET", "/settlement/budget"): R(("stats:read", "budget:manage")),
    ("POST", "/settlement/budget"): R("budget:manage"),
    ("GET", "/api/v1/settlement/poverty-risk"): R("poverty_risk:read"),
    ("GET", "/settlement/poverty-risk"): R("poverty_risk:read"),
    ("GET", "/settlement/poverty-risk/export.xlsx"): R("poverty_risk:read"),
    # A person's review status: poverty_risk:review, for a resident in scope (monitoring.service.set_status).
    ("PUT", "/api/v1/settlement/poverty-risk/{resident_id}/review"): R("poverty_risk:review",
                                                                      send={"status": "to_check"}),
    ("POST", "/settlement/poverty-risk/{resident_id:int}/review"): R("poverty_risk:review",
                                                                    send={"status": "to_check"}),
    # --- indicators: figures for stats:read or care:read (indicators.service.require_reader) -------
    # The statistics office's year-end resident population: read with stats:read, entered with stats:write
    # (indicators.population).
    ("GET", "/api/v1/indicators/population"): R(("stats:read", "stats:write")),
    ("PUT", "/api/v1/indicators/population"): R("stats:write"),
    ("GET", "/indicators/population"): R(("stats:read", "stats:write")),
    ("POST", "/indicators/population"): R("stats:write"),
    ("GET", "/api/v1/indicators"): R(("stats:read", "care:read")),
    ("GET", "/api/v1/indicators/export.xlsx"): R(("stats:read", "care:read")),
    ("GET", "/api/v1/indicators/{indicator_id}"): R(("stats:read", "care:read")),
    ("GET", "/api/v1/indicators/{indicator_id}/values"): R(("stats:read", "care:read")),
    # Named records behind a figure also need resident:read (indicators.service.drilldown).
    ("GET", "/api/v1/indicators/{indicator_id}/records"): R(("stats:read", "care:read")),
    ("GET", "/indicators"): R(("stats:read", "care:read")),
    # Approved periods (indicators.approval): listed by readers, approved and lifted by period:approve.
    ("GET", "/api/v1/indicators/approvals"): R(("stats:read", "care:read")),
    ("POST", "/api/v1/indicators/approvals"): R("period:approve"),
    ("POST", "/api/v1/indicators/approvals/{approval_id}/unapprove"): R("period:approve"),
    ("GET", "/indicators/approvals"): R(("stats:read", "care:read")),
    ("POST", "/indicators/approvals"): R("period:approve"),
    ("POST", "/indicators/approvals/{approval_id}/unapprove"): R("period:approve"),
    ("GET", "/indicators/compare"): R(("stats:read", "care:read")),
    ("GET", "/indicators/trend"): R(("stats:read", "care:read")),
    ("GET", "/indicators/villages"): R(("stats:read", "care:read")),
    ("GET", "/indicators/print"): R(("stats:read", "care:read")),
    ("GET", "/indicators/export.xlsx"): R(("stats:read", "care:read")),
    ("GET", "/indicators/drill"): R(("stats:read", "care:read")),
    ("GET", "/indicators/drill/export.xlsx"): R(("stats:read", "care:read")),
    ("GET", "/indicators/drill/print"): R(("stats:read", "care:read")),
    # --- surveillance: early-warning signals (signal:read reads, signal:verify moves them) --------------
    ("GET", "/api/v1/surveillance/signals"): R("signal:read"),
    ("GET", "/api/v1/surveillance/signals/timeliness"): R("signal:read"),
    ("GET", "/api/v1/surveillance/signals/{signal_id}"): R("signal:read"),
    ("POST", "/api/v1/surveillance/signals/{signal_id}/verify"): R("signal:verify"),
    ("POST", "/api/v1/surveillance/signals/{signal_id}/respond"): R("signal:verify"),
    ("POST", "/api/v1/surveillance/signals/{signal_id}/close"): R("signal:verify"),
    ("GET", "/surveillance/signals"): R("signal:read"),
    ("GET", "/surveillance/signals/{signal_id:int}"): R("signal:read"),
    # The page's action "accept" is unknown to signals: a 404 page for whoever is logged in.
    ("POST", "/surveillance/signals/{signal_id:int}/{action}"): R(LOGIN, after={
        r: (404,) for r in matrix_world.ROLE_UNITS}),
    ("GET", "/surveillance/curve"): R("signal:read"),
    # --- surveillance: public-health emergencies (emergency:read / write; events scoped by their org unit,
    # teams a county-wide registry) and zoonoses (exposures are care data of a resident in scope) -----------
    ("GET", "/api/v1/surveillance/emergency/events"): R("emergency:read"),
    ("POST", "/api/v1/surveillance/emergency/events"): R("emergency:write"),
    ("GET", "/api/v1/surveillance/emergency/events/{event_id}"): R("emergency:read"),
    ("POST", "/api/v1/surveillance/emergency/events/{event_id}/timeline"): R("emergency:write"),
    ("POST", "/api/v1/surveillance/emergency/events/{event_id}/close"): R("emergency:write"),
    ("GET", "/api/v1/surveillance/emergency/teams"): R("emergency:read"),
    ("POST", "/api/v1/surveillance/emergency/teams"): R("emergency:write"),
    ("POST", "/api/v1/surveillance/emergency/teams/{team_id}/members"): R("emergency:write"),
    ("GET", "/api/v1/surveillance/emergency/deployments"): R("emergency:read"),
    ("POST", "/api/v1/surveillance/emergency/deployments"): R("emergency:write"),
    ("GET", "/api/v1/surveillance/emergency/deployments/summary"): R("emergency:read"),
    ("GET", "/api/v1/surveillance/emergency/drills"): R("emergency:read"),
    ("POST", "/api/v1/surveillance/emergency/drills"): R("emergency:write"),
    ("GET", "/api/v1/surveillance/emergency/supplies"): R("emergency:read"),
    ("POST", "/api/v1/surveillance/emergency/supplies"): R("emergency:write"),
    ("GET", "/surveillance/emergency"): R("emergency:read"),
    ("POST", "/surveillance/emergency/events"): R("emergency:write"),
    ("POST", "/surveillance/emergency/teams"): R("emergency:write"),
    ("POST", "/surveillance/emergency/teams/{team_id:int}/members"): R("emergency:write"),
    ("POST", "/surveillance/emergency/deployments"): R("emergency:write"),
    ("POST", "/surveillance/emergency/drills"): R("emergency:write"),
    ("POST", "/surveillance/emergency/supplies"): R("emergency:write"),
    ("GET", "/surveillance/emergency/events/{event_id:int}"): R("emergency:read"),
    ("POST", "/surveillance/emergency/events/{event_id:int}/timeline"): R("emergency:write"),
    ("POST", "/surveillance/emergency/events/{event_id:int}/close"): R("emergency:write"),
    ("GET", "/api/v1/surveillance/zoonoses/exposures"): R("care:read", send={"resident_id": "@resident"},
                                                          ref="resident"),
    ("POST", "/api/v1/surveillance/zoonoses/exposures"): R("care:write", send=EXPOSURE, ref="resident"),
    ("GET", "/api/v1/surveillance/zoonoses/campaigns"): R("emergency:read"),
    ("POST", "/api/v1/surveillance/zoonoses/campaigns"): R("emergency:write"),
    ("GET", "/api/v1/surveillance/zoonoses/summary"): R("emergency:read"),
    ("GET", "/surveillance/zoonoses"): R("emergency:read"),
    ("GET", "/surveillance/zoonoses/summary.xlsx"): R("emergency:read"),
    ("POST", "/surveillance/zoonoses/campaigns"): R("emergency:write"),
    ("GET", "/surveillance/zoonoses/exposures"): R("care:read", send={"resident_id": "@resident"}, ref="resident"),
    ("POST", "/surveillance/zoonoses/exposures"): R("care:write", send=EXPOSURE, ref="resident"),
    # --- ledgers: the hazard ledger (ledger:read / write / verify; scoped by the facility's org unit; the open
    # problem of each side has nothing to verify: 409) and practical projects (a county-wide register) ----------
    ("GET", "/api/v1/ledgers/hazards/inspections"): R("ledger:read"),
    ("POST", "/api/v1/ledgers/hazards/inspections"): R("ledger:write"),
    ("GET", "/api/v1/ledgers/hazards/inspections/{inspection_id}"): R("ledger:read"),
    ("POST", "/api/v1/ledgers/hazards/inspections/{inspection_id}/problems"): R("ledger:write"),
    ("GET", "/api/v1/ledgers/hazards/problems"): R("ledger:read"),
    ("GET", "/api/v1/ledgers/hazards/problems/{problem_id}"): R("ledger:read"),
    ("POST", "/api/v1/ledgers/hazards/problems/{problem_id}/photos"): R("ledger:write"),
    ("POST", "/api/v1/ledgers/hazards/problems/{problem_id}/rectifications"): R("ledger:write"),
    ("POST", "/api/v1/ledgers/hazards/problems/{problem_id}/verify"): R("ledger:verify"),
    ("GET", "/api/v1/ledgers/hazards/escalations"): R("ledger:read"),
    ("GET", "/ledgers/hazards"): R("ledger:read"),
    ("GET", "/ledgers/hazards/ledger.xlsx"): R("ledger:read"),
    ("POST", "/ledgers/hazards/inspections"): R("ledger:write"),
    ("GET", "/ledgers/hazards/inspections/{inspection_id:int}"): R("ledger:read"),
    ("POST", "/ledgers/hazards/inspections/{inspection_id:int}/problems"): R("ledger:write"),
    ("GET", "/ledgers/hazards/problems/{problem_id:int}"): R("ledger:read"),
    ("POST", "/ledgers/hazards/problems/{problem_id:int}/rectify"): R("ledger:write"),
    ("POST", "/ledgers/hazards/problems/{problem_id:int}/verify"): R("ledger:verify"),
    ("GET", "/ledgers/hazards/photos/{photo_id:int}"): R("ledger:read"),
    ("GET", "/api/v1/ledgers/projects"): R("ledger:read"),
    ("POST", "/api/v1/ledgers/projects"): R("project:write"),
    ("GET", "/api/v1/ledgers/projects/overview"): R("ledger:read"),
    ("GET", "/api/v1/ledgers/projects/{project_id}"): R("ledger:read"),
    ("POST", "/api/v1/ledgers/projects/{project_id}/milestones"): R("project:write"),
    ("POST", "/api/v1/ledgers/projects/{project_id}/progress"): R("project:write"),
    ("GET", "/ledgers/projects"): R("ledger:read"),
    ("GET", "/ledgers/projects/overview.xlsx"): R("ledger:read"),
    ("POST", "/ledgers/projects"): R("project:write"),
    ("GET", "/ledgers/projects/{project_id:int}"): R("ledger:read"),
    ("POST", "/ledgers/projects/{project_id:int}/progress"): R("project:write"),
    ("POST", "/ledgers/projects/{project_id:int}/milestones"): R("project:write"),
    # --- ledgers: facility standards (a clinic in scope), AEDs and training (by org unit), blood donors (a
    # resident in scope; from outside the county, county-level users only) --------------------------------
    ("GET", "/api/v1/ledgers/standards"): R("ledger:read"),
    ("GET", "/api/v1/ledgers/standards/{standard}/facilities"): R("ledger:read"),
    ("GET", "/api/v1/ledgers/standards/{standard}/progress"): R("ledger:read"),
    ("POST", "/api/v1/ledgers/standards/assessments"): R("ledger:write", send={"facility_id": "@clinic"},
                                                         ref="clinic"),
    ("GET", "/api/v1/ledgers/standards/assessments/{assessment_id}"): R("ledger:read"),
    ("GET", "/ledgers/standards"): R("ledger:read"),
    ("GET", "/ledgers/standards/assess"): R("ledger:write", send={"facility_id": "@clinic",
                                                                  "standard": "village_clinic"}, ref="clinic"),
    ("POST", "/ledgers/standards/assessments"): R("ledger:write", send={"facility_id": "@clinic",
                                                                       "standard": "village_clinic"}, ref="clinic"),
    ("GET", "/ledgers/standards/assessments/{assessment_id:int}"): R("ledger:read"),
    ("GET", "/api/v1/ledgers/equipment/devices"): R("ledger:read"),
    ("POST", "/api/v1/ledgers/equipment/devices"): R("ledger:write"),
    ("GET", "/api/v1/ledgers/equipment/devices/{device_id}"): R("ledger:read"),
    ("POST", "/api/v1/ledgers/equipment/devices/{device_id}/inspections"): R("ledger:write"),
    ("GET", "/api/v1/ledgers/equipment/public-count"): R("ledger:read"),
    ("GET", "/ledgers/equipment"): R("ledger:read"),
    ("POST", "/ledgers/equipment/devices"): R("ledger:write"),
    ("GET", "/ledgers/equipment/devices/{device_id:int}"): R("ledger:read"),
    ("POST", "/ledgers/equipment/devices/{device_id:int}/inspections"): R("ledger:write"),
    ("GET", "/ledgers/equipment/public"): R("ledger:read"),
    ("GET", "/ledgers/equipment/public.xlsx"): R("ledger:read"),
    ("GET", "/api/v1/ledgers/training/sessions"): R("ledger:read"),
    ("POST", "/api/v1/ledgers/training/sessions"): R("ledger:write"),
    ("GET", "/api/v1/ledgers/training/rollup"): R("ledger:read"),
    ("GET", "/ledgers/training"): R("ledger:read"),
    ("GET", "/ledgers/training/rollup.xlsx"): R("ledger:read"),
    ("POST", "/ledgers/training/sessions"): R("ledger:write"),
    ("GET", "/api/v1/ledgers/blood/donors"): R("ledger:read"),
    ("POST", "/api/v1/ledgers/blood/donors"): R("ledger:write", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/api/v1/ledgers/blood/donors/{donor_id}"): R("ledger:read"),
    ("POST", "/api/v1/ledgers/blood/donors/{donor_id}/donations"): R("ledger:write"),
    ("GET", "/api/v1/ledgers/blood/recall"): R("ledger:read"),
    ("GET", "/ledgers/blood"): R("ledger:read"),
    ("POST", "/ledgers/blood/donors"): R("ledger:write", send={"resident_id": "@resident"}, ref="resident"),
    ("GET", "/ledgers/blood/donors/{donor_id:int}"): R("ledger:read"),
    ("POST", "/ledgers/blood/donors/{donor_id:int}/donations"): R("ledger:write"),
    ("GET", "/ledgers/blood/recall"): R("ledger:read"),
}
# Static files: served to anyone (they hold no data); one file is asked for.
STATIC = {"/static": "/static/app.css"}
EXEMPT_FROM_MATRIX = set(STATIC)


# --- the app's routes --------------------------------------------------------------------------------
def app_routes(app) -> set[tuple[str, str]]:
    out = set()
    for route in iter_route_contexts(app.routes):
        if route.path in EXEMPT_FROM_MATRIX:
            continue
        for method in route.methods or ():
            if method != "HEAD":
                out.add((method, route.path))
    return out


def test_every_route_of_the_app_has_a_row_and_every_row_a_route(app):
    routes = app_routes(app)
    missing = sorted(routes - set(T))
    gone = sorted(set(T) - routes)
    assert missing == [], f"routes without a row in tests/security/test_route_matrix.py T: {missing}"
    assert gone == [], f"rows of tests/security/test_route_matrix.py T for routes that no longer exist: {gone}"
    params = {name for _, path in routes for name in re.findall(r"\{([^}:]+)", path)}
    overridden = {name for _, name in PATH_KIND_OVERRIDE}
    assert params <= set(PARAM_KIND) | set(FIXED) | overridden | {"indicator_id"}, params - set(PARAM_KIND) - set(FIXED)


def test_static_files_are_served_to_anyone(client):
    for url in STATIC.values():
        client.cookies.clear()
        response = client.get(url)
        assert response.status_code == 200 and response.content, url


# --- one case ----------------------------------------------------------------------------------------
@dataclass
class Case:
    method: str
    path: str  # the template
    rule: R
    side: str
    kind: str | None  # the scoped object the case is about (path or `send`), None: none
    in_path: bool
    url: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


def _path_kinds(path: str) -> list[tuple[str, str]]:
    out = []
    for name in re.findall(r"\{([^}:]+)", path):
        kind = PATH_KIND_OVERRIDE.get((path, name)) or PARAM_KIND.get(name)
        if kind is not None:
            out.append((name, kind))
    return out


def _fill(path: str, ids: dict[str, Any], missing: str | None = None) -> str:
    def one(match: re.Match) -> str:
        name = match.group(1)
        if name in FIXED:
            return FIXED[name]
        if name == "indicator_id":
            return next(iter(definitions().indicators))
        kind = PATH_KIND_OVERRIDE.get((path, name)) or PARAM_KIND[name]
        return str(MISSING_ID) if kind == missing else str(ids[kind])
    return re.sub(r"\{([^}:]+)(?::[^}]+)?\}", one, path)


def _payload(rule: R, ids: dict[str, Any], missing: str | None = None) -> dict[str, Any]:
    out = {}
    for key, value in rule.send.items():
        if isinstance(value, str) and value.startswith("@"):
            kind = value[1:]
            value = MISSING_ID if kind == missing and kind == rule.ref else ids[kind]
        out[key] = value
    return out


def cases() -> list[Case]:
    out = []
    for (method, path), rule in sorted(T.items()):
        scoped = [k for _, k in _path_kinds(path) if k not in UNSCOPED and not rule.unscoped]
        kind, in_path = (scoped[0], True) if scoped else (rule.ref, False)
        for side in ("A", "B") if kind else ("A",):
            out.append(Case(method, path, rule, side, kind, in_path))
    return out


# --- expectations --------------------------------------------------------------------------------
ROLE_SPECS = accounts_service.roles()


def has(role: str, need: str | tuple[str, ...]) -> bool:
    if need in (LOGIN, PUBLIC):
        return True
    wanted = need if isinstance(need, tuple) else (need,)
    return bool(ROLE_SPECS[role]["permissions"] & set(wanted))


def sees(role: str, kind: str | None, side: str) -> bool:
    return side == "A" or kind is None or kind in UNSCOPED or ROLE_SPECS[role]["scope_level"] == "county"


def is_api(path: str) -> bool:
    return path.startswith("/api/")


# --- the database's state (refused writes) -----------------------------------------------------------
# Tables a refused request may still write: the audit log (refusals are logged), log-in sessions and
# tokens ("last seen"), throttles.
UNWATCHED = {"audit_events", "audit_chain_head", "user_sessions", "api_tokens", "login_throttles"}


def fingerprint(connection) -> str:
    digest = hashlib.sha256()
    for name, table in sorted(Base.metadata.tables.items()):
        if name in UNWATCHED:
            continue
        order = list(table.primary_key.columns) or list(table.columns)
        for row in connection.execute(select(table).order_by(*order)):
            digest.update(repr(tuple(row)).encode())
        digest.update(name.encode())
    return digest.hexdigest()


# --- the sweep -----------------------------------------------------------------------------------
@dataclass
class Who:
    role: str
    cookies: dict[str, str]
    csrf: str
    bearer: dict[str, str]


def _log_in(client, session, world, role: str) -> Who:
    client.cookies.clear()
    if role == ANONYMOUS:
        page = client.get("/login")
        return Who(role, dict(client.cookies), f.csrf_from(page.text), {})
    user = world.users[role]
    f.page_login(client, user.username)
    home = client.get("/")
    assert home.status_code == 200, (role, home.status_code)
    return Who(role, dict(client.cookies), f.csrf_from(home.text), f.token_headers(session, user))


def _ask(client, who: Who, case: Case, url: str, payload: dict[str, Any]):
    client.cookies.clear()
    client.cookies.update(who.cookies)
    kw: dict[str, Any] = {"follow_redirects": False}
    if case.method == "GET":
        kw["params"] = payload
    elif is_api(case.path):
        kw["json"] = payload
        kw["headers"] = who.bearer
    else:
        kw["data"] = {**payload, "csrf_token": who.csrf}
    return client.request(case.method, url, **kw)


def _error_key(response) -> str | None:
    try:
        return response.json()["error"]["message_key"]
    except (ValueError, KeyError, TypeError):
        return None


def _text(response) -> str:
    return response.content.decode("utf-8", "replace")


@pytest.mark.parametrize("role", ROLES)
def test_role_route_matrix(role, app, client, session, connection):
    world = matrix_world.build(session, upload_dir=app.state.settings.upload_dir)
    session.commit()  # into the test's outer transaction: each case's savepoint starts from it
    who = _log_in(client, session, world, role)
    secrets = [s for side in world.sides.values() for s in side.secrets if s]
    # Every case's savepoint is rolled back, so each starts from this state.
    before = fingerprint(connection)
    wrong: list[str] = []
    checked, outcomes = 0, Counter()
    for case in cases():
        ids = world.sides[case.side].ids
        url, payload = _fill(case.path, ids), _payload(case.rule, ids)
        write = case.method != "GET"
        savepoint = connection.begin_nested()
        try:
            response = _ask(client, who, case, url, payload)
            status, body = response.status_code, _text(response)
            where = f"{role} {case.method} {url} (side {case.side}) → {status}"
            refused, outcome = True, "refused"
            if status >= 500:
                wrong.append(f"{where}: a server error {body[:200]}")
            if case.rule.need == PUBLIC:
                refused = False
                if status in (401, 403, 404):
                    wrong.append(f"{where}: a public route refused")
            elif role == ANONYMOUS:
                outcome = "not logged in"
                if is_api(case.path):
                    ok = status == 401
                else:
                    ok = status == 303 and response.headers.get("location", "").startswith("/login")
                if not ok:
                    wrong.append(f"{where}: not logged in, expected "
                                 f"{'401' if is_api(case.path) else 'a redirect to /login'}")
            elif not has(role, case.rule.need):
                outcome = "no permission"
                if status != 403:
                    wrong.append(f"{where}: the role lacks {case.rule.need}, expected 403")
            elif not sees(role, case.kind, case.side):
                # Exactly what a missing id answers.
                outcome = "out of scope"
                missing = _ask(client, who, case, _fill(case.path, ids, missing=case.kind),
                               _payload(case.rule, ids, missing=case.kind))
                public = OUT_OF_SCOPE_STATUS.get(case.kind)
                if case.in_path and status != (public or 404):
                    wrong.append(f"{where}: out of scope, expected {public or 404}")
                if public is None and (status, _error_key(response)) != (missing.status_code, _error_key(missing)):
                    wrong.append(f"{where}: out of scope answers unlike a missing id "
                                 f"({missing.status_code} {_error_key(missing)})")
                if status < 400:
                    wrong.append(f"{where}: out of scope and let through")
            else:
                refused, outcome = False, "allowed"
                allowed = case.rule.after.get(role)
                if allowed is not None:
                    if status not in allowed:
                        wrong.append(f"{where}: expected {allowed} (the service's own refusal)")
                elif status in (401, 403, 404):
                    wrong.append(f"{where}: allowed and in scope, refused {body[:160]}")
            if refused:
                leaked = [s for s in secrets if s in body]
                if leaked:
                    wrong.append(f"{where}: a refused answer shows {leaked}")
            # A write refused for whatever reason (the gate, the scope, the service, the form) keeps nothing.
            if write and (refused or status >= 400) and fingerprint(connection) != before:
                wrong.append(f"{where}: a refused write changed the database")
        finally:
            savepoint.rollback()
        checked += 1
        outcomes[outcome if case.rule.need != PUBLIC else "public"] += 1
    print(f"\nrole × route matrix: {role}: {checked} cases over {len(T)} routes: {dict(outcomes)}")
    assert wrong == [], f"{len(wrong)} of {checked} cases wrong:\n" + "\n".join(wrong)
