"""Health records and graded care: encounters, chronic-disease follow-up, referrals, teleconsultation."""
