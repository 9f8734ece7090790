"""FHIR R4 codecs: Da Vinci PAS, CRD, eligibility."""
