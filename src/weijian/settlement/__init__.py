"""Settlement (一站式结算): insurance policies as versioned data files, and the pure cascade engine that
splits an inpatient bill between basic insurance, critical-illness insurance, medical assistance and
the patient (`settle`); the pay-later ledger (`paylater`), the bundled budget (`budget`) and poverty-risk
monitoring (`monitoring`) build on the stored settlements.
"""
