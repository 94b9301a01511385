"""Benchmarks (run from the repository root: python -m benchmarks.bench_recalc); see README.md."""
