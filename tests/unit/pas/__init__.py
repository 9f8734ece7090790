"""Unit tests of the Da Vinci PAS and eligibility codecs."""
