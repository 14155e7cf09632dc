#!/bin/sh
# Temporal's schema on PostgreSQL with temporal-sql-tool (the admin-tools image), as Temporal recommends in
# place of the retired auto-setup image. Safe to run again: create and setup-schema leave an existing
# database alone, update-schema applies only the versions not yet applied (a server upgrade runs it anew).
# Credentials: POSTGRES_USER and SQL_PASSWORD from deploy/env/temporal.env.
set -eu
plugin=postgres12
host=${POSTGRES_SEEDS:-postgres}
port=${DB_PORT:-5432}
schema_dir=/etc/temporal/schema/postgresql/v12

for pair in "${DBNAME:-temporal}:temporal" "${VISIBILITY_DBNAME:-temporal_visibility}:visibility"; do
  db=${pair%%:*}
  kind=${pair##*:}
  echo "temporal-schema: $db ($kind)"
  temporal-sql-tool --plugin "$plugin" --ep "$host" -p "$port" -u "$POSTGRES_USER" --db "$db" create || true
  temporal-sql-tool --plugin "$plugin" --ep "$host" -p "$port" -u "$POSTGRES_USER" --db "$db" setup-schema -v 0.0
  temporal-sql-tool --plugin "$plugin" --ep "$host" -p "$port" -u "$POSTGRES_USER" --db "$db" \
    update-schema -d "$schema_dir/$kind/versioned"
done
echo 'temporal-schema: done'
