"""Codecs between wire formats (FHIR, X12) and domain objects; pure, no I/O."""
