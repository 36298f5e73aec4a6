"""Helpers for tests and rule authors: evidence builders and seeded example servers."""
