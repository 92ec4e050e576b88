"""The equipment registry, AEDs first: devices, their places and expiries, monthly inspections."""
