"""Severe mental illness management (严重精神障碍患者管理, issue 17 part 5)."""
