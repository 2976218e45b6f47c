"""Benchmarks: each ``bench_<area>.py`` has ``run(results: dict) -> None`` adding ``"<area>.<figure>": number``."""
