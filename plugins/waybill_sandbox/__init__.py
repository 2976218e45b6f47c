"""Simulated partner systems (ERP, WMS, TMS, carriers) for the demo, the tests and the benchmarks."""
