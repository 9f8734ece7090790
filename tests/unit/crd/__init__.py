"""Tests of the CRD CDS Hooks codec and the hook use case."""
