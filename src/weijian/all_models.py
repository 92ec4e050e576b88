"""Imports every domain's tables so that Base.metadata is complete (Alembic, tests, `db upgrade`)."""
from weijian.accounts import models as accounts_models
from weijian.care import models as care_models
from weijian.care.childcare import models as childcare_models
from weijian.care.contracts import models as contracts_models
from weijian.care.education import models as education_models
from weijian.care.elderly import models as elderly_models
from weijian.care.maternal import models as maternal_models
from weijian.care.mental import models as mental_models
from weijian.core import locks as locks_models
from weijian.core import tallies as tallies_models
from weijian.core.db import Base
from weijian.immunization import models as immunization_models
from weijian.indicators import models as indicators_models
from weijian.ledgers.blood import models as blood_models
from weijian.ledgers.equipment import models as equipment_models
from weijian.ledgers.hazards import models as hazards_models
from weijian.ledgers.projects import models as projects_models
from weijian.ledgers.standards import models as standards_models
from weijian.ledgers.training import models as training_models
from weijian.orgunits import models as orgunits_models
from weijian.residents import models as residents_models
from weijian.settlement import models as settlement_models
from weijian.surveillance import models as surveillance_models
from weijian.surveillance.emergency import models as emergency_models
from weijian.surveillance.signals import models as surveillance_signals_models
from weijian.surveillance.tb import models as tb_models
from weijian.surveillance.zoonoses import models as zoonoses_models

metadata = Base.metadata
