"""The business of prior authorization in plain Python: no I/O, no frameworks."""
