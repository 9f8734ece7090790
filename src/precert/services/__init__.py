"""Use cases: one module each, taking a unit of work and ports."""
