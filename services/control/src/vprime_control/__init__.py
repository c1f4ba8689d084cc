"""Control plane: agents, deployments and manual signals (HTTP in, registry and signal events out)."""
