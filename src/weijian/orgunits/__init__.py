"""Org units (county → township → village, keyed by 12-digit statistical codes) and facilities."""
