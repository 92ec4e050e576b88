"""Vaccine stock at the vaccination points: points, lots, balances, movements and their flags."""
