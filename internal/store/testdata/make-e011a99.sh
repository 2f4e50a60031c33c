#!/bin/sh
# Makes the databases of the release at e011a99 that the drivers'
# TestOpenOldRelease open with the current code: the demo (link four users
# through OAuth, backfill, sync a day, deliver every webhook) run by the
# binary of that commit, once on SQLite and once on PostgreSQL.
#
# The demo of e011a99 runs on SQLite only; e011a99-demo-postgres.patch
# (applied to that tree for this script only) points it at
# WEARLINK_FIXTURE_DATABASE_URL and gives it a River client for pgx. It
# touches no store code: the rows are written by the release's stores.
#
# Usage: internal/store/testdata/make-e011a99.sh postgres://.../postgres
# (a server where the script may create and drop wearlink_fixture).
set -eu
admin=${1:?usage: $0 postgres-admin-url}
repo=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'git -C "$repo" worktree remove --force "$work/src" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git -C "$repo" worktree add --detach "$work/src" e011a99
git -C "$work/src" apply "$repo/internal/store/testdata/e011a99-demo-postgres.patch"
(cd "$work/src" && go build -o "$work/wearlink" ./cmd/wearlink)

# SQLite: the database file as the release left it, gzipped.
"$work/wearlink" demo --once --days 1 --backfill-days 5 --addr 127.0.0.1:0 --data "$work/sqlite"
out=$repo/internal/store/sqlite/testdata/e011a99
mkdir -p "$out"
gzip -9 -c "$work/sqlite/wearlink.db" > "$out/wearlink.db.gz"
cp "$work/sqlite/secret.key" "$out/secret.key"

# PostgreSQL: a plain pg_dump --inserts of the public schema, made
# schema-neutral (no search_path reset, no public. qualification outside
# the data) and free of psql meta-commands (\restrict), so the test
# restores it into a schema of its own with one simple-protocol query.
db=$(echo "$admin" | sed 's#/[^/?]*\(?.*\)\{0,1\}$#/wearlink_fixture\1#')
psql "$admin" -q -c 'DROP DATABASE IF EXISTS wearlink_fixture' -c 'CREATE DATABASE wearlink_fixture'
WEARLINK_FIXTURE_DATABASE_URL=$db "$work/wearlink" demo --once --days 1 --backfill-days 5 --addr 127.0.0.1:0 --data "$work/pg"
out=$repo/internal/store/postgres/testdata/e011a99
mkdir -p "$out"
pg_dump "$db" --inserts --no-owner --no-privileges --no-comments -n public |
	grep -v "^SELECT pg_catalog.set_config('search_path', '', false);" |
	grep -v '^CREATE SCHEMA public;' |
	grep -v '^\\' |
	sed -e '/^INSERT INTO /!s/public\.//g' -e 's/^INSERT INTO public\./INSERT INTO /' |
	gzip -9 > "$out/dump.sql.gz"
cp "$work/pg/secret.key" "$out/secret.key"
psql "$admin" -q -c 'DROP DATABASE wearlink_fixture'
