"""Settlement (一站式结算): insurance policies as versioned data files, and the pure cascade engine that
splits an inpatient bill between basic insurance, critical-illness insurance, medical assistance and
the patient. Stored settlements, slips and the pay-later ledger build on `engine` and `policy`.
"""
