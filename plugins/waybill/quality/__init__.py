"""Data quality: GX contexts, the gate's outcome model and the gate operator (suites live in expectations/)."""
