"""The sandbox payer: a real FHIR PAS and X12 server on loopback for tests, demos and training."""
