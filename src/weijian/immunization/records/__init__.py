"""Vaccination records: doses given or copied from the certificate, refusals, AEFI reports and the child's schedule."""
