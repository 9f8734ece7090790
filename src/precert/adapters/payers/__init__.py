"""Payer gateways (FHIR PAS, X12 278 over HTTP) and the SQL store of payer connections."""
