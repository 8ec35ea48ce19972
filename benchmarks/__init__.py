"""Benchmarks: `make bench` runs them and prints ratios against a baseline measured in the same run."""
