"""Child immunization (儿童预防接种): the national schedule as versioned data (schedule/rules.py, data/*.yaml) and
the pure due/overdue engine (schedule/engine.py). Records, recall, vaccine stock and pages build on these.
"""
