"""Benchmarks: `make bench` (python -m benchmarks) runs every module in benchmarks.__main__.MODULES."""
