"""Vprime policy service."""
