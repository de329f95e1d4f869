"""The document store: a client factory on PyMongo's async API, and aggregates saved with their
outbox in one guarded ``update_one``.

The store on our machines (FerretDB) and a single MongoDB server have no multi-document
transactions, so the unit of atomicity is one document. An aggregate's document holds:

- ``_id`` and ``version`` (optimistic concurrency: every save names the version it read);
- ``state``: the aggregate's own data;
- ``outbox``: events produced by saves and not yet published (the relay publishes and pulls them);
- ``outbox_lease_until``: until when a relay owns the outbox (the epoch when nobody does);
- ``processed``: the last ids of consumed events and of commands' idempotency keys, with their
  answers, written in the same update as the change they caused, so a redelivery changes nothing;
- ``write_id``: the token of the save that wrote the current version (see below).

**Asking the store less (issue 15).** Consumers run up to 16 keys at once and HTTP bursts run
many commands together, so many loads and saves of one collection are in flight at the same time.
``GroupCommit`` makes them share round trips, leader/follower, without a timer: a request that
arrives while a batch of its kind is in flight waits for it and then goes with the others as the
next batch; a lone request goes at once. Loads go as one ``find({"_id": {"$in": ids}})``; creates
and saves as one ``bulk_write(ordered=False)`` of ``InsertOne`` / guarded ``UpdateOne``. Each
caller keeps today's semantics: its own ``Loaded | None``, its own ``ConcurrencyConflict`` (an
insert's duplicate key, reported by index; an update that did not match), its own write error; a
save is durable when its await returns. An update reports only a total matched count, so every
save writes a fresh ``write_id`` token and, only when fewer updates matched than were sent, one
read of the tokens (``_id $in``) tells which did: zero extra statements in the normal case.

**The bulk-of-100 hang (FerretDB 1.24).** FerretDB's ``update`` command ran each of its updates
as a query then a write, and deferred closing every query to the end of the whole command; an
open query holds one of the SQLite pool's 100 connections (``SetMaxOpenConns(100)``), so the
100th update of one command waited for ever for a connection to write with (99 updates: 160 ms;
100: no answer, and the local proxy ``atomic.go`` kept the write lock until its 2-minute
``replyTimeout`` dropped the connection). Not the proxy, the message size or the guard: any 100
updates of one command hang. ``deploy/local/ferretdb/update-closes-each-query.patch`` closes each
query before the next update (patched: 100 updates in 135 ms, 300 in 690 ms); ``WRITE_GROUP``
stays below 100 all the same, for binaries built before the patch and to leave connections to
concurrent reads.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pymongo import AsyncMongoClient, IndexModel, InsertOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    DuplicateKeyError,
    WriteConcernError,
    WriteError,
)
from pymongo.monitoring import CommandListener

from shared.events.base import OutboxEntry

Document = dict[str, Any]
Events = Sequence[OutboxEntry]
"""The events a write leaves in the document's outbox."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PROCESSED_KEPT = 200
LOAD_GROUP = 100
"""At most this many loads in one ``find`` (one first batch of the cursor: 101 documents)."""
WRITE_GROUP = 64
"""At most this many creates and saves in one ``bulk_write``: below the 100 updates that hang an
unpatched FerretDB 1.24 (see the module's docstring)."""
DUPLICATE_KEY = 11000
LOAD_PROJECTION: Document = {"outbox": 0, "outbox_lease_until": 0, "write_id": 0}


class ConcurrencyConflict(Exception):
    """Another writer saved the aggregate since it was read (or created it first)."""


class WriteOutcomeUnknown(AutoReconnect):
    """A grouped save whose document was written again before its token could be read back: it
    may or may not have landed, as when a connection drops after a write (run it again: processed
    ids make a repeat change nothing)."""


RequestT = TypeVar("RequestT")
ResultT = TypeVar("ResultT")
Outcomes = list[Any]
"""One per request, in order: the request's result, or the exception its caller gets."""


class GroupCommit(Generic[RequestT, ResultT]):
    """Runs requests in batches, leader/follower and without a timer: a request that arrives while
    a batch is in flight waits for it and goes with the others in the next batch (at most
    ``limit``); a lone request goes at once. ``run`` answers a batch with one outcome per request
    (a result or an exception, given to that request's caller only); an exception raised by
    ``run`` itself goes to every caller of the batch."""

    def __init__(self, run: Callable[[list[RequestT]], Awaitable[Outcomes]], limit: int) -> None:
        self._run = run
        self._limit = limit
        self._waiting: list[tuple[RequestT, asyncio.Future[ResultT]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def submit(self, request: RequestT) -> ResultT:
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, future))
        if self._draining is None:
            self._draining = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = [item for item in self._waiting[: self._limit] if not item[1].done()]
                del self._waiting[: self._limit]
                if batch:
                    await self._settle(batch)
        finally:
            self._draining = None
            for _, future in self._waiting:  # only when cancelled (the loop closes)
                future.cancel()
            self._waiting.clear()

    async def _settle(self, batch: list[tuple[RequestT, asyncio.Future[ResultT]]]) -> None:
        try:
            outcomes = await self._run([request for request, _ in batch])
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as error:
            outcomes = [error] * len(batch)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # its caller was cancelled
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)


@dataclass(frozen=True)
class Write:
    """One create (``version`` None) or guarded save (the version it read, and its token)."""

    id: str
    operation: InsertOne[Document] | UpdateOne
    version: int | None = None
    token: str = ""


def create_mongo_client(
    url: str, app_name: str, listeners: Sequence[CommandListener] = ()
) -> AsyncMongoClient[Document]:
    """A client for a service's store; ``listeners`` see every command it sends (metrics).

    A statement without an answer for 30 s fails (``socketTimeoutMS``, a ``NetworkTimeout``)
    instead of hanging for ever on a store that stopped answering, as a statement to a store
    that is down does.
    """
    return AsyncMongoClient(
        url,
        appname=app_name,
        event_listeners=list(listeners),
        tz_aware=True,
        serverSelectionTimeoutMS=5000,
        connectTimeoutMS=3000,
        socketTimeoutMS=30000,
        retryWrites=False,
    )


IndexKeys = str | Sequence[tuple[str, int]]
"""An index's keys as ``create_index`` takes them: a field, or a list of (field, direction)."""


async def ensure_indexes(
    collection: AsyncCollection[Document], *indexes: IndexModel | IndexKeys
) -> None:
    """Creates the indexes ``collection`` lacks (by name), in one ``createIndexes``; when it has
    them all, as at every start after the first, it only reads (``listIndexes``).

    A ``createIndexes`` is a write: on a busy store it waits behind every write in flight (the
    local store takes them one at a time), and in ``make chaos`` a restarted service's dozen index
    creations outlasted its 20 s start attempt again and again, so it never became ready.
    """
    models = [index if isinstance(index, IndexModel) else IndexModel(index) for index in indexes]
    present = await collection.index_information()
    missing = [model for model in models if model.document["name"] not in present]
    if missing:
        await collection.create_indexes(missing)


async def count_matching(collection: AsyncCollection[Document], query: Document) -> int:
    """How many documents match ``query``, counted from their ids.

    FerretDB 1.24 answers ``count_documents`` with an aggregation several times slower than a
    search for the same documents (on 1,208 deliveries: 640 ms against 45-160 ms), and the
    platform counts small sets (pending deliveries, a call's dossiers) that gauges refresh every
    few seconds. MongoDB gives the same number either way."""
    return len(await collection.find(query, {"_id": 1}).to_list(None))


@dataclass(frozen=True)
class Processed:
    """A consumed event id or a command's idempotency key, and the answer it gave."""

    id: str
    answer: dict[str, Any] = field(default_factory=dict)

    def document(self) -> Document:
        return {"id": self.id, "answer": self.answer}


Kept = Processed | None
"""The consumed event id or command key a write keeps with its change, if any."""


@dataclass(frozen=True)
class Loaded:
    """An aggregate as read: its state, the version to guard the next save, what it processed."""

    id: str
    version: int
    state: Document
    processed: tuple[Processed, ...]

    def answer_for(self, processed_id: str) -> dict[str, Any] | None:
        for item in self.processed:
            if item.id == processed_id:
                return item.answer
        return None


EventsQueued = Callable[[str, str], None]
"""Told (collection name, document id) after a save left events in that document's outbox: the
relay publishes them at once, by id, instead of finding them at its next poll."""


def nobody_told(collection: str, document_id: str) -> None:
    """For stores whose events nobody publishes at once (tests of the store alone)."""


class AggregateStore:
    """Loads and saves one collection of aggregates together with their outbox."""

    def __init__(
        self, collection: AsyncCollection[Document], on_events: EventsQueued = nobody_told
    ) -> None:
        self.collection = collection
        self._on_events = on_events
        self._loads: GroupCommit[str, Loaded | None] = GroupCommit(self._find, LOAD_GROUP)
        self._writes: GroupCommit[Write, None] = GroupCommit(self._bulk, WRITE_GROUP)

    @property
    def name(self) -> str:
        return self.collection.name

    async def load(self, aggregate_id: str) -> Loaded | None:
        return await self._loads.submit(aggregate_id)

    async def create(
        self, aggregate_id: str, state: Document, events: Events = (), processed: Kept = None
    ) -> None:
        """Insert a new aggregate; ConcurrencyConflict if one with this id exists."""
        document: Document = {
            "_id": aggregate_id,
            "version": 1,
            "state": state,
            "outbox": [entry.model_dump() for entry in events],
            "outbox_lease_until": EPOCH,
            "processed": [] if processed is None else [processed.document()],
        }
        await self._writes.submit(Write(aggregate_id, InsertOne(document)))
        if events:
            self._on_events(self.collection.name, aggregate_id)

    async def save(
        self, loaded: Loaded, state: Document, events: Events = (), processed: Kept = None
    ) -> None:
        """Replace the state read as ``loaded``; ConcurrencyConflict if it changed since."""
        token = secrets.token_hex(8)
        changes: Document = {"state": state, "version": loaded.version + 1, "write_id": token}
        if processed is not None:
            # The version guard makes a read-modify-write of the list safe; FerretDB ignores
            # $push's $slice, so the bounded list is computed here.
            kept = [*loaded.processed, processed][-PROCESSED_KEPT:]
            changes["processed"] = [item.document() for item in kept]
        update: Document = {"$set": changes}
        if events:
            update["$push"] = {"outbox": {"$each": [entry.model_dump() for entry in events]}}
        guarded = UpdateOne({"_id": loaded.id, "version": loaded.version}, update)
        await self._writes.submit(Write(loaded.id, guarded, loaded.version, token))
        if events:
            self._on_events(self.collection.name, loaded.id)

    async def _find(self, ids: list[str]) -> Outcomes:
        """One ``find`` for a batch of loads (an id asked twice is read once)."""
        unique_ids = list(dict.fromkeys(ids))
        cursor = self.collection.find(
            {"_id": {"$in": unique_ids}}, LOAD_PROJECTION, batch_size=len(unique_ids) + 1
        )
        found = {document["_id"]: loaded_from(document) async for document in cursor}
        return [found.get(aggregate_id) for aggregate_id in ids]

    async def _bulk(self, writes: list[Write]) -> Outcomes:
        """One ``bulk_write`` for a batch of creates and saves, each told its own outcome."""
        outcomes: Outcomes = [None] * len(writes)
        try:
            result = await self.collection.bulk_write(
                [write.operation for write in writes], ordered=False
            )
            matched = result.matched_count
        except BulkWriteError as error:
            for item in error.details.get("writeErrors", []):
                outcomes[item["index"]] = write_error(writes[item["index"]], item)
            if error.details.get("writeConcernErrors"):
                concern = WriteConcernError("write concern error", 64, error.details)
                outcomes = [concern if outcome is None else outcome for outcome in outcomes]
            matched = error.details.get("nMatched", 0)
        saves = [
            index
            for index, write in enumerate(writes)
            if write.version is not None and outcomes[index] is None
        ]
        if matched < len(saves):
            await self._tell_unmatched(writes, saves, outcomes)
        return outcomes

    async def _tell_unmatched(
        self, writes: list[Write], saves: list[int], outcomes: Outcomes
    ) -> None:
        """Reads back the tokens of a batch's saves when some did not match: a document carrying
        a save's token has it; one at the very next version with another token was saved by
        another writer first (a conflict); one written again since cannot tell."""
        cursor = self.collection.find(
            {"_id": {"$in": list({writes[index].id for index in saves})}},
            {"write_id": 1, "version": 1},
        )
        written = {document["_id"]: document async for document in cursor}
        for index in saves:
            write = writes[index]
            document = written.get(write.id, {})
            assert write.version is not None
            if document.get("write_id") == write.token:
                continue
            if document.get("version", 0) > write.version + 1:
                outcomes[index] = WriteOutcomeUnknown(f"{write.id}: written again since")
            else:
                outcomes[index] = ConcurrencyConflict(write.id)


def write_error(write: Write, item: Document) -> Exception:
    """The exception a caller gets for its operation's entry in a BulkWriteError: a create's
    duplicate key is a ConcurrencyConflict, as ``insert_one``'s DuplicateKeyError was."""
    code = item.get("code")
    error_class = DuplicateKeyError if code == DUPLICATE_KEY else WriteError
    error = error_class(item.get("errmsg", "write error"), code, item)
    if code == DUPLICATE_KEY and write.version is None:
        conflict = ConcurrencyConflict(write.id)
        conflict.__cause__ = error
        return conflict
    return error


def loaded_from(document: Document) -> Loaded:
    return Loaded(
        id=document["_id"],
        version=document["version"],
        state=document.get("state", {}),
        processed=tuple(
            Processed(item["id"], item.get("answer", {})) for item in document.get("processed", [])
        ),
    )


JITTER_SECONDS = 0.002


async def retry_on_conflict(
    attempt: Callable[[], Awaitable[ResultT]], attempts: int = 20
) -> ResultT:
    """Run a read-decide-save step again while another writer wins the race, after a little
    jitter that grows with the tries, so that many writers racing on one document (several
    instances, many requests) do not keep colliding in step."""
    for tries in range(attempts - 1):
        if tries:
            await asyncio.sleep(random.uniform(0, JITTER_SECONDS * min(tries, 25)))
        try:
            return await attempt()
        except ConcurrencyConflict:
            continue
    return await attempt()
