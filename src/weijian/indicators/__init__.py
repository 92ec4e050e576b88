"""Indicators: every figure the bureau reports, defined as data and computed live from the records."""
