"""Acceptance tests against the shared fixture corpus."""
