"""Child immunization (儿童预防接种): the national schedule as versioned data (schedule.py, data/*.yaml) and
the pure due/overdue engine (engine.py). Records, vaccine stock and pages build on these.
"""
