"""Helpers for tests that run services against the real broker and store on loopback."""
