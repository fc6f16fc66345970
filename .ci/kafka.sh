#!/usr/bin/env bash
# kafka.sh runs one Apache Kafka node (KRaft, broker and controller in one
# process) on the loopback interface, for the integration tests and for a
# developer who wants the same broker CI uses.
#
#   .ci/kafka.sh fetch    resolve the broker jars into the cache and exit
#   .ci/kafka.sh start    fetch if needed, format a fresh data dir, start the
#                         node and return once it answers requests
#   .ci/kafka.sh stop     stop the node started by "start" and wait for it
#   .ci/kafka.sh status   say whether that node is running
#   .ci/kafka.sh env      print the export line for the tests:
#                           eval "$(.ci/kafka.sh env)"
#
# Every start formats new storage: topics and groups never survive a restart.
#
# Settings, with their defaults:
#   TRIAGE_KAFKA_VERSION          4.4.0  org.apache.kafka:kafka_2.13 version
#   TRIAGE_KAFKA_PORT             19092  broker listener on 127.0.0.1
#   TRIAGE_KAFKA_CONTROLLER_PORT  19093  controller listener on 127.0.0.1
#   TRIAGE_KAFKA_START_TIMEOUT    120    seconds to wait for the node to answer
#   TRIAGE_KAFKA_HEAP             1g     maximum JVM heap
#   TRIAGE_KAFKA_DIR    pid file, config, data and logs;
#                       ${TMPDIR:-/tmp}/triage-kafka-$TRIAGE_KAFKA_PORT
#   TRIAGE_KAFKA_CACHE  jars, one directory per version, reused while the pom
#                       is unchanged; ${XDG_CACHE_HOME:-$HOME/.cache}/triage
#
# Needs java 17 or newer and mvn on PATH.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

version=${TRIAGE_KAFKA_VERSION:-4.4.0}
port=${TRIAGE_KAFKA_PORT:-19092}
cport=${TRIAGE_KAFKA_CONTROLLER_PORT:-19093}
dir=${TRIAGE_KAFKA_DIR:-${TMPDIR:-/tmp}/triage-kafka-$port}
cache=${TRIAGE_KAFKA_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/triage}
start_timeout=${TRIAGE_KAFKA_START_TIMEOUT:-120}
heap=${TRIAGE_KAFKA_HEAP:-1g}

libs=$cache/kafka-$version/libs
pidfile=$dir/kafka.pid

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# stamp identifies what a jar directory was resolved from, so that editing the
# pom or the version refetches instead of reusing a stale directory.
stamp() {
	printf '%s %s\n' "$version" "$(sha256sum "$here/kafka/pom.xml" | cut -d' ' -f1)"
}

# fetch copies the broker's runtime jars into $libs unless a complete copy for
# the same pom is already there. The copy lands in a sibling directory first
# and is renamed into place, so an interrupted fetch never looks complete.
fetch() {
	if [[ -f $libs/.complete && "$(cat "$libs/.complete")" == "$(stamp)" ]]; then
		return 0
	fi
	command -v mvn >/dev/null || die "mvn is not on PATH; it resolves the broker jars"

	local tmp=$libs.tmp.$$
	rm -rf "$tmp"
	mkdir -p "$(dirname "$libs")"
	log "fetching Apache Kafka $version jars into $libs"
	# mvn's output is only worth reading when it fails.
	if ! mvn -B -ntp -Dstyle.color=never -f "$here/kafka/pom.xml" \
		-Dkafka.version="$version" \
		dependency:copy-dependencies \
		-DincludeScope=runtime \
		-DoutputDirectory="$tmp" >"$tmp.log" 2>&1; then
		tail -n 40 "$tmp.log" >&2
		rm -rf "$tmp" "$tmp.log"
		die "unable to resolve org.apache.kafka:kafka_2.13:$version with mvn"
	fi
	rm -f "$tmp.log"
	stamp >"$tmp/.complete"
	rm -rf "$libs"
	mv "$tmp" "$libs"
}

# running succeeds when the pid file names a live process that is this node:
# a recycled pid belonging to something else does not count.
running() {
	[[ -f $pidfile ]] || return 1
	local pid
	pid=$(cat "$pidfile")
	[[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "kafka.Kafka $dir/server.properties"
}

# storage_tool prints the StorageTool main class of the fetched version: it is
# Scala in kafka_2.13 up to now and may move to the Java tools package. Zip
# directories store entry names uncompressed, so grep can see them.
storage_tool() {
	if grep -qlF 'org/apache/kafka/tools/StorageTool.class' "$libs"/*.jar; then
		echo org.apache.kafka.tools.StorageTool
	elif grep -qlF 'kafka/tools/StorageTool.class' "$libs"/*.jar; then
		echo kafka.tools.StorageTool
	else
		die "no StorageTool class in the Kafka $version jars"
	fi
}

# cluster_id prints a random KRaft cluster id: 16 random bytes in URL-safe
# base64 without padding. An id starting with '-' would read as a flag.
cluster_id() {
	local id
	while :; do
		id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)
		[[ $id != -* ]] && break
	done
	echo "$id"
}

write_config() {
	cat >"$dir/server.properties" <<-EOF
		# Written by .ci/kafka.sh: one node that is both broker and controller.
		process.roles=broker,controller
		node.id=1
		listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
		advertised.listeners=PLAINTEXT://127.0.0.1:$port
		listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
		inter.broker.listener.name=PLAINTEXT
		controller.listener.names=CONTROLLER
		controller.quorum.bootstrap.servers=127.0.0.1:$cport
		log.dirs=$dir/data

		# A single node cannot replicate: every internal topic gets one replica.
		num.partitions=1
		default.replication.factor=1
		min.insync.replicas=1
		offsets.topic.replication.factor=1
		offsets.topic.num.partitions=1
		transaction.state.log.replication.factor=1
		transaction.state.log.min.isr=1
		transaction.state.log.num.partitions=1
		share.coordinator.state.topic.replication.factor=1
		share.coordinator.state.topic.min.isr=1

		# Tests create their topics and want groups to form at once.
		auto.create.topics.enable=false
		group.initial.rebalance.delay.ms=0
		group.min.session.timeout.ms=100
	EOF
}

# java_opts prints the JVM flags shared by the node and the tools; $1 names the
# log file under $dir/logs.
java_opts() {
	printf '%s\n' \
		-Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$here/kafka/log4j2.xml" \
		-Dkafka.logs.dir="$dir/logs" \
		-Dkafka.log.name="$1"
}

log_tail() {
	local f
	for f in "$dir/logs/server.log" "$dir/kafka.out"; do
		[[ -s $f ]] || continue
		log "last lines of $f:"
		tail -n 60 "$f" >&2
	done
}

# answers succeeds when the node's broker listener serves a metadata and an
# ApiVersions request, which it only does once it has joined the quorum.
answers() {
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 1
	local opts
	mapfile -t opts < <(java_opts tools)
	timeout 30 java "${opts[@]}" -cp "$libs/*" \
		org.apache.kafka.tools.BrokerApiVersionsCommand \
		--bootstrap-server "127.0.0.1:$port" >/dev/null 2>&1
}

start() {
	if running; then
		log "already running (pid $(cat "$pidfile")) on 127.0.0.1:$port"
		return 0
	fi
	command -v java >/dev/null || die "java is not on PATH; Kafka $version needs Java 17+"
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		die "127.0.0.1:$port is taken by another process; set TRIAGE_KAFKA_PORT"
	fi
	fetch

	# Only what this script writes is removed: $dir may be shared with others.
	rm -rf "$dir/data" "$dir/logs" "$dir/server.properties" "$dir/format.out" \
		"$dir/kafka.out"
	mkdir -p "$dir/logs"
	write_config

	local opts tool
	mapfile -t opts < <(java_opts storage)
	tool=$(storage_tool)
	if ! java "${opts[@]}" -cp "$libs/*" "$tool" format --standalone \
		-t "$(cluster_id)" -c "$dir/server.properties" >"$dir/format.out" 2>&1; then
		cat "$dir/format.out" >&2
		die "unable to format KRaft storage in $dir/data"
	fi

	# set -m puts the node in its own process group: an interrupt typed at the
	# terminal that ran "start" does not reach it, and $! is the java pid.
	mapfile -t opts < <(java_opts server)
	(
		set -m
		java -Xms256m -Xmx"$heap" "${opts[@]}" -cp "$libs/*" \
			kafka.Kafka "$dir/server.properties" \
			>"$dir/kafka.out" 2>&1 </dev/null &
		echo $! >"$pidfile"
	)

	local deadline=$((SECONDS + start_timeout))
	until answers; do
		if ! running; then
			log_tail
			die "the node exited during startup; its files are in $dir"
		fi
		if ((SECONDS >= deadline)); then
			log_tail
			stop
			die "the node did not answer on 127.0.0.1:$port within ${start_timeout}s"
		fi
		sleep 0.5
	done
	log "Apache Kafka $version is up on 127.0.0.1:$port (pid $(cat "$pidfile"), files in $dir)"
}

# stop asks the node to shut down and waits up to 30s before killing it.
stop() {
	if ! running; then
		rm -f "$pidfile"
		return 0
	fi
	local pid deadline
	pid=$(cat "$pidfile")
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$((SECONDS + 30))
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			log "pid $pid ignored SIGTERM for 30s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.2
	done
	rm -f "$pidfile"
	log "stopped (pid $pid)"
}

case ${1:-} in
fetch) fetch ;;
start) start ;;
stop) stop ;;
status)
	if running; then
		echo "running: pid $(cat "$pidfile"), 127.0.0.1:$port, files in $dir"
	else
		echo "not running"
		exit 1
	fi
	;;
env) echo "export KAFKA_BROKERS=127.0.0.1:$port" ;;
*)
	echo "usage: $0 fetch|start|stop|status|env" >&2
	exit 2
	;;
esac
