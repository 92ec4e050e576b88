"""The elderly 65+ and TCM health management (老年人健康管理, 老年人中医药健康管理; issue 17 part 4)."""
