"""Imports every domain's tables so that Base.metadata is complete (Alembic, tests, `db upgrade`)."""
from weijian.accounts import models as accounts_models  # noqa: F401
from weijian.care import models as care_models  # noqa: F401
from weijian.core.db import Base
from weijian.immunization import models as immunization_models  # noqa: F401
from weijian.orgunits import models as orgunits_models  # noqa: F401
from weijian.residents import models as residents_models  # noqa: F401

metadata = Base.metadata
from weijian.core import tallies as tallies_models  # noqa: F401,E402
from weijian.settlement import models as settlement_models  # noqa: F401
