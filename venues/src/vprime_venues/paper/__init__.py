"""PAPER: fills on live ticks, for deployments without a venue key."""
