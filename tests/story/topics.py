"""Reading the platform's topics from the beginning to their current end, as any Kafka client
can: the report's events per topic, and what the notifications are checked against."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.cloudevents import CloudEvent
from shared.topics import ALL_TOPICS, Topic
from tests.story.platform import KafkaOptions
from tests.support.kafka import TopicReader, cloud_event


@dataclass
class TopicContents:
    records: dict[str, int] = field(default_factory=dict)
    """Topic name (without prefix) -> records, duplicates included."""
    events: dict[str, list[CloudEvent]] = field(default_factory=dict)
    """Topic name -> its CloudEvents, one per event id, in offset order per partition."""
    raw: dict[str, int] = field(default_factory=dict)
    """Topic name -> records that are not CloudEvents: the commands on ``calls.command``, and
    the raw input a dead-letter topic keeps."""


async def read_topics(
    kafka: KafkaOptions, prefix: str = "", topics: tuple[Topic, ...] = ALL_TOPICS
) -> TopicContents:
    shorts = {prefix + topic.name: topic.name for topic in topics}
    async with TopicReader(shorts, kafka) as reader:
        found = {shorts[tp.topic] for tp in reader.partitions}
        contents = TopicContents(
            records=dict.fromkeys(found, 0), events={name: [] for name in found}
        )
        seen: set[tuple[str, str]] = set()
        for record in await reader.read_to_end():
            short = shorts[record.topic]
            contents.records[short] += 1
            event = cloud_event(record)
            if event is None:
                contents.raw[short] = contents.raw.get(short, 0) + 1
            elif (short, event.id) not in seen:
                seen.add((short, event.id))
                contents.events[short].append(event)
        return contents
