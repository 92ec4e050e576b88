"""The hazard ledger (隐患排查整改, issue 18 part 1): inspections, problems with the four to's, rectification,
verification, overdue escalation and the three ledgers as views of the same records."""
