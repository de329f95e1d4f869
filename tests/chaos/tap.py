"""A plain Kafka reader of the platform's topics, from their beginning, for the whole run: it
hands the answers to Kafka commands to the ``CommandBus`` and keeps every record for the final
count (order per aggregate, event ids, dead letters). It survives the broker's deaths: the
client reconnects and goes on from the positions it holds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import KafkaError

from shared.cloudevents import CloudEvent
from shared.topics import CALLS_COMMAND_RESULT, Topic
from tests.chaos.stack import kafka_as
from tests.support.kafka import TopicReader, cloud_event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Seen:
    topic: str
    partition: int
    offset: int
    key: str
    event: CloudEvent | None
    """None when the record is not a CloudEvent (a dead letter's raw copy, say)."""


class Tap:
    def __init__(
        self, topics: Sequence[Topic], on_result: Callable[[str, dict[str, Any]], None]
    ) -> None:
        self.topics = [topic.name for topic in topics]
        self.on_result = on_result
        self.records: dict[tuple[str, int, int], Seen] = {}
        self.written: Counter[tuple[str, int]] = Counter()
        """Records read per partition: the busiest partitions are the most written."""
        self.last_offset: dict[tuple[str, int], int] = {}
        """The highest offset read per partition: a partition written again has a higher one."""
        self._task: asyncio.Task[None] | None = None
        self._reader: TopicReader | None = None

    @property
    def reader(self) -> TopicReader:
        assert self._reader is not None, "the tap is not started"
        return self._reader

    async def start(self) -> None:
        # As admin (known once the stack runs): the checker reads every topic, dead letters too.
        self._reader = TopicReader(self.topics, kafka_as().options())
        await self._reader.start()
        self._task = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._reader is not None:
            await self._reader.stop()

    async def _read(self) -> None:
        while True:
            try:
                records = await self.reader.poll(0.5, max_records=2000)
            except KafkaError as error:
                log.warning("tap: %r; reading on", error)
                await asyncio.sleep(1.0)
                continue
            for record in records:
                self._keep(record)

    def _keep(self, record: Any) -> None:
        where = (record.topic, record.partition, record.offset)
        if where in self.records:
            return
        event = cloud_event(record)
        key = record.key.decode(errors="replace") if record.key else ""
        self.records[where] = Seen(record.topic, record.partition, record.offset, key, event)
        partition = (record.topic, record.partition)
        self.written[partition] += 1
        self.last_offset[partition] = max(self.last_offset.get(partition, -1), record.offset)
        if event is not None and record.topic == CALLS_COMMAND_RESULT.name:
            self.on_result(str(event.data.get("command_id")), event.data)

    async def caught_up(self) -> bool:
        """Whether every partition has been read to its end (as the broker says now)."""
        try:
            return await self.reader.caught_up()
        except KafkaError:
            return False

    def events(self, topic: str) -> list[Seen]:
        """The topic's records in partition, then offset order."""
        found = [seen for (name, _, _), seen in self.records.items() if name == topic]
        return sorted(found, key=lambda seen: (seen.partition, seen.offset))
