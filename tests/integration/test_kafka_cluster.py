"""The local three-broker cluster (``KAFKA_BROKERS=3 deploy/local/kafka.sh``, issue 17): three
KRaft nodes on loopback, topics with three replicas and min.insync.replicas 2, and a writer that
keeps writing, nothing lost nor doubled, while the leader of its partition is killed.

It starts its own cluster (ports 31092/31192/31292, controllers 31093/31193/31293, data in a
temporary directory) and stops it: the test broker on 19092 is not involved. About a minute on a
quiet machine (three JVMs start).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.kafka_access import KafkaAccess, local_access
from shared.topics import CALLS_DOSSIER, create_topics

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = ROOT / "deploy" / "local" / "kafka.sh"
PORTS = (31092, 31192, 31292)
BOOTSTRAP = ",".join(f"127.0.0.1:{port}" for port in PORTS)
PREFIX = "cluster-test."
TOPIC = PREFIX + CALLS_DOSSIER.name


def kafka_sh(local: Path, command: str, timeout: float = 240.0) -> str:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "POLES_"))},
        "POLES_LOCAL_DIR": str(local),
        "KAFKA_BROKERS": "3",
        "KAFKA_PORT": str(PORTS[0]),
        "KAFKA_CONTROLLER_PORT": str(PORTS[0] + 1),
    }
    done = subprocess.run(
        [str(KAFKA_SH), command], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"kafka.sh {command}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, KafkaAccess]]:
    local = tmp_path_factory.mktemp("kafka-cluster")
    try:
        kafka_sh(local, "start")
        yield local, local_access(BOOTSTRAP, "admin", local)
    finally:
        kafka_sh(local, "stop", timeout=90.0)


def test_the_script_runs_three_nodes_and_prints_their_addresses(
    cluster: tuple[Path, KafkaAccess],
) -> None:
    local, _ = cluster
    assert kafka_sh(local, "bootstrap").strip() == BOOTSTRAP
    status = kafka_sh(local, "status")
    assert "running (3 broker(s)" in status
    for node in (1, 2, 3):
        assert (local / "kafka" / f"node-{node}" / "kafka.pid").is_file()


async def test_topics_have_three_replicas_two_in_sync_required(
    cluster: tuple[Path, KafkaAccess],
) -> None:
    _, kafka = cluster
    await create_topics(kafka, (CALLS_DOSSIER,), prefix=PREFIX, partitions=3)
    admin = AIOKafkaAdminClient(**kafka.options())
    await admin.start()
    try:
        (described,) = await admin.describe_topics([TOPIC])
        assert [len(p["replicas"]) for p in described["partitions"]] == [3, 3, 3]
        (configs,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC)])
        entries = {entry[0]: entry[1] for entry in configs.resources[0][4]}
        assert entries["min.insync.replicas"] == "2"
    finally:
        await admin.close()


async def test_a_writer_loses_nothing_when_its_leader_is_killed(
    cluster: tuple[Path, KafkaAccess],
) -> None:
    local, kafka = cluster
    await create_topics(kafka, (CALLS_DOSSIER,), prefix=PREFIX, partitions=3)
    admin = AIOKafkaAdminClient(**kafka.options())
    await admin.start()
    try:
        (described,) = await admin.describe_topics([TOPIC])
    finally:
        await admin.close()
    leader = next(p["leader"] for p in described["partitions"] if p["partition"] == 0)

    producer = AIOKafkaProducer(
        **kafka.options(), acks="all", enable_idempotence=True, request_timeout_ms=30_000
    )
    await producer.start()
    try:
        sent = [f"m{n}".encode() for n in range(300)]
        for value in sent[:100]:
            await producer.send_and_wait(TOPIC, value, partition=0)
        pid = int((local / "kafka" / f"node-{leader}" / "kafka.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        # The other two elect a new leader once the dead one's session ends (6 s); the
        # producer retries meanwhile: acks=all still holds with two replicas in sync.
        await asyncio.wait_for(
            asyncio.gather(*[producer.send_and_wait(TOPIC, v, partition=0) for v in sent[100:]]),
            90,
        )
    finally:
        await producer.stop()
    await asyncio.to_thread(kafka_sh, local, "start")  # the killed node again

    consumer = AIOKafkaConsumer(
        TOPIC, **kafka.options(), auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        read: Counter[bytes] = Counter()
        async with asyncio.timeout(60):
            while sum(read.values()) < len(sent):
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    read.update(record.value for record in records if record.value is not None)
    finally:
        await consumer.stop()
    assert set(read) == set(sent)
    assert max(read.values()) == 1
