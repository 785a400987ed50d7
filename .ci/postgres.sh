#!/usr/bin/env bash
# Start a local PostgreSQL for tests/test_postgres.py: install it if missing, start the
# cluster, create role xfd / database xfd_test. Exits non-zero when that is not possible.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  timeout 300 apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq postgresql
fi
ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | grep -q "^$ver main"; then
  pg_createcluster "$ver" main
fi
pg_ctlcluster "$ver" main start || pg_ctlcluster "$ver" main status
for _ in $(seq 1 30); do
  su postgres -c "pg_isready -q -h 127.0.0.1" && break
  sleep 1
done
su postgres -c "psql -q -c \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='xfd') THEN CREATE ROLE xfd LOGIN PASSWORD 'xfd'; END IF; END \\\$\\\$;\""
su postgres -c "psql -q -c 'DROP DATABASE IF EXISTS xfd_test;'"
su postgres -c "psql -q -c 'CREATE DATABASE xfd_test OWNER xfd;'"
