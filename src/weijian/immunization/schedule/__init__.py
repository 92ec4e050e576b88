"""The immunization schedule: its editions (rules, the data files), the pure engine, the stored next-due dates."""
