"""One module per suite, each with ``build_suite() -> gx.ExpectationSuite``."""
