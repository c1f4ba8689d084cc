"""Vprime executor service."""
