"""EVM addresses as every Vprime boundary takes them: `0x` and 20 bytes of hex, in any case."""

import re

ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
