"""GMX's published ABIs, as `@gmx-io/sdk` 1.4.0 ships them (`build/esm/src/abis/<Contract>.js`), fetched once by a
pinned URL and sha256 into `.vprime/cache/` and read without running JavaScript (each file is one `export default`
array literal)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any

import httpx

SDK_TARBALL_URL = "https://registry.npmjs.org/@gmx-io/sdk/-/sdk-1.4.0.tgz"
SDK_TARBALL_SHA256 = "3890b904d84c51cc2dc171f498e4a7ba3e9b32f4b48ea3d13e2c9ecd283aafb9"
CACHE = Path(__file__).resolve().parents[3] / ".vprime" / "cache" / "gmx-io-sdk-1.4.0.tgz"
ABI_DIR = "package/build/esm/src/abis/"


class PublishedAbiUnavailable(RuntimeError):
    pass


def tarball() -> bytes:
    if CACHE.exists() and hashlib.sha256(CACHE.read_bytes()).hexdigest() == SDK_TARBALL_SHA256:
        return CACHE.read_bytes()
    try:
        r = httpx.get(SDK_TARBALL_URL, timeout=60, follow_redirects=True)
        r.raise_for_status()
    except httpx.HTTPError as exc:
        raise PublishedAbiUnavailable(f"cannot fetch GMX's published ABIs from {SDK_TARBALL_URL}: {exc!r}") from exc
    digest = hashlib.sha256(r.content).hexdigest()
    if digest != SDK_TARBALL_SHA256:
        raise PublishedAbiUnavailable(f"{SDK_TARBALL_URL} has sha256 {digest}, not the pinned {SDK_TARBALL_SHA256}")
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_bytes(r.content)
    return r.content


def js_array_to_json(source: str) -> Any:
    """`export default [ { inputs: [...], name: "x", ... }, ]` as JSON: keys quoted, trailing commas dropped."""
    body = source.strip().removeprefix("export default").strip().rstrip(";")
    body = re.sub(r"([{,]\s*)([A-Za-z_]\w*)\s*:", r'\1"\2":', body)
    body = re.sub(r",(\s*[\]}])", r"\1", body)
    return json.loads(body)


def published_abis(names: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The published ABI of each contract in `names`."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(tarball()), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.name.startswith(ABI_DIR) and member.name.endswith(".js"):
                name = member.name[len(ABI_DIR):-3]
                if name in names:
                    out[name] = js_array_to_json(tar.extractfile(member).read().decode())
    if missing := names - set(out):
        raise PublishedAbiUnavailable(f"@gmx-io/sdk 1.4.0 has no ABI for {sorted(missing)}")
    return out
