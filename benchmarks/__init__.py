"""Benchmarks: measurements of the platform, run by hand (`make bench`), never by the test tiers."""
