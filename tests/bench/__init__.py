"""The end-to-end benchmark (``make bench``): raw Kafka's ceiling and the platform side by side.

It runs on a stack of its own (Kafka on 29092, FerretDB on 27037, the services on 18001-18004,
data under ``.local/bench``), wiped at the start so runs compare, and stopped at the end. It
prints figures and writes them to ``.local/bench/results.json``; it never fails on time.
"""
