#!/usr/bin/env bash
# Says where everything of the running platform is.
cat <<'TEXT'
Pôles 2.0 is running on 127.0.0.1:
  service    API (OpenAPI UI)              events (AsyncAPI)                     metrics
  calls      http://127.0.0.1:8001/docs    http://127.0.0.1:8001/asyncapi.json   http://127.0.0.1:8001/metrics
  funding    http://127.0.0.1:8002/docs    http://127.0.0.1:8002/asyncapi.json   http://127.0.0.1:8002/metrics
  contracts  http://127.0.0.1:8003/docs    http://127.0.0.1:8003/asyncapi.json   http://127.0.0.1:8003/metrics
  notify     http://127.0.0.1:8004/docs    http://127.0.0.1:8004/asyncapi.json   http://127.0.0.1:8004/metrics
  Kafka      127.0.0.1:9092   SASL/SCRAM, one login per service; passwords in .local/secrets/kafka.env
             read a topic as the integrator: kcat -F .local/secrets/kcat-integrator.conf -C -t calls.dossier -e
  FerretDB   mongodb://127.0.0.1:27017   (one database per service: poles_calls, poles_funding, ...)
  Prometheus http://127.0.0.1:9090   (alerts: /classic/alerts; runbook: deploy/RUNBOOK.md)
  Jaeger     http://127.0.0.1:16686  traces of every service (a trace: /trace/<trace id>, the
             id in each HTTP answer's traceresponse header); OTLP/HTTP on 127.0.0.1:4318
  logs       .local/logs/
A token for the API:  source .local/secrets/auth.env && .venv/bin/python -m shared.auth mint --role operator
Stop everything with: make down
TEXT
