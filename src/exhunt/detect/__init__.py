"""Detection engines: Sigma, IOC, Python checks; each turns records into hits."""
