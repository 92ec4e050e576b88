"""Training and outreach counts: sessions with the people trained (人次), rolled up by township and project."""
