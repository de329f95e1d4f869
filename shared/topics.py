"""The topic registry: every topic of the platform, its owner, partitions and retention.

Topics are declared here and created by ``python -m shared.topics create`` (the broker does not
auto-create them). One topic per aggregate type, keyed by the aggregate's id, so that one
aggregate's events stay in order; the partition count is the ceiling on a consumer group's
parallelism. Each topic names the party that writes it and the parties that read it: the broker's
ACLs are derived from that (``shared.kafka_acls``), so a new consumer is declared here first.

Retention: the domain topics (every topic a service writes, but the dead letters) keep their
records for ever (``retention.ms=-1``, ``cleanup.policy=delete``, no compaction): they are the
platform's record, and an as-of read (``shared.asof``) folds EVERY event of an aggregate, which
compaction (the last record per key) would lose. ``calls.command`` keeps 7 days (a command's
answer is on ``calls.command-result``), the dead letters 30. The size this implies, measured on
the local broker's log segments after ``make demo`` (the four years of phase 2, 2009-2012; on disk,
headers and batch overhead included): 3,846 records in 2.83 MB, 736 bytes a record on average
(calls.call 18 records / 6.5 kB, calls.dossier 645 / 512 kB, calls.command-result 177 / 109 kB,
contracts.contract 1,163 / 1,176 kB, contracts.pole 32 / 17 kB, funding.commitment 559 / 335 kB,
funding.financing 278 / 199 kB, funding.ledger 961 / 466 kB, funding.line 11 / 7.6 kB,
notify.subscription 2 / 1.5 kB). Four years at a hundred times the demo's volume: 385,000
records, 283 MB a copy, 850 MB with the three copies of a partition: keeping everything costs
less than a gigabyte of disk, so nothing is deleted nor compacted.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass

from shared.kafka_access import KafkaAccess, tool_access

FOREVER = -1
DAY_MS = 24 * 3600 * 1000
COMMAND_SENDERS = "command-senders"
"""The State's and the CDC's systems, which send commands to the calls service."""
AGENCIES = "agencies"
"""The ANR's and OSEO's own systems: they commit and pay on their lines through funding's API
(roles ``agency:anr``, ``agency:oseo``) and read what funding decided on ``funding.commitment``."""


@dataclass(frozen=True)
class Topic:
    name: str
    owner: str
    """The one party (a service, or COMMAND_SENDERS) that writes the topic."""
    description: str
    partitions: int = 6
    retention_ms: int = FOREVER
    consumers: tuple[str, ...] = ()
    """The parties that read it with their own consumer group (integrators aside)."""

    def config(self) -> dict[str, str]:
        return {"retention.ms": str(self.retention_ms), "cleanup.policy": "delete"}


CALLS_CALL = Topic(
    "calls.call", "calls", "calls for projects: opened, closed", consumers=("notify",)
)
CALLS_DOSSIER = Topic(
    "calls.dossier",
    "calls",
    "dossiers: submission to final decision",
    consumers=("funding", "notify"),
)
CALLS_COMMAND = Topic(
    "calls.command",
    COMMAND_SENDERS,
    "commands to the calls service",
    retention_ms=7 * DAY_MS,
    consumers=("calls",),
)
CALLS_COMMAND_RESULT = Topic(
    "calls.command-result",
    "calls",
    "answers to commands: accepted or rejected",
    consumers=("notify", COMMAND_SENDERS),
)
FUNDING_LINE = Topic(
    "funding.line",
    "funding",
    "budget lines: loaded, thresholds, transfers",
    consumers=("notify",),
)
FUNDING_COMMITMENT = Topic(
    "funding.commitment",
    "funding",
    "commitments, refusals, de-commitments and payments",
    consumers=("contracts", "notify", AGENCIES),
)
FUNDING_LEDGER = Topic(
    "funding.ledger",
    "funding",
    "other financers' commitments (AE) and payments (CP), by year",
    consumers=("notify",),
)
FUNDING_FINANCING = Topic(
    "funding.financing",
    "funding",
    "co-financing of selected dossiers: opened, each financer's answer, completed or refused",
    consumers=("calls", "notify"),
)
CONTRACTS_CONTRACT = Topic(
    "contracts.contract", "contracts", "performance contracts", consumers=("funding", "notify")
)
CONTRACTS_POLE = Topic(
    "contracts.pole",
    "contracts",
    "the reference list of pôles and labels",
    consumers=("calls", "notify"),
)
NOTIFY_SUBSCRIPTION = Topic("notify.subscription", "notify", "subscriptions and their state")
NOTIFY_DELIVERY = Topic("notify.delivery", "notify", "deliveries of webhooks and e-mails")


def dead_letter_topic(consumer: str) -> Topic:
    return Topic(
        f"deadletter.{consumer}",
        consumer,
        f"messages {consumer} can never process, with headers naming their origin and error",
        partitions=1,
        retention_ms=30 * DAY_MS,
    )


SERVICES = ("calls", "funding", "contracts", "notify")

ALL_TOPICS: tuple[Topic, ...] = (
    CALLS_CALL,
    CALLS_DOSSIER,
    CALLS_COMMAND,
    CALLS_COMMAND_RESULT,
    FUNDING_LINE,
    FUNDING_COMMITMENT,
    FUNDING_LEDGER,
    FUNDING_FINANCING,
    CONTRACTS_CONTRACT,
    CONTRACTS_POLE,
    NOTIFY_SUBSCRIPTION,
    NOTIFY_DELIVERY,
    *(dead_letter_topic(service) for service in SERVICES),
)


MAX_REPLICATION = 3


def replication_factor(brokers: int) -> int:
    """Copies of each partition on a cluster of ``brokers``: min(3, brokers), at least 1."""
    return max(1, min(MAX_REPLICATION, brokers))


async def create_topics(
    kafka: KafkaAccess,
    topics: tuple[Topic, ...] = ALL_TOPICS,
    prefix: str = "",
    partitions: int | None = None,
) -> list[str]:
    """Create the topics that do not exist yet; return the names created.

    ``prefix`` and ``partitions`` let tests make small private copies of the platform's topics.
    Each partition has min(3, brokers in the cluster) copies (the brokers' min.insync.replicas
    then lets one of three fail under acks=all).
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(**kafka.options(), client_id="poles-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [topic for topic in topics if prefix + topic.name not in existing]
        if missing:
            replication = replication_factor(len((await admin.describe_cluster())["brokers"]))
            await admin.create_topics(
                [
                    NewTopic(
                        name=prefix + topic.name,
                        num_partitions=partitions or topic.partitions,
                        replication_factor=replication,
                        topic_configs=topic.config(),
                    )
                    for topic in missing
                ]
            )
        return [prefix + topic.name for topic in missing]
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Create the platform's Kafka topics (as POLES_KAFKA_USERNAME, or the local "
        "stack's admin)."
    )
    parser.add_argument("command", choices=["create", "list"])
    parser.add_argument(
        "--bootstrap",
        default="127.0.0.1:9092",
        help="host:port[,host:port...] (deploy/local/kafka.sh bootstrap prints the local list)",
    )
    parser.add_argument("--prefix", default="")
    args = parser.parse_args()
    if args.command == "list":
        for topic in ALL_TOPICS:
            print(f"{topic.name}\t{topic.partitions}\t{topic.retention_ms}\t{topic.description}")
        return
    created = asyncio.run(create_topics(tool_access(args.bootstrap), prefix=args.prefix))
    print(f"topics created: {', '.join(created) if created else 'none (all exist)'}")


if __name__ == "__main__":
    main()
