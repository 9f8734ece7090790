"""Adapters at the edge: database, payer connections, queue."""
