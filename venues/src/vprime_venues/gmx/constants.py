"""GMX v2's rules and numbers, each defined once. Sources: gmx-synthetics (`contracts/data/Keys.sol`,
`contracts/order/Order.sol`, `config/markets.ts`, `config/general.ts`), `@gmx-io/sdk` 1.4.0 (`configs/contracts.js`,
`configs/oracleKeeper.js`, `utils/markets.js`, `utils/tokens.js`) and GMX's API docs (Oracle API: `/ping`,
`/prices/tickers`, `/markets/info`, `/tokens`).

Scales (the SDK's `parseContractPrice` / `convertToContractPrice`):
- USD amounts (`sizeDeltaUsd`, open interest, liquidity) are USD x 10^30.
- Prices, on chain and in `/prices/tickers`, are USD x 10^30 per smallest unit of the token: a price of P USD per
  whole token is P x 10^(30 - token decimals) (BTC, 8 decimals: x 10^22; ETH, 18: x 10^12; a 6-decimal token: x 10^24).
- Factors (fees, min collateral factor) are fractions x 10^30; `fundingRateLong` and `borrowingRateLong` of
  `/markets/info` are annual rates x 10^30.
"""

from __future__ import annotations

from decimal import Decimal

from eth_abi import encode
from eth_utils import keccak

# ---- scales --------------------------------------------------------------------------------------
FLOAT_PRECISION = 10**30
USD_SCALE = FLOAT_PRECISION
HOURS_PER_YEAR = 365 * 24


def price_scale(token_decimals: int) -> int:
    """GMX's price unit: USD x 10^30 per smallest token unit, i.e. 10^(30 - decimals) per USD per whole token."""
    return 10 ** (30 - token_decimals)


def to_contract_price(usd_per_token: Decimal, token_decimals: int) -> int:
    return int(usd_per_token * price_scale(token_decimals))


def from_contract_price(price: int, token_decimals: int) -> Decimal:
    return Decimal(price) / price_scale(token_decimals)


def funding_rate_hourly(annual_x30: int | str) -> float:
    """`/markets/info`'s fundingRateLong (an annual rate x 10^30) as a fraction per hour."""
    return float(Decimal(int(annual_x30)) / FLOAT_PRECISION / HOURS_PER_YEAR)


# ---- fees, minimums, leverage (config/markets.ts baseMarketConfig, config/general.ts) -------------
TAKER_FEE_BPS = 6.0  # positionFeeFactorForNegativeImpact 0.06 % (balance not improved)
MAKER_FEE_BPS = 4.0  # positionFeeFactorForPositiveImpact 0.04 % (balance improved)
MIN_COLLATERAL_USD = Decimal(1)  # minCollateralUsd: 1 USD
MIN_NOTIONAL_USD = 2.0  # the smallest position Vprime opens: above 1 USD of collateral at 1x with fees
DEFAULT_MIN_COLLATERAL_FACTOR = Decimal("0.01")  # baseMarketConfig.minCollateralFactor: 1 %
REQUEST_EXPIRATION_TIME_S = 300  # config/general.ts requestExpirationTime: a market order the account may cancel


def max_leverage(min_collateral_factor: Decimal) -> float:
    """The leverage GMX's interface allows for a market (SDK `getMaxAllowedLeverageByMinCollateralFactor`): 1 / min
    collateral factor rounded to tens, halved. 1 % -> 50x; 0.5 % -> 100x."""
    if min_collateral_factor <= 0:
        return 50.0
    return round(float(1 / min_collateral_factor) / 10) * 10 / 2


# ---- orders (Order.sol) --------------------------------------------------------------------------
class OrderType:
    MARKET_INCREASE = 2
    MARKET_DECREASE = 4


DECREASE_NO_SWAP = 0
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO_BYTES32 = b"\x00" * 32
ORACLE_PRICE_COUNT = 3  # GasUtils.estimateOrderOraclePriceCount(no swaps)
EXECUTION_FEE_BUFFER = Decimal("1.3")  # the SDK's execution_buffer: the keeper's gas price may be higher


# ---- DataStore keys (Keys.sol) -------------------------------------------------------------------
def key(name: str) -> bytes:
    return keccak(encode(["string"], [name]))


def hashed(types: list[str], values: list[object]) -> bytes:
    return keccak(encode(types, values))


WNT = key("WNT")
REQUEST_EXPIRATION_TIME = key("REQUEST_EXPIRATION_TIME")
SUBACCOUNT_ORDER_ACTION = key("SUBACCOUNT_ORDER_ACTION")
INCREASE_ORDER_GAS_LIMIT = key("INCREASE_ORDER_GAS_LIMIT")
DECREASE_ORDER_GAS_LIMIT = key("DECREASE_ORDER_GAS_LIMIT")
ESTIMATED_GAS_FEE_BASE_AMOUNT_V2_1 = key("ESTIMATED_GAS_FEE_BASE_AMOUNT_V2_1")
ESTIMATED_GAS_FEE_PER_ORACLE_PRICE = key("ESTIMATED_GAS_FEE_PER_ORACLE_PRICE")
ESTIMATED_GAS_FEE_MULTIPLIER_FACTOR = key("ESTIMATED_GAS_FEE_MULTIPLIER_FACTOR")
MIN_COLLATERAL_USD_KEY = key("MIN_COLLATERAL_USD")
MAX_DATA_LENGTH = key("MAX_DATA_LENGTH")


def account_order_list_key(account: str) -> bytes:
    return hashed(["bytes32", "address"], [key("ACCOUNT_ORDER_LIST"), account])


def subaccount_list_key(account: str) -> bytes:
    return hashed(["bytes32", "address"], [key("SUBACCOUNT_LIST"), account])


def min_collateral_factor_key(market: str) -> bytes:
    return hashed(["bytes32", "address"], [key("MIN_COLLATERAL_FACTOR"), market])


def position_fee_factor_key(market: str, balance_was_improved: bool) -> bytes:
    return hashed(["bytes32", "address", "bool"], [key("POSITION_FEE_FACTOR"), market, balance_was_improved])


def position_key(account: str, market: str, collateral_token: str, is_long: bool) -> bytes:
    return hashed(["address", "address", "address", "bool"], [account, market, collateral_token, is_long])


EVENT_LOG1_TOPIC = keccak(text="EventLog1(address,string,string,bytes32,(((string,address)[],(string,address[])[]),"
                               "((string,uint256)[],(string,uint256[])[]),((string,int256)[],(string,int256[])[]),"
                               "((string,bool)[],(string,bool[])[]),((string,bytes32)[],(string,bytes32[])[]),"
                               "((string,bytes)[],(string,bytes[])[]),((string,string)[],(string,string[])[])))")
EVENT_LOG2_TOPIC = keccak(text="EventLog2(address,string,string,bytes32,bytes32,(((string,address)[],(string,address[])[]),"
                               "((string,uint256)[],(string,uint256[])[]),((string,int256)[],(string,int256[])[]),"
                               "((string,bool)[],(string,bool[])[]),((string,bytes32)[],(string,bytes32[])[]),"
                               "((string,bytes)[],(string,bytes[])[]),((string,string)[],(string,string[])[])))")


def event_name_topic(name: str) -> bytes:
    """An EventLog's `eventNameHash` topic: the keccak of the name (an indexed string)."""
    return keccak(text=name)


# ---- networks (@gmx-io/sdk 1.4.0 configs/contracts.js, configs/oracleKeeper.js) ----------------
ARBITRUM = {
    "chain_id": 42161,
    "oracle_url": "https://arbitrum-api.gmxinfra.io",
    "exchange_router": "0x1C3fa76e6E1088bCE750f23a5BFcffa1efEF6A41",
    "subaccount_router": "0xdD00F639725E19a209880A44962Bc93b51B1B161",
    "order_vault": "0x31eF83a530Fde1B38EE9A18093A333D8Bbbc40D5",
    "reader": "0x470fbC46bcC0f16532691Df360A07d8Bf5ee0789",
    "datastore": "0xFD70de6b91282D8017aA4E741e9Ae325CAb992d8",
    "event_emitter": "0xC8ee91A54287DB53897056e12D9819156D3822Fb",
    "router": "0x7452c558d45f8afC8c83dAe62C3f8A5BE19c71f6",  # SyntheticsRouter: what accounts approve
    "wnt": "0x82aF49447D8a07e3bd95BD0d56f35241523fBab1",
    "usdc": "0xaf88d065e77c8cC2239327C5EDb3A432268e5831",
}
ARBITRUM_SEPOLIA = {
    "chain_id": 421614,
    "oracle_url": "https://dolphin-app-a2dup.ondigitalocean.app",
    "exchange_router": "0xEd50B2A1eF0C35DAaF08Da6486971180237909c3",
    "subaccount_router": "0xCF45A7E8bB46738f454eC6766631E5612DA90836",
    "order_vault": "0x1b8AC606de71686fd2a1AEDEcb6E0EFba28909a2",
    "reader": "0x4750376b9378294138Cf7B7D69a2d243f4940f71",
    "datastore": "0xCF4c2C4c53157BcC01A596e3788fFF69cBBCD201",
    "event_emitter": "0xa973c2692C1556E1a3d478e745e9a75624AEDc73",
    "router": "0x72F13a44C8ba16a678CAD549F17bc9e06d2B8bD2",
    "wnt": "0x980B62Da83eFf3D4576C647993b0c1D7faf17c73",
    "usdc": "",  # the testnet's USDC: read it from the oracle's /tokens (symbol USDC)
}
NETWORKS = {"arbitrum": ARBITRUM, "arbitrum-sepolia": ARBITRUM_SEPOLIA}
