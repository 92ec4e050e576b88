"""The health record: encounters, discharge, health checks, screenings, the timeline and its graded-care figures."""
