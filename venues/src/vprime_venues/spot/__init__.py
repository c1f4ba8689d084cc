"""SPOT: its constants, catalog reader and execution adapter."""
