"""Maternal health management (孕产妇健康管理): pregnancies, antenatal and postpartum visits, risk colours."""
