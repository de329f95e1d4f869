"""Reading the platform's topics from the beginning to their current end, as any Kafka client
can: the report's events per topic, and what the notifications are checked against."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.cloudevents import CloudEvent, EnvelopeError
from shared.topics import ALL_TOPICS, Topic
from tests.story.platform import KafkaOptions


@dataclass
class TopicContents:
    records: dict[str, int] = field(default_factory=dict)
    """Topic name (without prefix) -> records, duplicates included."""
    events: dict[str, list[CloudEvent]] = field(default_factory=dict)
    """Topic name -> its CloudEvents, one per event id, in offset order per partition."""
    raw: dict[str, int] = field(default_factory=dict)
    """Topic name -> records that are not CloudEvents: the commands on ``calls.command``, and
    the raw input a dead-letter topic keeps."""


async def _partition_counts(kafka: KafkaOptions, names: set[str]) -> dict[str, int]:
    """The topics among ``names`` that exist, with their partition counts."""
    admin = AIOKafkaAdminClient(**kafka, client_id="poles-story")
    await admin.start()
    try:
        existing = set(await admin.list_topics()) & names
        described = await admin.describe_topics(sorted(existing)) if existing else []
        return {d["topic"]: len(d["partitions"]) for d in described}
    finally:
        await admin.close()


async def read_topics(
    kafka: KafkaOptions, prefix: str = "", topics: tuple[Topic, ...] = ALL_TOPICS
) -> TopicContents:
    shorts = {prefix + topic.name: topic.name for topic in topics}
    names = await _partition_counts(kafka, set(shorts))
    consumer = AIOKafkaConsumer(**kafka, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = [
            TopicPartition(name, n) for name, count in names.items() for n in range(count)
        ]
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        contents = TopicContents(
            records={shorts[name]: 0 for name in names},
            events={shorts[name]: [] for name in names},
        )
        seen: set[tuple[str, str]] = set()
        pending = {tp for tp in partitions if ends[tp] > 0}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batch.items():
                short = shorts[tp.topic]
                for record in records:
                    if record.offset >= ends[tp]:
                        continue
                    contents.records[short] += 1
                    try:
                        event = CloudEvent.from_kafka(record.headers, record.value)
                    except EnvelopeError:
                        contents.raw[short] = contents.raw.get(short, 0) + 1
                        continue
                    if (short, event.id) not in seen:
                        seen.add((short, event.id))
                        contents.events[short].append(event)
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
        return contents
    finally:
        await consumer.stop()
