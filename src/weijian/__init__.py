"""weijian (卫健): the county health bureau's platform.

Domains, in dependency order (a domain imports only those before it, and only through their `service`):

    core → orgunits → accounts → residents → care / immunization → settlement → surveillance
         → indicators → ledgers

`demo` builds a synthetic county from all of them and is imported by nothing but the CLI. Above them all,
`wiring` (the composition root) fills the hooks and registries the lower layers declare — a lower layer
never imports a higher one, nor loads a module by a name in a string — and `app` and `cli` call it at
start. `make test` checks this order with import-linter (`[tool.importlinter]` in pyproject.toml).
"""

__version__ = "0.1.0"
