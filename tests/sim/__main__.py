"""Run the tests' simulator, with its ``/_sim/`` control API, standalone (from the repo root).

    python -m tests.sim --port 0 --projects 50 --key demo=TOKEN

Prints one line ``listening on http://HOST:PORT`` once bound; exits 0 on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from exporter.simulator.lists import Extras
from tests.sim.simulator import Simulator


def _key(value: str) -> tuple[str, str]:
    name, sep, token = value.partition("=")
    if not sep or not name or not token:
        raise argparse.ArgumentTypeError("expected NAME=TOKEN")
    return name, token


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.sim", description="Simulated Neon management API"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--endpoints-per-project", type=int, default=2)
    parser.add_argument(
        "--key",
        type=_key,
        action="append",
        default=[],
        metavar="NAME=TOKEN",
        help="an API key the simulator accepts (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--churn-seconds", type=float, default=0.0)
    parser.add_argument("--org-id", default=None)
    parser.add_argument(
        "--omit-pooler-fields",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share of projects whose endpoints omit the deprecated pooler fields (0 to 1)",
    )
    parser.add_argument(
        "--extras",
        action="store_true",
        help="the demo's extras: deleted and shared projects, quotas, maintenance windows",
    )
    parser.add_argument(
        "--plan",
        choices=("usage", "legacy", "free"),
        default="legacy",
        help="the account's plan: usage-based (v2 consumption history), legacy, or free",
    )
    parser.add_argument(
        "--request-log",
        type=int,
        default=10_000,
        help="recent requests kept for /_sim/requests (a ring; older ones are only counted)",
    )
    args = parser.parse_args(argv)
    if not args.key:
        parser.error("at least one --key NAME=TOKEN is required")
    names = [name for name, _ in args.key]
    if len(set(names)) != len(names):
        parser.error("duplicate key name")
    return args


async def serve(args: argparse.Namespace) -> None:
    sim = Simulator(
        keys=dict(args.key),
        projects=args.projects,
        endpoints_per_project=args.endpoints_per_project,
        seed=args.seed,
        churn_seconds=args.churn_seconds,
        org_id=args.org_id,
        request_log=args.request_log,
        omit_pooler_fields=args.omit_pooler_fields,
        extras=Extras.demo() if args.extras else Extras(),
        plan=args.plan,
    )
    if args.extras and args.org_id:  # members, invitations and VPC endpoints too
        sim.organizations.populate_demo(args.org_id, sim.project_ids())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(sim.make_app(), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, args.host, args.port)
        await site.start()
        host, port = runner.addresses[0][:2]
        if ":" in host:
            host = f"[{host}]"
        print(f"listening on http://{host}:{port}", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except OSError as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
