"""The local stack's secrets: made once per home, readable by their owner only, and each handed to the
process that needs it (the simulator's admin token to the simulator alone; each Postgres role its own
generated password)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import stat
from pathlib import Path
from urllib.parse import urlsplit

from vprime_local.infra import LocalInfra, secret
from vprime_local.stack import ServiceStack, simulator_admin_headers, simulator_admin_token_path
from vprime_shared.db import SERVICES, provisioning_sql, scram_sha_256


def stack(home: Path) -> ServiceStack:
    infra = LocalInfra(home=home, pg_port=25432)
    return ServiceStack(home=home, bootstrap="127.0.0.1:1", database_urls={s: infra.database_url(s) for s in SERVICES})


def test_a_secret_is_made_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "x.token"
    first = secret(path)
    assert secret(path) == first and len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["x.token"]  # no temporary file left behind


def test_only_the_simulator_is_given_its_admin_token(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SIMULATOR_ADMIN_TOKEN", "from-the-shell")
    services = stack(tmp_path)
    token = services.env("simulator")["SIMULATOR_ADMIN_TOKEN"]
    assert token and token != "from-the-shell"
    assert token == simulator_admin_token_path(tmp_path).read_text().strip()
    assert simulator_admin_headers(tmp_path) == {"Authorization": f"Bearer {token}"}
    assert stat.S_IMODE(simulator_admin_token_path(tmp_path).stat().st_mode) == 0o600
    for service in SERVICES:
        env = services.env(service)
        assert "SIMULATOR_ADMIN_TOKEN" not in env, service
        assert token not in env.values(), service
    assert services.env("executor")["VENUE_API_URL"] == services.url("simulator")


def test_local_postgres_urls_carry_generated_passwords(tmp_path: Path) -> None:
    infra = LocalInfra(home=tmp_path, pg_port=25432)
    admin = urlsplit(infra.admin_url)
    assert admin.username == "postgres" and admin.password not in (None, "", "postgres")
    assert admin.password == infra.pg_password("postgres")
    passwords = infra.role_passwords
    assert set(passwords) == set(SERVICES) and len(set(passwords.values())) == len(SERVICES)
    for service in SERVICES:
        url = urlsplit(infra.database_url(service))
        assert url.username == f"vprime_{service}" and url.password == passwords[service] != url.username
        assert (url.hostname, url.port, url.path) == ("127.0.0.1", 25432, "/vprime")
        path = tmp_path / "secrets" / f"postgres-vprime_{service}.password"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert LocalInfra(home=tmp_path, pg_port=25432).role_passwords == passwords  # once per home


def test_a_trust_rule_is_recognised_and_rewritten(tmp_path: Path) -> None:
    infra = LocalInfra(home=tmp_path)
    assert infra._trusts("local   all             all                                     trust")
    assert infra._trusts("host all all 127.0.0.1/32 trust  # loopback")
    assert not infra._trusts("# local all all trust")
    assert not infra._trusts("host all all 127.0.0.1/32 scram-sha-256")
    assert not infra._trusts("")


def test_role_passwords_are_sent_as_scram_verifiers() -> None:
    # RFC 7677's example exchange: the verifier's keys must sign it as the RFC's server and client did.
    salt = "W22ZaJ0SNY7soEsUEjb6gQ=="
    verifier = scram_sha_256("pencil", salt=base64.b64decode(salt))
    head, keys = verifier.rsplit("$", 1)
    assert head == f"SCRAM-SHA-256$4096:{salt}"
    stored_key, server_key = (base64.b64decode(k) for k in keys.split(":"))
    nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    auth = f"n=user,r=rOprNGfwEbeRWgbNEkqO,r={nonce},s={salt},i=4096,c=biws,r={nonce}".encode()
    assert base64.b64encode(hmac.digest(server_key, auth, "sha256")).decode() == "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    client_key = bytes(a ^ b for a, b in zip(proof, hmac.digest(stored_key, auth, "sha256"), strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key
    statements = provisioning_sql("router", "s3cret-token")
    assert not any("s3cret-token" in s for s in statements)
    assert any(s.startswith("ALTER ROLE vprime_router PASSWORD 'SCRAM-SHA-256$") for s in statements)
    assert not any(s.startswith("ALTER ROLE vprime_router PASSWORD") for s in provisioning_sql("router"))  # kept as it is
