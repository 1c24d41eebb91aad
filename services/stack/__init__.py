"""Parley's stack as one unit: `make run`, the test session and `make bench` start it the same way."""
