"""Approving and funding a deployment's agent wallet on the venue simulator, as a user does on the venue.

On Hyperliquid an API wallet trades for an account that approved it and holds nothing itself: the account
(the deployment's wallet) is funded and approves the agent. The other simulated venues hold funds at the
agent wallet's own address.
"""

from __future__ import annotations

from typing import Any


def account_setup(venue: str, *, account: str, agent: str, equity_usd: float) -> dict[str, Any]:
    """The simulator's `POST /admin/accounts` body that funds `venue`'s account and approves `agent` where the venue
    approves agents."""
    if venue.upper() == "HYPERLIQUID":
        return {"venue": "HYPERLIQUID", "address": account, "agent": agent, "equity_usd": equity_usd}
    return {"venue": venue, "address": agent, "equity_usd": equity_usd}
