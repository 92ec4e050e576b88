"""weijian (卫健): the county health bureau's platform.

Domains, in dependency order (a domain imports only those before it, and only through their `service` or
`models`, `accounts.deps` and `residents.access`; tests/test_layers.py holds it):

    core → orgunits → accounts → residents → care / immunization → settlement → surveillance
         → indicators → ledgers

A domain that has grown several areas is split into area packages (`care/referrals/`, …), each with the
files of a small domain (`schemas`, `service`, `queries`, `api`, `pages`, `rules`); the domain's `service`
re-exports its areas' names.

`demo` builds a synthetic county from all of them and is imported by nothing but the CLI. Above them all,
`wiring` (the composition root) fills the hooks and registries the lower layers declare — a lower layer
never imports a higher one, nor loads a module by a name in a string — and `app` and `cli` call it at
start. `make test` checks this order with import-linter (`[tool.importlinter]` in pyproject.toml).
"""

__version__ = "0.1.0"
