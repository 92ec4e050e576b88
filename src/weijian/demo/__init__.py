"""A deterministic synthetic county (modelled on Yingshan, Hubei) for `make run`, tests and benchmarks."""
