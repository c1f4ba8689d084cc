"""Vprime router service."""
