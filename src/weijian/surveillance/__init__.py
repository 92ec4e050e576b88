"""Notifiable diseases (issue 16): the disease list by date (rules, data/diseases.yaml), the early-warning
methods (detection), reporting timeliness and the `weijian surveillance` command. No tables yet."""
