#!/bin/sh
# The compose broker (apache/kafka image), secured as the local one (deploy/local/kafka.sh):
# SASL/SCRAM-SHA-512 for every client, PLAIN between the broker and its controller, ACLs only
# (StandardAuthorizer, nothing allowed by default), admin the one super user.
#
# The SCRAM users are created when the storage is formatted, on the first start, from the
# passwords compose passes in (read from the git-ignored .env; see deploy/compose/example.env).
# The ACLs are applied afterwards by the kafka-setup container (python -m shared.kafka_acls).
# The principals listed here are shared/kafka_acls.py's; tests/unit/test_compose.py checks it.
set -eu

KAFKA_HOME=${KAFKA_HOME:-/opt/kafka}
DATA=${KAFKA_DATA:-/var/lib/kafka/data}
CONFIG=/tmp/server.properties
ADMIN_CONFIG=/tmp/admin.properties  # the login of the healthcheck's client
PRINCIPALS="admin:KAFKA_ADMIN_PASSWORD poles-calls:KAFKA_CALLS_PASSWORD
poles-funding:KAFKA_FUNDING_PASSWORD poles-contracts:KAFKA_CONTRACTS_PASSWORD
poles-notify:KAFKA_NOTIFY_PASSWORD poles-command-senders:KAFKA_COMMAND_SENDERS_PASSWORD
poles-agencies:KAFKA_AGENCIES_PASSWORD poles-integrator:KAFKA_INTEGRATOR_PASSWORD"

umask 077
: "${KAFKA_ADMIN_PASSWORD:?set it in .env}"

cat >"$CONFIG" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@kafka:9093
listeners=CLIENT://:9092,CONTROLLER://:9093
advertised.listeners=CLIENT://kafka:9092
controller.listener.names=CONTROLLER
inter.broker.listener.name=CLIENT
listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,CLIENT:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$KAFKA_ADMIN_PASSWORD";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$KAFKA_ADMIN_PASSWORD" user_admin="$KAFKA_ADMIN_PASSWORD";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin
log.dirs=$DATA
auto.create.topics.enable=false
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
CONF

cat >"$ADMIN_CONFIG" <<CONF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$KAFKA_ADMIN_PASSWORD";
CONF

if [ ! -f "$DATA/meta.properties" ]; then
  set --
  for entry in $PRINCIPALS; do
    name=${entry%%:*}
    password=$(printenv "${entry#*:}") || { echo "kafka-start: ${entry#*:} is not set" >&2; exit 1; }
    set -- "$@" --add-scram "SCRAM-SHA-512=[name=$name,password=$password]"
  done
  "$KAFKA_HOME/bin/kafka-storage.sh" format -t "$("$KAFKA_HOME/bin/kafka-storage.sh" random-uuid)" \
    -c "$CONFIG" "$@"
fi

exec "$KAFKA_HOME/bin/kafka-server-start.sh" "$CONFIG"
