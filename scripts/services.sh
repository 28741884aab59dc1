#!/usr/bin/env bash
# Start (or stop) the services the tests use, on loopback only: a PostgreSQL cluster of our own.
# The SMTP receiver, HTTP server and Streamlit server are started by the tests themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:-start}
export COCKPIT_PG_PORT=${COCKPIT_PG_PORT:-55432}
ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
cluster=cockpit
run() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sudo -u postgres sh -c "$*"; fi; }
case "$action" in
  start)
    [ -n "$ver" ] || { echo "postgresql is not installed (scripts/system-packages.sh)"; exit 1; }
    if ! pg_lsclusters -h | awk '{print $2}' | grep -qx "$cluster"; then
      run "pg_createcluster $ver $cluster -p $COCKPIT_PG_PORT -- --auth-local=trust --auth-host=trust >/dev/null"
      run "sed -i \"s/^#\\?listen_addresses.*/listen_addresses = '127.0.0.1'/\" /etc/postgresql/$ver/$cluster/postgresql.conf"
    fi
    if ! pg_lsclusters -h | awk -v c="$cluster" '$2==c {print $4}' | grep -qx online; then
      run "pg_ctlcluster $ver $cluster start"
    fi
    for _ in $(seq 1 30); do
      pg_isready -h 127.0.0.1 -p "$COCKPIT_PG_PORT" -q && break
      sleep 0.5
    done
    run "psql -h 127.0.0.1 -p $COCKPIT_PG_PORT -tAc \"SELECT 1 FROM pg_roles WHERE rolname='cockpit'\" | grep -q 1 || psql -h 127.0.0.1 -p $COCKPIT_PG_PORT -c \"CREATE ROLE cockpit LOGIN SUPERUSER PASSWORD 'cockpit'\" >/dev/null"
    ;;
  stop)
    [ -n "$ver" ] && run "pg_ctlcluster $ver $cluster stop" || true
    ;;
esac
