"""Run Vprime locally without Docker."""
