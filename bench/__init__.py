"""Benchmarks: each one runs a workload and its baseline in the same run and reports the ratio."""
