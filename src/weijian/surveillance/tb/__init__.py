"""TB patient management (肺结核患者健康管理, issue 16 part 5): suspects referred from primary care, the
treatment course notified by the designated hospital, the first home visit within 72 hours, supervised doses
(督导服药), follow-ups and the outcome; the 管理率 and 规则服药率 counted from these records."""
