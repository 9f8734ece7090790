"""The HTTP edge: FastAPI app, REST API, FHIR and CDS Hooks endpoints, and the UI."""
