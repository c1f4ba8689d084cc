"""The spot DEX's rules: Uniswap V3 on Arbitrum, swapped from the agent trading wallet's USDC.

Addresses: Uniswap's deployment pages (docs.uniswap.org, contracts/v3/reference/deployments/arbitrum-deployments),
Arbitrum One and Arbitrum Sepolia; USDC is Circle's native USDC on Arbitrum One. Locally the chain's own addresses
replace them (settings)."""

from decimal import Decimal

MIN_NOTIONAL_USD = 1.0  # the smallest swap the executor sends
FEE_BPS = 30.0  # the 0.30 % tier, where a market's own pool does not say (fixture catalogs)

SWAP_DEADLINE_S = 60  # `multicall(deadline, ...)`: a swap not mined by then reverts ("Transaction too old")
TOKEN_LIST_TTL_S = 300.0  # the token list is read again this often, or at once when a symbol is missing (at most every 10 s)
TOKEN_LIST_RETRY_S = 10.0
POOL_CHOICE_TTL_S = 300.0  # which fee tier's pool is deepest, for a token, is looked at again this often
DUST_TOLERANCE = Decimal("1e-9")  # a close sells the whole balance when it is within this share of the position

# Depth: QuoterV2 quotes for these USD sizes, each side, become the levels of the book routing reads.
BOOK_LADDER_USD = (Decimal(100), Decimal(1_000), Decimal(10_000), Decimal(100_000), Decimal(1_000_000))

ARBITRUM_ONE = {
    "chain_id": 42161,
    "uniswap_factory": "0x1F98431c8aD98523631AE4a59f267346ea31F984",
    "uniswap_swap_router": "0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45",  # SwapRouter02
    "uniswap_quoter": "0x61fFE014bA17989E743c5F6cB21bF9697530B21e",  # QuoterV2
    "usdc": "0xaf88d065e77c8cC2239327C5EDb3A432268e5831",
    "weth": "0x82aF49447D8a07e3bd95BD0d56f35241523fBab1",
}
ARBITRUM_SEPOLIA = {
    "chain_id": 421614,
    "uniswap_factory": "0x248AB79Bbb9bC29bB72f7Cd42F17e054Fc40188e",
    "uniswap_swap_router": "0x101F443B4d1b059569D643917553c771E1b9663E",
    "uniswap_quoter": "0x2779a0CC1c3e0E44D2542EC3e79e3864Ae93Ef0B",
    "usdc": "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d",  # Circle's testnet USDC
    "weth": "0x980B62Da83eFf3D4576C647993b0c1D7faf17c73",
}
CONTRACTS = {"mainnet": ARBITRUM_ONE, "testnet": ARBITRUM_SEPOLIA}
# Uniswap Labs' default token list (tokenlists.org schema): tokens of every chain, filtered by the chain's id.
DEFAULT_TOKEN_LIST_URL = "https://tokens.uniswap.org"

# Reverts that are about this venue's market at this moment, not about the order: another venue may take it.
VENUE_SPECIFIC_REVERTS = frozenset({"Too little received", "Transaction too old"})
