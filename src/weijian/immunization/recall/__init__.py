"""Recall lists: the week's children with a dose due or overdue, their guardians, the xlsx; the coverage pages."""
