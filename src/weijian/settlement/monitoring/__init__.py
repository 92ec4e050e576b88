"""Poverty-risk monitoring (防止因病返贫监测): the monitored residents whose own costs pass the threshold."""
