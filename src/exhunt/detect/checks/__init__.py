"""Python checks: what Sigma cannot say. One module per check; each registers itself."""
