"""Benchmarks and measurements, run by hand (`make bench`), never by the test tiers: see
benchmarks/README.md."""
