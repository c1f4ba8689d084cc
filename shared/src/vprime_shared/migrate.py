"""`python -m vprime_shared.migrate <service>...`: apply services' migrations outside their start (the Kubernetes
provisioning Job, an operator before a release), with the checks `db.migrate` makes at every service's start.

Each service is migrated as its own role: the URL is `--database-url` (one service only), else the environment's
`DATABASE_URL_<SERVICE>`, else `DATABASE_URL` (one service only). The role's schema must be the service's, so a URL
for the wrong service is refused before anything is applied. Prints what was applied; exits 1 when a migration
was changed or removed after it was applied (`db.MigrationChanged`) or a service cannot be migrated.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from vprime_shared import db


class MigrateError(RuntimeError):
    """A service that cannot be migrated as asked (no URL, the wrong role, its package missing)."""


def database_url(service: str, services: Sequence[str], given: str | None, env: Mapping[str, str]) -> str:
    """The URL `service` is migrated through (see the module's docstring)."""
    if given:
        return given
    if url := env.get(f"DATABASE_URL_{service.upper()}"):
        return url
    if len(services) == 1 and (url := env.get("DATABASE_URL")):
        return url
    alone = " or DATABASE_URL, or pass --database-url" if len(services) == 1 else ""
    raise MigrateError(f"no database URL for {service}: set DATABASE_URL_{service.upper()}{alone}")


async def migrate_service(service: str, url: str) -> list[str]:
    """Apply `service`'s pending migrations as the role `url` names; returns what was applied."""
    package = f"vprime_{service}"
    if importlib.util.find_spec(package) is None:
        raise MigrateError(f"{package} is not installed here: run the command in {service}'s own image or environment")
    pool = await db.create_pool(url, min_size=1, max_size=1)
    try:
        schema = await pool.fetchval("SELECT current_schema()")
        if schema != service:
            raise MigrateError(f"the URL given for {service} reaches schema {schema!r}, not {service!r}: "
                               f"use {service}'s own role (vprime_{service})")
        return await db.migrate(pool, package)
    finally:
        await pool.close()


async def run(services: Sequence[str], given_url: str | None, env: Mapping[str, str]) -> None:
    for service in services:
        applied = await migrate_service(service, database_url(service, services, given_url, env))
        print(f"{service}: applied {', '.join(applied)}" if applied else f"{service}: nothing to apply", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vprime_shared.migrate",
        description="Apply services' migrations (as db.migrate does at each service's start), each as its own role.",
    )
    parser.add_argument("services", nargs="+", choices=db.SERVICES, metavar="service",
                        help=f"one or more of: {', '.join(db.SERVICES)}")
    parser.add_argument("--database-url", help="the service's own role's URL (only with one service)")
    args = parser.parse_args(argv)
    if args.database_url and len(args.services) > 1:
        parser.error("--database-url names one service's role: give one service with it")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    try:
        asyncio.run(run(args.services, args.database_url, os.environ))
    except (db.MigrationChanged, MigrateError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
