"""Browser tests: real Chromium against a real precert server on loopback."""
