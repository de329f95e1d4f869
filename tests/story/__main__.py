"""``python -m tests.story`` (``make demo``): phase 2 of Pôles 2.0 replayed on the local
platform."""

from __future__ import annotations

import argparse
import asyncio
import os

from tests.story.demo import DEFAULT_SPEED, Options, main


def options() -> Options:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--speed",
        type=float,
        default=float(os.environ.get("POLES_DEMO_SPEED", DEFAULT_SPEED)),
        help="simulated seconds per real second (default: POLES_DEMO_SPEED or 100,000)",
    )
    parser.add_argument(
        "--lead", type=float, default=20.0, help="seconds given to the services to start"
    )
    args = parser.parse_args()
    return Options(speed=args.speed, lead_seconds=args.lead)


if __name__ == "__main__":
    asyncio.run(main(options()))
