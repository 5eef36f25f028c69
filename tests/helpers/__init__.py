"""Helpers shared by the tests: real processes on loopback, example data, trained state."""
