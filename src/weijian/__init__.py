"""weijian (卫健): the county health bureau's platform.

Domains, in dependency order (a domain imports only those before it, and only through their `service`):

    core → orgunits → accounts → residents → care / immunization → settlement → surveillance
         → indicators → ledgers

`demo` builds a synthetic county from all of them and is imported by nothing but the CLI.
"""

__version__ = "0.1.0"
