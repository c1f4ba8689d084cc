"""Vprime signal service."""
