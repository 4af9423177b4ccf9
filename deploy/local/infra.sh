#!/usr/bin/env bash
# Local infrastructure for paystream: Apache Kafka (KRaft, single node), PostgreSQL and stripe-mock,
# run as plain processes on 127.0.0.1 (no Docker needed). See deploy/local/README.md.
#
#   deploy/local/infra.sh up              install what is missing, start what is not running
#   deploy/local/infra.sh down [--wipe]   stop what this run dir started (--wipe: delete its data)
#   deploy/local/infra.sh status [--quiet]  one line per component (--quiet: exit 0 iff all run)
#   deploy/local/infra.sh env             `export` lines for the Makefile and the tests
#   deploy/local/infra.sh stop COMPONENT  stop one of kafka|postgres|stripe-mock (fault tests)
#   deploy/local/infra.sh start COMPONENT start one of them again (same run dir and ports as `up`)
#   deploy/local/infra.sh compose-tool    install `docker compose` locally, print how to call it
#
# Tools shared by every run dir live in <repo>/.run/tools; the state of one environment (data,
# pid files, generated configs, logs) in $PAYSTREAM_RUN_DIR (default <repo>/.run/dev), so several
# environments run side by side with different PAYSTREAM_*_PORT values.
set -euo pipefail

# ---- pinned versions: the ONE place to change them (see deploy/local/README.md for why) --------
KAFKA_VERSION=4.3.1            # Maven Central org.apache.kafka:kafka_2.13; docker-compose.yml must match
STRIPE_MOCK_VERSION=v0.203.0   # Go module github.com/stripe/stripe-mock; docker-compose.yml must match
COMPOSE_VERSION=v2.40.3        # Go module github.com/docker/compose/v2 (only for `compose-tool`)

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
TOOLS="$REPO/.run/tools"

RUN_DIR=${PAYSTREAM_RUN_DIR:-$REPO/.run/dev}
case "$RUN_DIR" in /*) ;; *) RUN_DIR="$PWD/$RUN_DIR" ;; esac
RUN_DIR=${RUN_DIR%/}
LOGS="$RUN_DIR/logs"

HOST=127.0.0.1
KAFKA_PORT=${PAYSTREAM_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${PAYSTREAM_KAFKA_CONTROLLER_PORT:-19093}
PG_PORT=${PAYSTREAM_PG_PORT:-15432}
STRIPE_MOCK_PORT=${PAYSTREAM_STRIPE_MOCK_PORT:-12111}
STRIPE_MOCK_HTTPS_PORT=${PAYSTREAM_STRIPE_MOCK_HTTPS_PORT:-12112}

KAFKA_HOME="$TOOLS/kafka-$KAFKA_VERSION"
KAFKA_DIR="$RUN_DIR/kafka"
KAFKA_PID="$RUN_DIR/kafka.pid"
PG_DIR="$RUN_DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_SOCKET_DIR="$PG_DIR/socket"
PG_DATABASES=(paystream_checkout paystream_ledger paystream_invoicing)  # webhook-ingest: stateless
STRIPE_MOCK_BIN="$TOOLS/bin/stripe-mock-$STRIPE_MOCK_VERSION"
STRIPE_MOCK_PID="$RUN_DIR/stripe-mock.pid"

KAFKA_READY_TIMEOUT=${PAYSTREAM_KAFKA_READY_TIMEOUT:-120}
PG_READY_TIMEOUT=60
STRIPE_MOCK_READY_TIMEOUT=60
STOP_TIMEOUT=30

log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

# ---- process helpers ------------------------------------------------------------------------------

# pid_alive PID MARKER: the process exists and its command line contains MARKER (guards against a
# stale pid file whose pid was reused by an unrelated process).
pid_alive() {
  local pid=$1 marker=$2
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ -r "/proc/$pid/cmdline" ] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"
}

read_pid() { if [ -s "$1" ]; then head -n1 "$1" | tr -dc '0-9'; fi; }

port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# stop_pid NAME PID: SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL.
stop_pid() {
  local name=$1 pid=$2 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { log "$name stopped (pid $pid)"; return 0; }
    sleep 0.1
  done
  log "$name did not stop within ${STOP_TIMEOUT}s: SIGKILL (pid $pid)"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}

# run_detached PIDFILE LOGFILE CMD...: start CMD in its own session (so Ctrl-C in the caller's
# terminal does not reach it), stdio detached, and record its pid.
run_detached() {
  local pidfile=$1 logfile=$2
  shift 2
  rm -f "$pidfile"
  # shellcheck disable=SC2016 # $$, $0 and $@ belong to the inner bash
  # 8>&- 9>&-: the daemon must not inherit (and so hold forever) the infra.sh lock files.
  nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 8>&- 9>&- &
  local i
  for ((i = 0; i < 50; i++)); do [ -s "$pidfile" ] && return 0; sleep 0.1; done
  die "could not start $1 (no pid file $pidfile)"
}

log_hint() { printf 'see %s' "$1"; }

fail_with_log() {
  local msg=$1 logfile=$2
  log "$msg"
  if [ -f "$logfile" ]; then
    log "last lines of $logfile:"
    tail -n 20 "$logfile" | sed 's/^/    /' >&2
  fi
  die "$msg ($(log_hint "$logfile"))"
}

# Serialize installs into the shared .run/tools across concurrent `up`s of different run dirs.
with_tools_lock() {
  mkdir -p "$TOOLS"
  exec 9>"$TOOLS/.install.lock"
  flock 9
  "$@"
  exec 9>&-
}

apt_install() {
  is_root || die "missing $*; install it (apt-get install -y $*) or run as root"
  log "apt-get install -y $*"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# ---- Python for the Kafka readiness probe (needs aiokafka from the workspace venv) ---------------
python_cmd() {
  if [ -x "$REPO/.venv/bin/python" ] && "$REPO/.venv/bin/python" -c 'import aiokafka' 2>/dev/null; then
    PY=("$REPO/.venv/bin/python")
    return
  fi
  local uv
  uv=$(command -v uv || true)
  # shellcheck disable=SC2012 # our own directory names
  [ -n "$uv" ] || uv=$(ls -1d "$TOOLS"/uv-*/bin/uv 2>/dev/null | sort -V | tail -n1 || true)
  [ -n "$uv" ] || die "no Python with aiokafka: run \`make bootstrap\` (or \`uv sync\`) first"
  PY=("$uv" run --project "$REPO" --frozen python)
}

# ==== Kafka ========================================================================================

install_kafka() {
  [ -f "$KAFKA_HOME/.complete" ] && return 0
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install maven
  log "kafka $KAFKA_VERSION: resolving jars from Maven Central (cached in ~/.m2)"
  rm -rf "$KAFKA_HOME"
  mkdir -p "$KAFKA_HOME"
  local mvn_log="$TOOLS/kafka-$KAFKA_VERSION-install.log"
  mvn -q -B -Dstyle.color=never -f "$SCRIPT_DIR/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DoutputDirectory="$KAFKA_HOME/libs" >"$mvn_log" 2>&1 ||
    fail_with_log "maven could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION" "$mvn_log"
  ls "$KAFKA_HOME/libs/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null
  touch "$KAFKA_HOME/.complete"
}

write_kafka_config() {
  mkdir -p "$KAFKA_DIR/data" "$LOGS"
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Generated by deploy/local/infra.sh on every \`up\`; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=6
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=12
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=168
EOF
  cat >"$KAFKA_DIR/log4j2.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by deploy/local/infra.sh. -->
<Configuration status="warn">
  <Appenders>
    <RollingFile name="file" fileName="$LOGS/kafka.log" filePattern="$LOGS/kafka.log.%i">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <Policies><SizeBasedTriggeringPolicy size="50 MB"/></Policies>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="file"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Logger name="org.apache.kafka.storage.internals.log.LogLoader" level="WARN"/>
  </Loggers>
</Configuration>
EOF
}

kafka_jvm() {
  KAFKA_JVM=(java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.xml"
    -Dkafka.logs.dir="$LOGS" -cp "$KAFKA_HOME/libs/*")
}

format_kafka() {
  [ -f "$KAFKA_DIR/data/meta.properties" ] && return 0
  local cluster_id
  cluster_id=$(java -cp "$KAFKA_HOME/libs/*" -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.xml" \
    kafka.tools.StorageTool random-uuid 2>>"$LOGS/kafka-format.log" | tail -n1)
  [ -n "$cluster_id" ] || fail_with_log "kafka: could not generate a cluster id" "$LOGS/kafka-format.log"
  log "kafka: formatting storage (cluster id $cluster_id)"
  kafka_jvm
  "${KAFKA_JVM[@]}" kafka.tools.StorageTool format --standalone --cluster-id "$cluster_id" \
    --config "$KAFKA_DIR/server.properties" >>"$LOGS/kafka-format.log" 2>&1 ||
    fail_with_log "kafka: storage format failed" "$LOGS/kafka-format.log"
}

kafka_running() { pid_alive "$(read_pid "$KAFKA_PID")" "$KAFKA_DIR/server.properties"; }

start_kafka() {
  if kafka_running; then
    echo "kafka $KAFKA_VERSION      already running  $HOST:$KAFKA_PORT  pid $(read_pid "$KAFKA_PID")"
    return 0
  fi
  rm -f "$KAFKA_PID"
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_in_use "$p" && die "kafka: port $HOST:$p is already in use by another process (set PAYSTREAM_KAFKA_PORT / PAYSTREAM_KAFKA_CONTROLLER_PORT)"
  done
  write_kafka_config
  format_kafka
  kafka_jvm
  run_detached "$KAFKA_PID" "$LOGS/kafka.stdout.log" \
    "${KAFKA_JVM[@]}" kafka.Kafka "$KAFKA_DIR/server.properties"
  local pid rc=0
  pid=$(read_pid "$KAFKA_PID")
  python_cmd
  "${PY[@]}" "$SCRIPT_DIR/kafka_ready.py" --bootstrap "$HOST:$KAFKA_PORT" \
    --timeout "$KAFKA_READY_TIMEOUT" --pid "$pid" || rc=$?
  case $rc in
    0) ;;
    2) rm -f "$KAFKA_PID"; fail_with_log "kafka exited during startup" "$LOGS/kafka.log" ;;
    *) fail_with_log "kafka not ready after ${KAFKA_READY_TIMEOUT}s (still running as pid $pid)" "$LOGS/kafka.log" ;;
  esac
  echo "kafka $KAFKA_VERSION      started          $HOST:$KAFKA_PORT  pid $pid  log $LOGS/kafka.log"
}

stop_kafka() {
  local pid
  pid=$(read_pid "$KAFKA_PID")
  if pid_alive "$pid" "$KAFKA_DIR/server.properties"; then stop_pid kafka "$pid"; fi
  rm -f "$KAFKA_PID"
}

# ==== PostgreSQL ===================================================================================

pg_bin() {
  local d
  # shellcheck disable=SC2012 # Debian's version directories
  d=$(ls -1d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

install_postgres() {
  [ -n "$(pg_bin)" ] && return 0
  apt_install postgresql
  [ -n "$(pg_bin)" ] || die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb found"
}

# as_pg CMD...: PostgreSQL refuses to run as root, so as root run it as the `postgres` user.
as_pg() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The postgres user must be able to reach $PG_DIR and the log file in $LOGS. A repo cloned into
# `mktemp -d` (mode 700), under /root, or created with umask 077 would stop it, so as root we add
# o+x (traverse only: no listing, no reading) to each directory on those paths that lacks it,
# outermost first so only the directories that really block get changed.
ensure_pg_traversable() {
  is_root || return 0
  local target d
  for target in "$PG_DIR" "$LOGS"; do
    local chain=()
    d=$target
    while [ "$d" != / ] && [ -n "$d" ]; do chain=("$d" "${chain[@]}"); d=$(dirname "$d"); done
    for d in "${chain[@]}"; do
      if ! runuser -u postgres -- test -x "$d"; then
        log "postgres: chmod o+x $d (so the postgres user can reach the run dir)"
        chmod o+x "$d"
      fi
    done
  done
}

pg_postmaster_pid() { read_pid "$PG_DATA/postmaster.pid"; }
pg_running() { pid_alive "$(pg_postmaster_pid)" "$PG_DATA"; }

init_postgres() {
  local bin=$1
  mkdir -p "$PG_DIR" "$LOGS"
  ensure_pg_traversable
  mkdir -p "$PG_SOCKET_DIR"
  touch "$LOGS/postgres.log"
  if is_root; then chown postgres: "$PG_DIR" "$PG_SOCKET_DIR" "$LOGS/postgres.log"; fi
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    log "postgres: initdb $PG_DATA"
    rm -rf "$PG_DATA"
    local pwfile="$PG_DIR/.pwfile"
    echo postgres >"$pwfile"
    if is_root; then chown postgres: "$pwfile"; fi
    as_pg "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust --pwfile="$pwfile" \
      --encoding=UTF8 --no-locale >>"$LOGS/postgres-initdb.log" 2>&1 ||
      fail_with_log "postgres: initdb failed" "$LOGS/postgres-initdb.log"
    rm -f "$pwfile"
    echo "include_if_exists = 'paystream.conf'" >>"$PG_DATA/postgresql.conf"
  fi
  # Regenerated on every `up`, so a changed PAYSTREAM_PG_PORT takes effect.
  as_pg tee "$PG_DATA/paystream.conf" >/dev/null <<EOF
# Generated by deploy/local/infra.sh on every \`up\`; edits are overwritten.
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
max_connections = 200
shared_buffers = 128MB
fsync = on
EOF
}

start_postgres() {
  local bin
  bin=$(pg_bin)
  if pg_running; then
    echo "postgres $(basename "$(dirname "$bin")")      already running  $HOST:$PG_PORT  pid $(pg_postmaster_pid)"
    return 0
  fi
  port_in_use "$PG_PORT" && die "postgres: port $HOST:$PG_PORT is already in use by another process (set PAYSTREAM_PG_PORT)"
  init_postgres "$bin"
  # A crash leaves a stale postmaster.pid; postgres itself checks it and removes it if stale.
  as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$LOGS/postgres.log" -W start >/dev/null 8>&- 9>&- ||
    fail_with_log "postgres: pg_ctl start failed" "$LOGS/postgres.log"
  local i ready=0
  for ((i = 0; i < PG_READY_TIMEOUT * 5; i++)); do
    if "$bin/pg_isready" -q -h "$HOST" -p "$PG_PORT" -U postgres -t 1; then ready=1; break; fi
    sleep 0.2
  done
  [ "$ready" = 1 ] || fail_with_log "postgres not ready after ${PG_READY_TIMEOUT}s" "$LOGS/postgres.log"
  local db
  for db in "${PG_DATABASES[@]}"; do
    if [ "$(PGPASSWORD=postgres "$bin/psql" -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -tAq \
      -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
      PGPASSWORD=postgres "$bin/psql" -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -q \
        -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" >&2
      log "postgres: created database $db"
    fi
  done
  echo "postgres $(basename "$(dirname "$bin")")      started          $HOST:$PG_PORT  pid $(pg_postmaster_pid)  log $LOGS/postgres.log"
}

stop_postgres() {
  local bin pid
  pid=$(pg_postmaster_pid)
  pg_running || return 0
  bin=$(pg_bin)
  # pg_ctl's "fast" mode is SIGINT (SIGTERM would be "smart": wait for every client to leave).
  if as_pg "$bin/pg_ctl" -D "$PG_DATA" -m fast -w -t "$STOP_TIMEOUT" stop >/dev/null 2>&1; then
    log "postgres stopped (pid $pid)"
  else
    log "postgres did not stop within ${STOP_TIMEOUT}s: SIGKILL (pid $pid)"
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

# ==== stripe-mock ==================================================================================

install_stripe_mock() {
  [ -x "$STRIPE_MOCK_BIN" ] && return 0
  command -v go >/dev/null || die "stripe-mock needs Go (>= 1.21) on PATH to build it"
  log "stripe-mock $STRIPE_MOCK_VERSION: go install (module cache: $(go env GOMODCACHE))"
  local gobin="$TOOLS/bin/.gobin-$$"
  mkdir -p "$gobin"
  GOBIN="$gobin" GOFLAGS=-buildvcs=false go install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION" >&2 ||
    die "go install github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION failed"
  mv "$gobin/stripe-mock" "$STRIPE_MOCK_BIN"
  rmdir "$gobin"
}

stripe_mock_running() { pid_alive "$(read_pid "$STRIPE_MOCK_PID")" "$HOST:$STRIPE_MOCK_PORT"; }

stripe_mock_ok() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
    -H 'Authorization: Bearer sk_test_123' "http://$HOST:$STRIPE_MOCK_PORT/v1/charges")" = 200 ]
}

start_stripe_mock() {
  if stripe_mock_running; then
    echo "stripe-mock $STRIPE_MOCK_VERSION already running  $HOST:$STRIPE_MOCK_PORT  pid $(read_pid "$STRIPE_MOCK_PID")"
    return 0
  fi
  rm -f "$STRIPE_MOCK_PID"
  local p
  for p in "$STRIPE_MOCK_PORT" "$STRIPE_MOCK_HTTPS_PORT"; do
    port_in_use "$p" && die "stripe-mock: port $HOST:$p is already in use by another process (set PAYSTREAM_STRIPE_MOCK_PORT / PAYSTREAM_STRIPE_MOCK_HTTPS_PORT)"
  done
  mkdir -p "$LOGS"
  run_detached "$STRIPE_MOCK_PID" "$LOGS/stripe-mock.log" "$STRIPE_MOCK_BIN" \
    -http-addr "$HOST:$STRIPE_MOCK_PORT" -https-addr "$HOST:$STRIPE_MOCK_HTTPS_PORT"
  local pid i
  pid=$(read_pid "$STRIPE_MOCK_PID")
  for ((i = 0; i < STRIPE_MOCK_READY_TIMEOUT * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$STRIPE_MOCK_PID"; fail_with_log "stripe-mock exited during startup" "$LOGS/stripe-mock.log"; }
    if stripe_mock_ok; then
      echo "stripe-mock $STRIPE_MOCK_VERSION started          $HOST:$STRIPE_MOCK_PORT  pid $pid  log $LOGS/stripe-mock.log"
      return 0
    fi
    sleep 0.2
  done
  fail_with_log "stripe-mock not ready after ${STRIPE_MOCK_READY_TIMEOUT}s (GET /v1/charges != 200)" "$LOGS/stripe-mock.log"
}

stop_stripe_mock() {
  local pid
  pid=$(read_pid "$STRIPE_MOCK_PID")
  if pid_alive "$pid" "$HOST:$STRIPE_MOCK_PORT" || pid_alive "$pid" "$STRIPE_MOCK_BIN"; then
    stop_pid stripe-mock "$pid"
  fi
  rm -f "$STRIPE_MOCK_PID"
}

# ==== docker compose (validation only: there is no Docker engine here) ============================

COMPOSE_PLUGIN_DIR="$TOOLS/docker-cli-plugins"
COMPOSE_BIN="$COMPOSE_PLUGIN_DIR/docker-compose"
COMPOSE_STAMP="$COMPOSE_PLUGIN_DIR/.docker-compose-version"
DOCKER_CONFIG_DIR="$TOOLS/docker-config"

install_compose() {
  if [ ! -x "$COMPOSE_BIN" ] || [ "$(cat "$COMPOSE_STAMP" 2>/dev/null)" != "$COMPOSE_VERSION" ]; then
    command -v go >/dev/null || die "building docker compose needs Go on PATH"
    # `go install github.com/docker/compose/v2/cmd@v` is refused (its go.mod has exclude
    # directives), so fetch the module into Go's module cache and build it as the main module.
    local dir
    dir=$(go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
    [ -d "$dir" ] || die "go mod download github.com/docker/compose/v2@$COMPOSE_VERSION failed"
    log "docker compose $COMPOSE_VERSION: building from $dir (several minutes the first time)"
    mkdir -p "$COMPOSE_PLUGIN_DIR"
    (cd "$dir" && GOFLAGS=-buildvcs=false go build -trimpath \
      -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
      -o "$COMPOSE_BIN.tmp" ./cmd) >&2 || die "building docker compose failed"
    mv "$COMPOSE_BIN.tmp" "$COMPOSE_BIN"
    echo "$COMPOSE_VERSION" >"$COMPOSE_STAMP"
  fi
  mkdir -p "$DOCKER_CONFIG_DIR"
  printf '{\n  "cliPluginsExtraDirs": ["%s"]\n}\n' "$COMPOSE_PLUGIN_DIR" >"$DOCKER_CONFIG_DIR/config.json"
}

cmd_compose_tool() {
  with_tools_lock install_compose
  if command -v docker >/dev/null; then
    printf 'env DOCKER_CONFIG=%q docker compose\n' "$DOCKER_CONFIG_DIR"
  else
    # The plugin binary also works stand-alone when the docker client is missing.
    printf '%q\n' "$COMPOSE_BIN"
  fi
}

# ==== commands =====================================================================================

# Two `up`/`down` of the SAME run dir at once (e.g. two terminals) would race on its pid files and
# data dirs: serialize them. Different run dirs do not wait for each other.
lock_run_dir() {
  mkdir -p "$RUN_DIR"
  exec 8>"$RUN_DIR/.infra.lock"
  if ! flock -n 8; then
    log "another infra.sh is working on $RUN_DIR; waiting for it"
    flock 8
  fi
}

install_all() {
  install_kafka
  install_postgres
  install_stripe_mock
}

cmd_up() {
  lock_run_dir
  mkdir -p "$LOGS"
  with_tools_lock install_all
  start_postgres
  start_stripe_mock
  start_kafka
}

cmd_down() {
  local wipe=0
  [ "${1:-}" = --wipe ] && wipe=1
  [ -d "$RUN_DIR" ] || return 0
  lock_run_dir
  stop_stripe_mock
  stop_kafka
  stop_postgres
  if [ "$wipe" = 1 ]; then
    case "$RUN_DIR" in
      "" | / | "$REPO" | "$REPO/.run" | "$TOOLS" | "$HOME") die "refusing to wipe $RUN_DIR" ;;
    esac
    log "wiping data of $RUN_DIR (logs are kept)"
    rm -rf "$KAFKA_DIR" "$PG_DIR"
  fi
}

cmd_status() {
  local quiet=0 all=0 pid
  [ "${1:-}" = --quiet ] && quiet=1
  line() { [ "$quiet" = 1 ] || printf '%-12s %-8s %-22s %s\n' "$@"; }
  if kafka_running; then line kafka running "$HOST:$KAFKA_PORT" "pid $(read_pid "$KAFKA_PID")"
  else line kafka stopped "$HOST:$KAFKA_PORT" -; all=1; fi
  if pg_running; then line postgres running "$HOST:$PG_PORT" "pid $(pg_postmaster_pid)"
  else line postgres stopped "$HOST:$PG_PORT" -; all=1; fi
  if stripe_mock_running; then
    pid=$(read_pid "$STRIPE_MOCK_PID")
    line stripe-mock running "$HOST:$STRIPE_MOCK_PORT" "pid $pid"
  else line stripe-mock stopped "$HOST:$STRIPE_MOCK_PORT" -; all=1; fi
  if [ "$quiet" = 1 ]; then return "$all"; fi
  return 0
}

cmd_env() {
  printf 'export PAYSTREAM_KAFKA_BOOTSTRAP=%q\n' "$HOST:$KAFKA_PORT"
  printf 'export PAYSTREAM_PG_HOST=%q\n' "$HOST"
  printf 'export PAYSTREAM_PG_PORT=%q\n' "$PG_PORT"
  printf 'export PAYSTREAM_PG_USER=postgres\n'
  printf 'export PAYSTREAM_PG_PASSWORD=postgres\n'
  printf 'export PAYSTREAM_STRIPE_API_BASE=%q\n' "http://$HOST:$STRIPE_MOCK_PORT"
  printf 'export PAYSTREAM_RUN_DIR=%q\n' "$RUN_DIR"
}

# stop/start ONE component of this run dir, for the fault-injection tests (tests/faults): the same
# functions as `up`/`down`, so the same run dir, ports, pid checks and readiness waits apply.
component_fn() {
  case "${1:-}" in
    kafka) echo kafka ;;
    postgres) echo postgres ;;
    stripe-mock) echo stripe_mock ;;
    *) die "unknown component '${1:-}': expected kafka, postgres or stripe-mock" ;;
  esac
}

cmd_stop() {
  local fn
  fn=$(component_fn "${1:-}")
  [ -d "$RUN_DIR" ] || return 0
  lock_run_dir
  "stop_$fn"
}

cmd_start() {
  local fn
  fn=$(component_fn "${1:-}")
  lock_run_dir
  mkdir -p "$LOGS"
  with_tools_lock "install_$fn"
  "start_$fn"
}

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case "$cmd" in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    env) cmd_env "$@" ;;
    stop) cmd_stop "$@" ;;
    start) cmd_start "$@" ;;
    compose-tool) cmd_compose_tool "$@" ;;
    *) usage ;;
  esac
}

main "$@"
