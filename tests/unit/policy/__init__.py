"""Tests of the policy packs, their loader and the compiled engine."""
