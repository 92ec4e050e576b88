"""Child health management 0–6 (0～6岁儿童健康管理)."""
