"""Unit tests of the analytics metrics."""
