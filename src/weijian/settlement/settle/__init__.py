"""Settling stays: the policies (rules), the pure cascade engine, settlements, reversal and the pending batch."""
