"""Artifact parsers: each turns one kind of evidence file into records with provenance."""
