"""The `vprime` command line."""
