"""The auditors' tool: a record's changes, rebuilt from the log by its owner's API, as CSV.

    export POLES_TOKEN=$(python -m shared.auth mint --role operator)
    python -m shared.audit history --kind dossier --id D [--at 2009-06-01T00:00:00+02:00] \\
        --csv out.csv

It calls the owner's ``/changes`` route (so the owner's visibility rules apply to the token's
roles) and writes one row per event, oldest first, under a header row: ``CSV_COLUMNS``. The
token is read from ``POLES_TOKEN``, never from the command line (which other users may see).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import AwareDatetime, TypeAdapter

CSV_COLUMNS = ("time", "type", "event_id", "who", "trace_id")


@dataclass(frozen=True)
class Kind:
    url: str
    """The owner's address on the local platform (``--url`` names another)."""
    changes: str


KINDS = {
    "call": Kind("http://127.0.0.1:8001", "/calls/{id}/changes"),
    "dossier": Kind("http://127.0.0.1:8001", "/dossiers/{id}/changes"),
    "line": Kind("http://127.0.0.1:8002", "/lines/{id}/changes"),
    "commitment": Kind("http://127.0.0.1:8002", "/commitments/{id}/changes"),
    "contract": Kind("http://127.0.0.1:8003", "/contracts/{id}/changes"),
    "pole": Kind("http://127.0.0.1:8003", "/poles/{id}/changes"),
    "subscription": Kind("http://127.0.0.1:8004", "/subscriptions/{id}/changes"),
}
"""Each kind of record, its owner service (the ports of ``make up``) and its changes route."""


def parser() -> argparse.ArgumentParser:
    tool = argparse.ArgumentParser(
        prog="python -m shared.audit",
        description="A record's changes, rebuilt from the platform's log by its owner's API "
        "(token in POLES_TOKEN: python -m shared.auth mint --role operator).",
    )
    commands = tool.add_subparsers(dest="command", required=True)
    history = commands.add_parser("history", help="every change of one record, as CSV")
    history.add_argument("--kind", choices=sorted(KINDS), required=True)
    history.add_argument("--id", required=True, help="the record's id")
    history.add_argument(
        "--at",
        type=TypeAdapter(AwareDatetime).validate_python,
        help="only changes until then (an instant with its offset: 2009-06-01T00:00:00+02:00)",
    )
    history.add_argument("--csv", type=Path, required=True, help="the file to write ('-': stdout)")
    history.add_argument("--url", help="the owner service's address (default: the local one)")
    return tool


async def history(
    args: argparse.Namespace, transport: httpx.AsyncBaseTransport | None = None
) -> int:
    """Write the CSV; return the number of changes written."""
    token = os.environ.get("POLES_TOKEN")
    if not token:
        sys.exit("POLES_TOKEN is not set: export POLES_TOKEN=$(python -m shared.auth mint ...)")
    kind = KINDS[args.kind]
    params = {"at": args.at.isoformat()} if args.at else {}
    async with httpx.AsyncClient(
        base_url=args.url or kind.url,
        transport=transport,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60.0,
    ) as client:
        response = await client.get(kind.changes.format(id=args.id), params=params)
    if response.status_code != 200:
        sys.exit(f"{response.request.url}: {response.status_code} {response.text}")
    changes: list[dict[str, Any]] = response.json()
    if str(args.csv) == "-":
        _write(changes, sys.stdout)
    else:
        with args.csv.open("w", newline="", encoding="utf-8") as out:
            _write(changes, out)
    return len(changes)


def _write(changes: list[dict[str, Any]], out: Any) -> None:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(changes)


def main(argv: list[str] | None = None) -> None:
    written = asyncio.run(history(parser().parse_args(argv)))
    print(f"{written} changes written", file=sys.stderr)


if __name__ == "__main__":
    main()
