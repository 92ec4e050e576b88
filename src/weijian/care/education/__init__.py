"""Health education (健康教育): activities per facility with their photos, against the 规范\x27s yearly minimums."""
