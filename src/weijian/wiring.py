"""The composition root: the one place where the domains are put together. `create_app` and the CLI call
`wire()` at start, and so do the test fixtures.

A lower layer that must call into a higher one declares a hook (`core.hooks.Hook`) or a registry and never
imports upward, nor loads a module by a name in a string; this module imports every domain plainly and
fills them:

- core.db: each sessionmaker it makes gets the running tallies' flush listeners (core.tallies.keep_in_step),
  so every session that writes — the app's write and read units, the CLI's, the demo builder's — keeps them;
- core.tallies: the indicators' sources and their row lock;
- core.locks: the records an approved period locks (indicators.approval.GUARDED);
- care.contracts: the TB patients among the key populations (surveillance.tb);
- care: the discharge → settlement hook, the care areas' timeline sources, a received referral or
  consultation as the basis for reading a record, the chronic registration from a diagnosis, and the
  worklist's recall section (immunization) and TB section (surveillance);
- care.records: the case-report prompt of a notifiable diagnosis (surveillance);
- residents.merging: what each domain moves when two resident records are merged (and moves back on undo);
- surveillance.signals: the early-warning run's daily counts (the case reports', surveillance.cases);
- core.nav: the pages' navigation entries;
- ledgers.projects: the practical projects' computed progress sources (`indicator:<id>`, …);
- the routers of the web application, in the order they are mounted (`ROUTERS`).

A missing piece fails at start: a module that is not there fails its import here, and `wire()` ends with
`check()`, which names every hook or registry left empty. Wiring again (the test suite builds many apps in
one process) registers nothing twice: every step is idempotent.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from weijian.accounts import api as accounts_api
from weijian.accounts import pages as accounts_pages
from weijian.care import service as care_service
from weijian.care import worklist
from weijian.care.childcare import api as childcare_api
from weijian.care.childcare import pages as childcare_pages
from weijian.care.childcare import service as childcare_service
from weijian.care.chronic import api as chronic_api
from weijian.care.chronic import pages as chronic_pages
from weijian.care.chronic import service as chronic_service
from weijian.care.contracts import api as contracts_api
from weijian.care.contracts import keypop as contracts_keypop
from weijian.care.contracts import pages as contracts_pages
from weijian.care.contracts import service as contracts_service
from weijian.care.education import api as education_api
from weijian.care.education import pages as education_pages
from weijian.care.elderly import api as elderly_api
from weijian.care.elderly import pages as elderly_pages
from weijian.care.elderly import service as elderly_service
from weijian.care.maternal import api as maternal_api
from weijian.care.maternal import pages as maternal_pages
from weijian.care.maternal import queries as maternal_queries
from weijian.care.maternal import service as maternal_service
from weijian.care.mental import api as mental_api
from weijian.care.mental import pages as mental_pages
from weijian.care.mental import service as mental_service
from weijian.care.records import api as records_api
from weijian.care.records import pages as records_pages
from weijian.care.records import service as records
from weijian.care.referrals import api as referrals_api
from weijian.care.referrals import pages as referrals_pages
from weijian.care.referrals import queries as referrals_queries
from weijian.care.teleconsult import api as teleconsult_api
from weijian.care.teleconsult import pages as teleconsult_pages
from weijian.care.teleconsult import queries as teleconsult_queries
from weijian.core import db, locks, nav, tallies
from weijian.core.hooks import Hook, NotWired
from weijian.immunization import service as immunization_service
from weijian.immunization.newborn import api as newborn_api
from weijian.immunization.newborn import pages as newborn_pages
from weijian.immunization.newborn import queries as newborn_queries
from weijian.immunization.recall import api as recall_api
from weijian.immunization.recall import pages as recall_pages
from weijian.immunization.records import api as immunization_records_api
from weijian.immunization.records import pages as immunization_records_pages
from weijian.immunization.stock import api as stock_api
from weijian.immunization.stock import pages as stock_pages
from weijian.indicators import api as indicators_api
from weijian.indicators import approval as indicators_approval
from weijian.indicators import approval_pages as indicators_approval_pages
from weijian.indicators import pages as indicators_pages
from weijian.indicators import population_pages as indicators_population_pages
from weijian.indicators import tallies as indicator_tallies
from weijian.ledgers import service as ledgers_service
from weijian.ledgers.blood import api as blood_api
from weijian.ledgers.blood import pages as blood_pages
from weijian.ledgers.blood import service as blood_service
from weijian.ledgers.equipment import api as equipment_api
from weijian.ledgers.equipment import pages as equipment_pages
from weijian.ledgers.hazards import api as hazards_api
from weijian.ledgers.hazards import pages as hazards_pages
from weijian.ledgers.projects import api as projects_api
from weijian.ledgers.projects import pages as projects_pages
from weijian.ledgers.standards import api as standards_api
from weijian.ledgers.standards import pages as standards_pages
from weijian.ledgers.standards import service as standards_service
from weijian.ledgers.training import api as training_api
from weijian.ledgers.training import pages as training_pages
from weijian.orgunits import api as orgunits_api
from weijian.orgunits import pages as orgunits_pages
from weijian.residents import access as residents_access
from weijian.residents import api as residents_api
from weijian.residents import merging as residents_merging
from weijian.residents import pages as residents_pages
from weijian.settlement import service as settlement_service
from weijian.settlement.budget import api as budget_api
from weijian.settlement.budget import pages as budget_pages
from weijian.settlement.monitoring import api as monitoring_api
from weijian.settlement.monitoring import pages as monitoring_pages
from weijian.settlement.paylater import api as paylater_api
from weijian.settlement.paylater import pages as paylater_pages
from weijian.settlement.settle import api as settle_api
from weijian.settlement.settle import pages as settle_pages
from weijian.surveillance import service as surveillance_service
from weijian.surveillance.cases import api as cases_api
from weijian.surveillance.cases import pages as cases_pages
from weijian.surveillance.emergency import api as emergency_api
from weijian.surveillance.emergency import pages as emergency_pages
from weijian.surveillance.signals import api as signals_api
from weijian.surveillance.signals import pages as signals_pages
from weijian.surveillance.signals import service as signals_service
from weijian.surveillance.tb import api as tb_api
from weijian.surveillance.tb import pages as tb_pages
from weijian.surveillance.zoonoses import api as zoonoses_api
from weijian.surveillance.zoonoses import pages as zoonoses_pages
from weijian.surveillance.zoonoses import service as zoonoses_service

# Each hook of a lower layer and what provides it.
HOOKS: tuple[tuple[Hook[Any], Callable[..., Any]], ...] = (
    (db.prepare_sessions, tallies.keep_in_step),
    (residents_access.shared_basis, referrals_queries.access_basis_for),
    (records.chronic_from_diagnosis, chronic_service.register_from_diagnosis),
    (records.chronic_basis_voided, chronic_service.close_from_voided_diagnosis),
    (records.live_settlement, settlement_service.live_settlement),
    (worklist.recall_section, immunization_service.worklist_recall),
    (records.case_report_prompts, surveillance_service.case_report_prompts),
    (signals_service.daily_counts, surveillance_service.daily_counts),
    (worklist.tb_section, surveillance_service.tb_worklist_section),
    (contracts_keypop.tb_patients, surveillance_service.tb_patients_on),
    (records.diagnosis_hidden, mental_service.diagnosis_hidden),
    (maternal_queries.newborns_of_delivery, newborn_queries.newborns_of_mother),
    (newborn_queries.maternal_delivery, maternal_service.delivery_for_newborn),
)
# What moves with a merged resident record, per domain (residents.merging; the residents' own rows first).
MERGE_MOVERS: tuple[residents_merging.Mover, ...] = (
    care_service.MERGE_MOVER, maternal_service.MERGE_MOVER, childcare_service.MERGE_MOVER,
    immunization_service.MERGE_MOVER,
    settlement_service.MERGE_MOVER, surveillance_service.MERGE_MOVER, surveillance_service.TB_MERGE_MOVER,
    zoonoses_service.MERGE_MOVER, elderly_service.MERGE_MOVER, blood_service.MERGE_MOVER,
    contracts_service.MERGE_MOVER, mental_service.MERGE_MOVER)
# What runs after a stay is discharged, in the discharge's transaction (care.records).
DISCHARGE_HOOKS: dict[str, Callable[..., Any]] = {"settlement": settlement_service.try_settle_at_discharge}
# The resident's timeline, in the order its kinds are offered: the record's own rows first.
TIMELINE_SOURCES: tuple[records.TimelineSource, ...] = (
    *records.TIMELINE_SOURCES, chronic_service.TIMELINE, referrals_queries.TIMELINE, teleconsult_queries.TIMELINE)
# The pages modules whose entries make the main navigation.
NAV_MODULES = (accounts_pages, orgunits_pages, residents_pages, chronic_pages, maternal_pages, referrals_pages,
               teleconsult_pages, childcare_pages, mental_pages,
               immunization_records_pages, stock_pages, newborn_pages, recall_pages, settle_pages, paylater_pages,
               indicators_pages, indicators_population_pages, budget_pages, monitoring_pages, cases_pages,
               signals_pages, tb_pages, emergency_pages, elderly_pages,
               hazards_pages, projects_pages, standards_pages, equipment_pages, training_pages, blood_pages,
               contracts_pages, education_pages)
# The routers, in dependency order (an earlier route wins where two would match).
ROUTERS: tuple[APIRouter, ...] = tuple(m.router for m in (
    accounts_api, accounts_pages, orgunits_api, orgunits_pages, residents_api, residents_pages,
    records_api, records_pages, chronic_api, chronic_pages, maternal_api, maternal_pages, childcare_api,
    childcare_pages, referrals_api,
    referrals_pages, teleconsult_api, teleconsult_pages, mental_api, mental_pages,
    immunization_records_api, immunization_records_pages, stock_api, stock_pages, newborn_api, newborn_pages,
    recall_api, recall_pages, settle_api, paylater_api, settle_pages, paylater_pages, cases_api, cases_pages,
    indicators_api,
    indicators_population_pages, indicators_approval_pages, indicators_pages,
    budget_api, budget_pages, monitoring_api, monitoring_pages, signals_api, signals_pages, tb_api, tb_pages,
    emergency_api, emergency_pages, zoonoses_api, zoonoses_pages, elderly_api, elderly_pages,
    hazards_api, hazards_pages, projects_api, projects_pages,
    standards_api, standards_pages, equipment_api, equipment_pages, training_api, training_pages, blood_api,
    blood_pages, contracts_api, contracts_pages, education_api, education_pages))
# The practical projects' computed progress sources (ledgers.projects.sources): kind → (figure done on a day,
# whether an argument is known). A project's `source` is `kind:argument`.
PROGRESS_SOURCES: dict[str, tuple[ledgers_service.Source, Callable[[str], bool]]] = {
    "indicator": (ledgers_service.indicator_done, ledgers_service.indicator_known),
    "standard": (standards_service.progress_done, standards_service.progress_known)}


def wire() -> None:
    """Fill every hook and registry of the lower layers, then `check()`. Safe to call again."""
    for hook, impl in HOOKS:
        hook.provide(impl)
    for name, on_discharge in DISCHARGE_HOOKS.items():
        records.register_discharge_hook(name, on_discharge)
    for mover in MERGE_MOVERS:
        residents_merging.add_mover(mover)
    for source in TIMELINE_SOURCES:
        records.add_timeline_source(source)
    tallies.register(*indicator_tallies.sources(), lock_people=indicator_tallies.lock_people)
    locks.register(*indicators_approval.GUARDED)
    for module in NAV_MODULES:
        nav.add(*module.NAV)
    for kind, (done, known) in PROGRESS_SOURCES.items():
        ledgers_service.register_source(kind, done, known=known)
    check()


def check() -> None:
    """Raise NotWired naming each piece that is not in place."""
    missing = [hook.name for hook, _ in HOOKS if not hook.provided]
    hooks = records.discharge_hooks()
    missing += [f"care.records discharge hook {name!r}" for name in DISCHARGE_HOOKS if name not in hooks]
    if not hooks:
        missing.append("care.records discharge hooks")
    added = records.timeline_sources()
    missing += [f"care.records timeline source {s.name!r}" for s in TIMELINE_SOURCES if s.name not in added]
    if not added:
        missing.append("care.records timeline sources")
    moved = residents_merging.mover_names()
    missing += [f"residents.merging mover {m.name!r}" for m in MERGE_MOVERS if m.name not in moved]
    if not moved:
        missing.append("residents.merging movers")
    if not tallies.SOURCES:
        missing.append("core.tallies sources")
    missing += [f"core.locks guarded {g.cls.__name__}" for g in indicators_approval.GUARDED
                if locks.GUARDED.get(g.cls) is not g]
    hrefs = {item.href for item in nav.items()}
    missing += [f"core.nav entry {item.href!r}" for m in NAV_MODULES for item in m.NAV if item.href not in hrefs]
    if not hrefs:
        missing.append("core.nav entries")
    kinds = ledgers_service.source_kinds()
    missing += [f"ledgers.projects source {k!r}" for k in PROGRESS_SOURCES if k not in kinds]
    if missing:
        raise NotWired("not wired at start: " + ", ".join(missing))
