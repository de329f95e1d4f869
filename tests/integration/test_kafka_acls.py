"""The broker itself refuses every write and read the topic registry does not give a principal.

The principals are the real ones of the test broker (SCRAM users made by deploy/local/kafka.sh);
their ACLs are the real derivation (``shared.kafka_acls.acls``) applied to this module's private
copies of the topics, so the test changes nothing another test or the platform relies on. Every
(principal, topic) pair is tried both ways: what is allowed works (the positive control), what
is not is refused by the broker with an authorization error.
"""

from __future__ import annotations

import asyncio
from asyncio.subprocess import PIPE, STDOUT
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)
from pydantic import SecretStr

from shared.kafka_access import KafkaAccess
from shared.kafka_acls import INTEGRATOR, PARTIES, acls, apply_acls, integrator_topics, principal
from shared.topics import ALL_TOPICS, CALLS_DOSSIER, Topic
from tests.support.infra import KAFKA, Isolation, kafka_admin, kafka_as

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

PROBE = b"acl-probe"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def secured(isolation: Isolation) -> AsyncIterator[str]:
    """The platform's ACLs for the private topics, and one record in each topic to read."""
    prefix = isolation.topic_prefix
    await apply_acls(kafka_admin(), acls(prefix))
    producer = AIOKafkaProducer(**kafka_admin().options(), acks="all")
    await producer.start()
    try:
        for topic in ALL_TOPICS:
            await producer.send_and_wait(prefix + topic.name, PROBE, partition=0)
    finally:
        await producer.stop()
    yield prefix


def readable_by(party: str) -> set[str]:
    if party == INTEGRATOR:
        return {topic.name for topic in integrator_topics()}
    consumed = {topic.name for topic in ALL_TOPICS if party in topic.consumers}
    return consumed | {t.name for t in integrator_topics() if t.owner == party}  # as-of reads


async def write_outcomes(kafka: KafkaAccess, prefix: str) -> dict[str, str]:
    """Each topic -> "written" or "refused", for one principal.

    Not an idempotent producer: the broker lets one start only for a principal allowed to write
    somewhere, and here every principal must try every topic.
    """
    outcomes = {}
    producer = AIOKafkaProducer(**kafka.options(), acks="all", enable_idempotence=False)
    await producer.start()
    try:
        for topic in ALL_TOPICS:
            try:
                await producer.send_and_wait(prefix + topic.name, PROBE)
                outcomes[topic.name] = "written"
            except TopicAuthorizationFailedError:
                outcomes[topic.name] = "refused"
    finally:
        await producer.stop()
    return outcomes


async def read_outcomes(kafka: KafkaAccess, prefix: str) -> dict[str, str]:
    """Each topic -> "read" (its probe record came back) or "refused", for one principal.

    A principal with no right at all on a topic is not even told it exists (the broker answers
    "not authorized" to describing it); one that may write but not read it is refused the fetch.
    """
    admin = AIOKafkaAdminClient(**kafka.options())
    await admin.start()
    try:
        described = await admin.describe_topics([prefix + topic.name for topic in ALL_TOPICS])
    finally:
        await admin.close()
    hidden = {
        d["topic"] for d in described if d["error_code"] == TopicAuthorizationFailedError.errno
    }
    outcomes = {topic.name: "refused" for topic in ALL_TOPICS if prefix + topic.name in hidden}
    consumer = AIOKafkaConsumer(**kafka.options(), enable_auto_commit=False)
    await consumer.start()
    try:
        for topic in ALL_TOPICS:
            if topic.name not in outcomes:
                outcomes[topic.name] = await fetch_outcome(consumer, prefix + topic.name)
    finally:
        await consumer.stop()
    return outcomes


async def fetch_outcome(consumer: AIOKafkaConsumer, name: str) -> str:
    partition = TopicPartition(name, 0)
    consumer.assign([partition])
    consumer.seek(partition, 0)
    try:
        batch = await consumer.getmany(partition, timeout_ms=10_000)
    except TopicAuthorizationFailedError:
        return "refused"
    assert any(record.value == PROBE for record in batch.get(partition, [])), batch
    return "read"


@pytest.mark.parametrize("party", PARTIES)
async def test_a_principal_writes_only_the_topics_it_owns(secured: str, party: str) -> None:
    outcomes = await write_outcomes(kafka_as(principal(party)), secured)
    owned = {topic.name for topic in ALL_TOPICS if topic.owner == party}
    assert {name for name, outcome in outcomes.items() if outcome == "written"} == owned
    assert len(outcomes) == len(ALL_TOPICS)


@pytest.mark.parametrize("party", PARTIES)
async def test_a_principal_reads_only_the_topics_it_consumes(secured: str, party: str) -> None:
    outcomes = await read_outcomes(kafka_as(principal(party)), secured)
    assert {name for name, outcome in outcomes.items() if outcome == "read"} == readable_by(party)
    assert len(outcomes) == len(ALL_TOPICS)


async def test_the_integrator_cannot_even_start_an_idempotent_producer(secured: str) -> None:
    producer = AIOKafkaProducer(
        **kafka_as(principal(INTEGRATOR)).options(), acks="all", enable_idempotence=True
    )
    try:
        with pytest.raises(ClusterAuthorizationFailedError):
            await producer.start()
    finally:
        await producer.stop()


async def test_the_integrator_reads_the_event_topics_but_not_dead_letters_or_commands() -> None:
    readable = readable_by(INTEGRATOR)
    assert {"calls.dossier", "funding.commitment", "contracts.contract"} <= readable
    assert not {name for name in readable if name.startswith("deadletter.")}
    assert "calls.command" not in readable


async def consume_one(kafka: KafkaAccess, topic: Topic, group: str, prefix: str) -> bytes:
    consumer = AIOKafkaConsumer(
        prefix + topic.name,
        **kafka.options(),
        group_id=prefix + group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:
        await consumer.start()
        record = await consumer.getone()
        await consumer.commit()
        return bytes(record.value or b"")
    finally:
        await consumer.stop()


async def test_a_consumer_group_belongs_to_its_principal(secured: str) -> None:
    funding = kafka_as(principal("funding"))
    assert await consume_one(funding, CALLS_DOSSIER, "poles-funding", secured) == PROBE
    with pytest.raises(GroupAuthorizationFailedError):
        await consume_one(funding, CALLS_DOSSIER, "poles-notify", secured)
    integrator = kafka_as(principal(INTEGRATOR))
    assert await consume_one(integrator, CALLS_DOSSIER, "poles-integrator-crm", secured) == PROBE
    with pytest.raises(GroupAuthorizationFailedError):
        await consume_one(integrator, CALLS_DOSSIER, "someone-else", secured)


async def cannot_connect(kafka: KafkaAccess) -> None:
    producer = AIOKafkaProducer(**kafka.options(), request_timeout_ms=3000)
    try:
        with pytest.raises(KafkaConnectionError):
            await producer.start()
    finally:
        await producer.stop()


async def test_a_wrong_password_cannot_connect(
    secured: str, caplog: pytest.LogCaptureFixture
) -> None:
    await cannot_connect(KafkaAccess(KAFKA, principal("calls"), SecretStr("not-the-password")))
    assert "SaslAuthenticationFailed" in caplog.text


async def test_a_client_without_a_login_cannot_connect(secured: str) -> None:
    await cannot_connect(KafkaAccess(KAFKA))


async def kcat(kafka: KafkaAccess, tmp_path: Path, *args: str) -> tuple[int, str]:
    config = tmp_path / f"{kafka.username}.conf"
    config.write_text(kafka.kcat_config())
    process = await asyncio.create_subprocess_exec(
        "kcat", "-F", str(config), *args, stdout=PIPE, stderr=STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode or 0, output.decode()


async def test_kcat_reads_as_the_integrator_and_is_refused_what_the_integrator_may_not(
    secured: str, tmp_path: Path
) -> None:
    """The operators' and integrators' tool, logged in with PLAIN (see KafkaAccess.kcat_config),
    meets the same ACLs; only admin and the integrator have a PLAIN login."""
    integrator = kafka_as(principal(INTEGRATOR))
    read = ["-C", "-o", "beginning", "-e", "-q", "-f", "%s\n", "-t"]
    code, output = await kcat(integrator, tmp_path, *read, secured + CALLS_DOSSIER.name)
    assert code == 0
    assert output.splitlines()[-1] == PROBE.decode()
    code, output = await kcat(integrator, tmp_path, *read, secured + "deadletter.calls")
    assert code != 0
    assert "authorization failed" in output.lower()
    calls = kafka_as(principal("calls"))
    code, output = await kcat(calls, tmp_path, "-L")
    assert code != 0
    assert "authentication" in output.lower()
