"""The simulator's chain routes: the deployment's addresses by name, a faucet, keeper fault modes; 503 without a
chain, 401 without the admin token."""

from __future__ import annotations

import httpx

from vprime_chain.anvil import Anvil
from vprime_chain.deploy import ERC20_ABI
from vprime_simulator.app import create_app
from vprime_simulator.chain import open_chain
from vprime_simulator.exchange import Exchange

TOKEN = "admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def client(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim")


async def test_without_a_chain_the_chain_routes_say_so() -> None:
    async with client(create_app(Exchange(), admin_token=TOKEN)) as http:
        r = await http.get("/admin/chain", headers=ADMIN)
        assert r.status_code == 503 and "ARBITRUM_RPC_URL" in r.json()["detail"]
        assert (await http.get("/admin/chain")).status_code == 401


async def test_the_chain_site_names_every_contract_and_funds_accounts(tmp_path) -> None:
    exchange = Exchange()
    app = create_app(exchange, admin_token=TOKEN)
    with Anvil(18592) as node:
        site = await open_chain(exchange, node.rpc_url, tmp_path / "deployment.json")
        app.state.chain = site
        try:
            async with client(app) as http:
                view = (await http.get("/admin/chain", headers=ADMIN)).json()
                assert view["chain_id"] == 31337 and view["rpc_url"] == node.rpc_url
                assert {"usdc", "weth"} <= set(view["contracts"])
                assert view["tokens"]["USDC"]["decimals"] == 6 and view["tokens"]["WBTC"]["decimals"] == 8
                user = "0x00000000000000000000000000000000000000c3"
                r = await http.post("/admin/chain/faucet", headers=ADMIN, json={"address": user, "usdc": "250.25"})
                assert r.status_code == 200
                bad = await http.post("/admin/chain/faucet", headers=ADMIN, json={"address": "0x12", "usdc": "1"})
                assert bad.status_code == 422
            usdc = site.chain.contract(ERC20_ABI, view["contracts"]["usdc"])
            assert await usdc.functions.balanceOf(site.chain.w3.to_checksum_address(user)).call() == 250_250_000
            # A second start finds the same deployment on the chain instead of deploying again.
            again = await open_chain(exchange, node.rpc_url, tmp_path / "deployment.json")
            assert again.deployment == site.deployment
            await again.close()
        finally:
            await site.close()


