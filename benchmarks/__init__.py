"""Benchmarks (`make bench`, `python -m benchmarks`): deterministic synthetic workloads built from real
material, each figure a ratio against a baseline run in the same process plus absolute numbers.

Not tests: nothing here asserts a timing. Results and the command that made them: BENCHMARKS.md.
"""
