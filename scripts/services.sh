#!/usr/bin/env bash
# Starts the local PostgreSQL and MariaDB servers when they are installed but stopped.
# Other servers can be used instead: see README.md ("Databases").
set -uo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! up 5432 && command -v pg_ctlcluster >/dev/null 2>&1; then
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
fi
if ! up 3306 && [ -x /usr/sbin/mariadbd ]; then
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
ready=
for _ in $(seq 1 50); do
  if { up 5432 || ! command -v pg_ctlcluster >/dev/null 2>&1; } && { up 3306 || [ ! -x /usr/sbin/mariadbd ]; }; then
    ready=1
    break
  fi
  sleep 0.2
done
if [ -z "$ready" ]; then
  echo "warning: a database did not come up (PostgreSQL 5432: $(up 5432 && echo up || echo down), MariaDB 3306: $(up 3306 && echo up || echo down))" >&2
fi
# The tests' database `test` on each server (idempotent).
if up 5432 && command -v psql >/dev/null 2>&1; then
  if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'test'" 2>/dev/null)" != 1 ]; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE test" || true
  fi
fi
if up 3306 && command -v mariadb >/dev/null 2>&1; then
  mariadb -h 127.0.0.1 -uroot -e "CREATE DATABASE IF NOT EXISTS test" || true
fi
# Change data capture (the postgres-cdc connector) needs logical decoding: set wal_level=logical
# once, and restart the local server only when the running value differs.
if up 5432 && command -v psql >/dev/null 2>&1; then
  if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atc 'SHOW wal_level' 2>/dev/null)" != logical ]; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc "ALTER SYSTEM SET wal_level = logical" || true
    if command -v pg_ctlcluster >/dev/null 2>&1; then
      for version in $(ls /etc/postgresql 2>/dev/null); do
        pg_ctlcluster --skip-systemctl-redirect "$version" main restart || true
      done
      for _ in $(seq 1 50); do up 5432 && break; sleep 0.2; done
    fi
    if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atc 'SHOW wal_level' 2>/dev/null)" != logical ]; then
      echo "warning: PostgreSQL's wal_level is not logical; restart the server (the CDC tests need it)" >&2
    fi
  fi
fi
exit 0
