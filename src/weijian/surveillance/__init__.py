"""Notifiable diseases (issue 16): the disease list by date (rules, data/diseases.yaml), the early-warning
methods (detection), reporting timeliness, the case reports (传染病报告卡, cases/: tables in models.py) and the
`weijian surveillance` command. Other domains reach it through `service`."""
