"""Simulated cameras for the demo, the tests and the benchmarks."""
