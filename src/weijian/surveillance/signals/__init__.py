"""Early-warning signals (issue 16, parts 3–4): the daily run that stores each signal once, and its lifecycle
(new → verified true / false → responding → closed) with the county CDC's verification limit."""
