"""Benchmarks and measurements (not tests): see benchmarks/README.md."""
