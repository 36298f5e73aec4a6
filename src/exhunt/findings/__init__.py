"""From hits to findings, timeline, coverage and verdict."""
