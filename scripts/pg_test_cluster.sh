#!/bin/sh
# A throw-away PostgreSQL cluster for the test suite, on loopback only, from Debian's server binaries.
#   scripts/pg_test_cluster.sh start   -> prints the admin URL (postgresql+psycopg://...)
#   scripts/pg_test_cluster.sh stop
# Data lives in $PGTEST_DIR (default /tmp/weijian-pgtest-$PORT); trust auth, no password, port $PGTEST_PORT.
set -eu
PORT="${PGTEST_PORT:-54329}"
DIR="${PGTEST_DIR:-/tmp/weijian-pgtest-$PORT}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -n "$BIN" ] || { echo "pg_test_cluster: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

# initdb and postgres refuse to run as root: run them as the 'postgres' user Debian's package creates.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    if ! [ -f "$DIR/PG_VERSION" ]; then
      mkdir -p "$DIR"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
      as_pg "$BIN/initdb" -D "$DIR" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_pg "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
      as_pg "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null
    fi
    echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    as_pg "$BIN/pg_ctl" -D "$DIR" -m fast stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
