"""Benchmarks (`make bench`): figures are printed and written to docs/benchmarks.md."""
