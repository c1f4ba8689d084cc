"""Vprime query service."""
