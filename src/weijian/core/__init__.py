"""Shared plumbing: settings, database, errors, i18n, identifiers, periods, the acting user."""
