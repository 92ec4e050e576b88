"""A domain reaches another only through its `service` (and its tables, for joins), STYLE 2 and 16; the
composition root (`wiring`), `app`, `cli` and `demo` sit above the domains and may reach in."""
from __future__ import annotations

import grimp

DOMAINS = ("orgunits", "accounts", "residents", "care", "immunization", "settlement", "surveillance", "indicators",
           "ledgers")
# The other way in: each domain's routes take the permission dependency from accounts' web plumbing, and
# "may this user see this resident?" has one answer, in residents.access.
DOORS = {"service", "models"}
SHARED = {"weijian.accounts.deps", "weijian.residents.access"}


def _domain(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in DOMAINS else None


def test_domains_import_each_other_only_through_their_service() -> None:
    graph = grimp.build_graph("weijian")
    wrong = []
    for module in sorted(graph.modules):
        home = _domain(module)
        if home is None:
            continue
        for target in sorted(graph.find_modules_directly_imported_by(module)):
            other = _domain(target)
            if other is None or other == home or target in SHARED:
                continue
            if target.split(".")[2:] and target.split(".")[2] in DOORS and target.count(".") == 2:
                continue
            wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_the_check_sees_a_deep_import() -> None:
    """The test above would pass on an empty graph: make sure it reads the real one."""
    graph = grimp.build_graph("weijian")
    assert "weijian.care.service" in graph.find_modules_directly_imported_by("weijian.indicators.measures")
