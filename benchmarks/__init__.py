"""Benchmarks: offline dataset builders, a runner that goes through ingestion + scoring, reports."""
