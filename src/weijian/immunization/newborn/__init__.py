"""The newborn "one thing" (出生"一件事"): birth registration, its certificates and the hand-offs."""
