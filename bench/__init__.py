"""Benchmarks: each script is one command that prints its figures (see BENCHMARKS.md)."""
