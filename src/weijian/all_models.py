"""Imports every domain's tables so that Base.metadata is complete (Alembic, tests, `db upgrade`)."""
from weijian.accounts import models as accounts_models
from weijian.care import models as care_models
from weijian.care.maternal import models as maternal_models
from weijian.core import tallies as tallies_models
from weijian.core.db import Base
from weijian.immunization import models as immunization_models
from weijian.indicators import models as indicators_models
from weijian.orgunits import models as orgunits_models
from weijian.residents import models as residents_models
from weijian.settlement import models as settlement_models

metadata = Base.metadata
