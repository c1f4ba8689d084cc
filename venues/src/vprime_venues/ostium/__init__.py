"""OSTIUM: its constants, catalog reader and execution adapter."""
