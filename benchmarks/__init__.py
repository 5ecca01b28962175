"""Benchmarks of the platform, run by `make bench`."""
