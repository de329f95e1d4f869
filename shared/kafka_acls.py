"""Who may do what on the broker, derived from the topic registry (``shared.topics``).

The broker authenticates every client with SASL/SCRAM-SHA-512 and denies what no ACL allows
(``allow.everyone.if.no.acl.found=false``). The principals:

- ``admin``: the broker itself and the tools that create topics and ACLs (a super user, no ACL);
- ``poles-<service>``: writes the topics the registry says it owns, its dead-letter topic among
  them; reads the topics that list it as a consumer, in groups named ``poles-<service>...``;
- ``poles-command-senders``: the State's and the CDC's systems: write ``calls.command``, read
  ``calls.command-result``;
- ``poles-agencies``: the ANR's and OSEO's systems: read ``funding.commitment`` (what funding
  decided on their commitments and payments, which they ask through funding's API);
- ``poles-integrator``: reads the services' event topics, nothing else (not the dead letters,
  which hold rejected raw input, nor ``calls.command``, whose records carry bearer tokens), in
  consumer groups named ``poles-integrator...``; writes nothing.

Read and Write imply Describe, and Write implies the idempotent producer's right (Kafka 3.0+).

``python -m shared.kafka_acls apply`` creates the ACLs (re-creating an existing one changes
nothing); ``list`` prints them; ``principals`` prints each principal with the secrets-file
variable holding its password (deploy/local/kafka.sh reads it to create the SCRAM users).
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from typing import Literal

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import for_code
from aiokafka.protocol.admin import CreateAclsRequest_v1, DescribeAclsRequest
from aiokafka.protocol.api import Request

from shared.kafka_access import KafkaAccess, password_variable, tool_access
from shared.topics import (
    AGENCIES,
    ALL_TOPICS,
    COMMAND_SENDERS,
    SERVICES,
    Topic,
    dead_letter_topic,
)

ADMIN = "admin"
INTEGRATOR = "integrator"
PARTIES = (*SERVICES, COMMAND_SENDERS, AGENCIES, INTEGRATOR)

Resource = Literal["topic", "group"]
Operation = Literal["read", "write"]

# Kafka's wire codes (org.apache.kafka.common.resource / .acl).
_RESOURCE_TYPES: dict[Resource, int] = {"topic": 2, "group": 3}
_PATTERN_TYPES = {"literal": 3, "prefixed": 4}
_OPERATIONS: dict[Operation, int] = {"read": 3, "write": 4}
_ALLOW = 3
_ANY_HOST = "*"


def principal(party: str) -> str:
    """``calls`` -> ``poles-calls``: the SCRAM user name of a party."""
    return f"poles-{party}"


def principals() -> list[str]:
    return [ADMIN, *(principal(party) for party in PARTIES)]


@dataclass(frozen=True, order=True)
class Acl:
    """Allow ``principal`` to ``operation`` the ``resource`` called (or prefixed by) ``name``."""

    principal: str
    resource: Resource
    name: str
    operation: Operation
    prefixed: bool = False

    def __str__(self) -> str:
        pattern = "prefixed" if self.prefixed else "literal"
        return f"User:{self.principal}\t{self.operation}\t{self.resource}\t{pattern}\t{self.name}"


def integrator_topics(topics: tuple[Topic, ...] = ALL_TOPICS) -> list[Topic]:
    """The services' event topics: what an integrator may read."""
    dead_letters = {dead_letter_topic(service) for service in SERVICES}
    return [t for t in topics if t.owner in SERVICES and t not in dead_letters]


def acls(prefix: str = "", topics: tuple[Topic, ...] = ALL_TOPICS) -> list[Acl]:
    """Every ACL of the platform; ``prefix`` makes the set for a test's private topic copies."""
    wanted: set[Acl] = set()
    for topic in topics:
        wanted.add(Acl(principal(topic.owner), "topic", prefix + topic.name, "write"))
        for consumer in topic.consumers:
            wanted.add(Acl(principal(consumer), "topic", prefix + topic.name, "read"))
            wanted.add(Acl(principal(consumer), "group", f"{prefix}poles-{consumer}", "read", True))
    reader = principal(INTEGRATOR)
    for topic in integrator_topics(topics):
        wanted.add(Acl(reader, "topic", prefix + topic.name, "read"))
        # As-of reads (shared.asof): a service reads its own events back from its topics.
        wanted.add(Acl(principal(topic.owner), "topic", prefix + topic.name, "read"))
    wanted.add(Acl(reader, "group", f"{prefix}{reader}", "read", prefixed=True))
    return sorted(wanted)


class _CreateAcls(Request[CreateAclsRequest_v1]):  # type: ignore[misc]  # untyped base
    """aiokafka has the CreateAcls wire format (v1, still served by Kafka 4) but no admin method."""

    API_KEY = 30

    def __init__(self, wanted: list[Acl]) -> None:
        self._wanted = wanted

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(
            [
                (
                    _RESOURCE_TYPES[acl.resource],
                    acl.name,
                    _PATTERN_TYPES["prefixed" if acl.prefixed else "literal"],
                    f"User:{acl.principal}",
                    _ANY_HOST,
                    _OPERATIONS[acl.operation],
                    _ALLOW,
                )
                for acl in self._wanted
            ]
        )


async def apply_acls(kafka: KafkaAccess, wanted: list[Acl], seconds: float = 15.0) -> None:
    """Create ``wanted`` on the broker, as a super user; raise the broker's first refusal.

    Returns once the broker enforces them: the controller commits ACLs before the broker's
    authorizer has them, and a client let in a moment too early would be refused.
    """
    client = AIOKafkaClient(**kafka.options(), client_id="poles-acls")
    await client.bootstrap()
    try:
        node = client.get_random_node()
        response = await client.send(node, _CreateAcls(wanted))
        for acl, (code, message) in zip(wanted, response.creation_responses, strict=True):
            if code:
                raise for_code(code)(f"{acl}: {message}")
        async with asyncio.timeout(seconds):
            while not set(wanted) <= await _enforced(client, node):  # noqa: ASYNC110 - polled
                await asyncio.sleep(0.05)
    finally:
        await client.close()


async def _enforced(client: AIOKafkaClient, node: int) -> set[Acl]:
    """Every allow-ACL the broker's authorizer holds (DescribeAcls, matching anything)."""
    any_ = 1
    response = await client.send(
        node, DescribeAclsRequest(any_, None, any_, None, None, any_, any_)
    )
    if response.error_code:
        raise for_code(response.error_code)(response.error_message)
    resources: dict[int, Resource] = {code: name for name, code in _RESOURCE_TYPES.items()}
    operations: dict[int, Operation] = {code: name for name, code in _OPERATIONS.items()}
    return {
        Acl(
            principal.removeprefix("User:"),
            resources[resource_type],
            name,
            operations[operation],
            pattern == _PATTERN_TYPES["prefixed"],
        )
        for resource_type, name, pattern, entries in response.resources
        if resource_type in resources
        for principal, _host, operation, permission in entries
        if permission == _ALLOW and operation in operations
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="The platform's Kafka principals and ACLs.")
    parser.add_argument("command", choices=["apply", "list", "principals"])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--prefix", default="", help="for private copies of the topics")
    args = parser.parse_args()
    if args.command == "principals":
        for name in principals():
            print(name, password_variable(name))
    elif args.command == "list":
        print("\n".join(str(acl) for acl in acls(args.prefix)))
    else:
        wanted = acls(args.prefix)
        asyncio.run(apply_acls(tool_access(args.bootstrap), wanted))
        print(f"kafka ACLs: {len(wanted)} applied for {len(PARTIES)} principals")


if __name__ == "__main__":
    main()
