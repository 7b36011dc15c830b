"""Scheduled work (retention sweeps, and later exports and erasure): see `registry.JOBS`."""
