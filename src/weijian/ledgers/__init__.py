"""Ledgers: how the bureau steers — hazard ledgers, practical projects, facility standardisation, equipment,
training counts and voluntary blood donation, each an area package."""
