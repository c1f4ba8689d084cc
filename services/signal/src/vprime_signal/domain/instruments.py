"""Which canonical instruments a text is about.

Canonical ids come from the venue market catalog. A text names an instrument by cashtag (`$ETH`),
by an upper-case ticker (`ETH`), or by a name or alias ("ethereum", "eth", "gold", "S&P 500",
"euro/dollar"). Tickers that are ordinary words count only as cashtags (`NOT`, `ONE`, `S`, `W`, `AI`:
people write them in capitals for emphasis) or, for a few, in capitals with market words in the same
clause (`LINK breakout`). Stablecoins are never instruments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

STABLECOINS = frozenset(
    "USDT USDC DAI TETHER USDE FDUSD TUSD PYUSD USDS FRAX BUSD GHO LUSD CRVUSD RLUSD USD1 USDD SUSD EURC".split()
)

# Written in capitals as ordinary words often enough that only a cashtag counts.
CASHTAG_ONLY = frozenset(
    "S W ME AI IP IO OM OX AR ZK CC NOT ONE GAS ALT MEME PEOPLE SUPER HYPER MEGA NIL INIT MOVE PROVE PUMP ATH BABY "
    "ACE COIN LAYER PROMPT PIXEL FRIEND BLAST SAGA FLOW SAND GRASS JELLY BANANA CAKE DOGS GOAT MAGIC MON WOO ZEN "
    "TURBO LOOM ARK BLUR APE SKY VINE BIO OMNI PURR WAL JOE UMA ORBS TRUMP REQ SCR MET TST VVV WCT ANIME MERL NFT "
    "USD EUR GBP JPY DCA CEO ETF".split()
)
# Ordinary words too, but in capitals with market words nearby they are the ticker.
NEEDS_MARKET_CONTEXT = frozenset("LINK NEAR TON META OP UNI SUSHI GOLD DOT ICP SEI SUI APT TAO INJ HOOD".split())

MARKET_WORDS = frozenset(
    """pump pumping pumped dump dumping dumped long longing longed short shorting shorted buy buying bought sell
    selling sold bullish bearish breakout breaking broke chart price rally rallying ripping moon bid calls puts
    support resistance ath higher lower bleeding bleed crash crashing tank tanking target entry stop highs lows
    weak strong send undervalued overvalued accumulating accumulate loading holders bags avoid reversal wins
    dumped rejected toppy""".split()
)

# canonical id → its names and aliases (lower case; "|" separates). A leading "~" marks a currency that is
# the quote of a USD pair: the text's stance on it is the opposite stance on the pair (yen down = USDJPY up).
NAMES: dict[str, str] = {
    "BTC": "bitcoin|btc|xbt",
    "ETH": "ethereum|ether|eth",
    "SOL": "solana|sol",
    "XRP": "ripple|xrp",
    "DOGE": "dogecoin|doge",
    "ADA": "cardano|ada",
    "AVAX": "avalanche|avax",
    "LTC": "litecoin|ltc",
    "DOT": "polkadot",
    "LINK": "chainlink",
    "BNB": "bnb|binance coin",
    "HYPE": "hyperliquid|hype",
    "ARB": "arbitrum|arb",
    "OP": "optimism",
    "UNI": "uniswap",
    "AAVE": "aave",
    "SUI": "sui",
    "PEPE": "pepe",
    "WIF": "dogwifhat|wif",
    "BONK": "bonk",
    "SHIB": "shiba inu|shib",
    "TON": "toncoin",
    "TRX": "tron|trx",
    "XLM": "stellar|xlm",
    "XMR": "monero|xmr",
    "ZEC": "zcash|zec",
    "FIL": "filecoin",
    "TIA": "celestia",
    "INJ": "injective",
    "LDO": "lido",
    "CRV": "curve finance",
    "ENA": "ethena",
    "ONDO": "ondo",
    "JUP": "jupiter",
    "PENDLE": "pendle",
    "TAO": "bittensor",
    "POL": "polygon",
    "ATOM": "cosmos",
    "ALGO": "algorand",
    "HBAR": "hedera",
    "ICP": "internet computer",
    "APT": "aptos",
    "STRK": "starknet",
    "MKR": "makerdao",
    "SNX": "synthetix",
    "KAS": "kaspa",
    "WLD": "worldcoin",
    "RENDER": "render network|rndr",
    "FARTCOIN": "fartcoin",
    "VIRTUAL": "virtuals protocol",
    "AI16Z": "ai16z",
    "MOODENG": "moodeng",
    "POPCAT": "popcat",
    "SPX6900": "spx6900",
    "WORMHOLE": "wormhole",
    "MAGICEDEN": "magic eden",
    "STORY": "story protocol",
    "GOLD": "gold|xau|xauusd|xau/usd|precious metal",
    "SILVER": "silver|xag|xagusd|xag/usd",
    "PLATINUM": "platinum|xpt",
    "PALLADIUM": "palladium|xpd",
    "COPPER": "copper",
    "WTI": "wti|oil|crude",
    "BRENT": "brent",
    "NATGAS": "natgas|natural gas",
    "SPX500": "s&p 500|s&p500|s&p|sp500|spx|spy|es futures",
    "NAS100": "nasdaq 100|nasdaq|ndx|nas100|qqq",
    "US30": "dow jones|the dow|djia|us30",
    "DE40": "dax|de40",
    "UK100": "ftse|uk100",
    "JP225": "nikkei|jp225",
    "HK50": "hang seng|hsi|hk50",
    "EURUSD": "eurusd|eur/usd|euro/dollar|euro dollar|euro",
    "GBPUSD": "gbpusd|gbp/usd|cable|sterling|pound",
    "AUDUSD": "audusd|aud/usd|aussie dollar|aussie",
    "NZDUSD": "nzdusd|nzd/usd|kiwi dollar",
    "USDJPY": "usdjpy|usd/jpy|dollar yen|~yen",
    "USDCHF": "usdchf|usd/chf|~swiss franc|~franc",
    "USDCAD": "usdcad|usd/cad|~loonie",
    "USDMXN": "usdmxn|usd/mxn|~peso",
    "NVDA": "nvidia|nvda",
    "AAPL": "apple|aapl",
    "MSFT": "microsoft|msft",
    "GOOG": "google|alphabet|goog|googl",
    "AMZN": "amazon|amzn",
    "META": "meta platforms|facebook",
    "TSLA": "tesla|tsla",
    "COIN": "coinbase",
    "HOOD": "robinhood",
    "MSTR": "microstrategy|mstr|saylor",
    "CRCL": "circle internet",
}

CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z][A-Za-z0-9]{0,14})\b")
TICKER = re.compile(r"(?<![\w$/])([A-Z][A-Z0-9]{1,11})\b(?!/[A-Z])")
RATIO = re.compile(r"(?<![\w$])([A-Za-z]{2,10})/([A-Za-z]{2,10})\b")
WORD = re.compile(r"[a-z0-9&']+")


@dataclass(frozen=True, slots=True)
class Mention:
    instrument: str
    start: int
    end: int
    inverted: bool = False  # the text speaks of the quote currency of the pair


class InstrumentExtractor:
    def __init__(self, instruments: Iterable[str], venue_symbols: Mapping[str, str] | None = None) -> None:
        self.instruments = frozenset(i.upper() for i in instruments) - STABLECOINS
        self.symbols = {s: i for s, i in (venue_symbols or {}).items() if i in self.instruments}
        aliases: list[tuple[str, str, bool]] = []
        for instrument, names in NAMES.items():
            if instrument not in self.instruments:
                continue
            for name in names.split("|"):
                inverted = name.startswith("~")
                aliases.append((name.lstrip("~"), instrument, inverted))
        aliases.sort(key=lambda a: -len(a[0]))  # longest first: "s&p 500" before "s&p"
        self._aliases = {name: (instrument, inverted) for name, instrument, inverted in aliases}
        pattern = "|".join(re.escape(name) for name, _, _ in aliases)
        self._alias_re = re.compile(rf"(?<![\w$&/])(?:{pattern})(?![\w&]|/[a-z])", re.IGNORECASE)

    def canonical(self, token: str) -> str | None:
        token = token.upper()
        if token in STABLECOINS:
            return None
        if token in self.instruments:
            return token
        return self.symbols.get(token)

    def extract(self, text: str) -> list[Mention]:
        """Every mention of an instrument, in order of appearance (an instrument may appear several times)."""
        found: dict[int, Mention] = {}
        taken: list[tuple[int, int]] = []

        def add(mention: Mention) -> None:
            if any(s < mention.end and mention.start < e for s, e in taken):
                return
            taken.append((mention.start, mention.end))
            found[mention.start] = mention

        for m in CASHTAG.finditer(text):  # a cashtag always counts
            instrument = self.canonical(m.group(1))
            if instrument:
                add(Mention(instrument, m.start(), m.end()))
        for m in RATIO.finditer(text):  # "ETH/BTC" is about ETH, priced in BTC
            if self.canonical(m.group(1)) and self.canonical(m.group(2)) and m.group(0).lower() not in self._aliases:
                add(Mention(self.canonical(m.group(1)), m.start(), m.end()))  # type: ignore[arg-type]
        for m in self._alias_re.finditer(text):
            instrument, inverted = self._aliases[m.group(0).lower()]
            add(Mention(instrument, m.start(), m.end(), inverted))
        for m in TICKER.finditer(text):
            token = m.group(1)
            instrument = self.canonical(token)
            if not instrument or token in CASHTAG_ONLY:
                continue
            if token in NEEDS_MARKET_CONTEXT and not _market_context(text, m.start(), m.end()):
                continue
            add(Mention(instrument, m.start(), m.end()))
        return [found[k] for k in sorted(found)]

    def instruments_in(self, text: str) -> list[str]:
        return list(dict.fromkeys(m.instrument for m in self.extract(text)))


def _market_context(text: str, start: int, end: int) -> bool:
    clause_start = max(text.rfind(c, 0, start) for c in ".!?;,\n") + 1
    ends = [i for i in (text.find(c, end) for c in ".!?;,\n") if i != -1]
    clause = text[clause_start : min(ends) if ends else len(text)]
    return any(word in MARKET_WORDS for word in WORD.findall(clause.lower())) or "%" in clause
