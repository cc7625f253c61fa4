"""Unit tests of the contracts: no broker, no database."""
