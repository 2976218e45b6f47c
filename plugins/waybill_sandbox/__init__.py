"""Simulated partner systems (ERP, WMS, TMS, carriers) for the demo, tests and benchmarks."""
