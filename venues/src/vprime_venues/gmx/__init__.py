"""GMX: its constants, catalog reader and execution adapter."""
