"""Shared conventions every router and service reuses."""
