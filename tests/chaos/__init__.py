"""The chaos run (``make chaos``): a numbered stream of commands through the whole platform while
services, the broker and the document store are killed with SIGKILL and restarted, then a count
of every effect from the services' read APIs and the topics: nothing lost, nothing doubled.

It runs on a stack of its own (Kafka on 29192, FerretDB on 27047, the services on 28001-28004,
second instances on 28011-28014, data under ``.local/chaos``), wiped at the start and stopped at
the end, so it never disturbs the platform, the tests or the benchmark.
"""
