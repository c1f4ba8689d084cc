"""`python -m vprime_local <command>`: run Vprime on this machine without Docker.

Commands: infra-up, infra-down, up, down, dev (up + demo), demo, status.
Environment: VPRIME_HOME (state, default ./.vprime), VPRIME_KAFKA_PORT (9092),
VPRIME_KAFKA_CONTROLLER_PORT (9093), VPRIME_PG_PORT (5432).
"""

from __future__ import annotations

import argparse
import sys

from vprime_local import demo
from vprime_local.infra import InfraError, LocalInfra, say
from vprime_local.stack import ServiceStack


def stack_for(infra: LocalInfra) -> ServiceStack:
    from vprime_shared.db import SERVICES

    return ServiceStack(
        home=infra.home, bootstrap=infra.bootstrap, database_urls={s: infra.database_url(s) for s in SERVICES}
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vprime-local", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["infra-up", "infra-down", "up", "down", "dev", "demo", "status"])
    args = parser.parse_args(argv)
    infra = LocalInfra.from_env()
    stack = stack_for(infra)
    try:
        if args.command == "infra-up":
            infra.up()
        elif args.command == "infra-down":
            infra.down()
        elif args.command in ("up", "dev"):
            infra.up()
            stack.up()
            say("all services healthy")
            if args.command == "dev":
                demo.run(stack.url("control"), stack.url("query"), stack.url("simulator"))
            say(f"web app      {stack.url('query')}/   (sign in with a browser wallet; read-only without one)")
            say(f"control API  {stack.url('control')}/docs")
            say(f"query API    {stack.url('query')}/docs   e.g. {stack.url('query')}/api/v3/stats/overview")
            say(f"simulator    {stack.url('simulator')}/docs   (venue faults: POST /admin/faults)")
            say(f"logs         {infra.logs}/")
            say("stop with    make down")
        elif args.command == "demo":
            demo.run(stack.url("control"), stack.url("query"), stack.url("simulator"))
        elif args.command == "down":
            stack.down()
            infra.down()
        elif args.command == "status":
            for name, ok in infra.status().items():
                say(f"{name:<9} {'up' if ok else 'down'}")
            import httpx

            for service in stack.services:
                try:
                    ok = httpx.get(f"{stack.url(service)}/health", timeout=2).status_code == 200
                except httpx.HTTPError:
                    ok = False
                say(f"{service:<9} {'healthy' if ok else 'down'}  {stack.url(service)}")
    except InfraError as exc:
        print(f"[vprime] error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
