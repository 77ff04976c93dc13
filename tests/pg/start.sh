#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster for the tests and prints its URL.
#
#   eval "$(tests/pg/start.sh)"   # exports TESSERA_TEST_STORE_URL and TESSERA_PG_DIR
#   tests/pg/stop.sh "$TESSERA_PG_DIR"
#
# Installs PostgreSQL from Debian's packages when it is missing, runs initdb
# in a temp directory as the unprivileged `postgres` user (fsync on, as in
# production), and listens on a free port of 127.0.0.1 only.
set -euo pipefail

log() { echo "tests/pg: $*" >&2; }

find_bin() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
    done
    return 1
}

if ! BIN=$(find_bin); then
    log "installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    BIN=$(find_bin)
fi

RUN_AS=postgres
if ! id "$RUN_AS" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$RUN_AS"
fi

DIR=$(mktemp -d /tmp/tessera-pg.XXXXXX)
chown "$RUN_AS" "$DIR"
chmod 700 "$DIR"
as_pg() { runuser -u "$RUN_AS" -- "$@"; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$BIN/initdb" -D "$DIR/data" -U tessera --auth=trust -E UTF8 --no-locale >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; exit 1; }
cat >>"$DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
fsync = on
synchronous_commit = on
max_connections = 400
shared_buffers = 64MB
CONF
as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start >&2 \
    || { cat "$DIR/server.log" >&2; exit 1; }
log "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT ($DIR)"
echo "export TESSERA_TEST_STORE_URL=postgres://tessera@127.0.0.1:$PORT/postgres"
echo "export TESSERA_PG_DIR=$DIR"
echo "export TESSERA_PG_BIN=$BIN"
