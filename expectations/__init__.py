"""Great Expectations suites and checkpoints, versioned with the code (GX Core 1.x, built in code)."""
