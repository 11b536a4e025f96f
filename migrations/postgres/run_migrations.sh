#!/usr/bin/env bash
# Applies the agentrace PostgreSQL migrations beside this script, in order,
# recording each in agent.schema_migrations: the same ledger `agentrace
# migrate` keeps, so the two can be used in either order.
set -euo pipefail

# "agentmig" in ASCII: the session advisory lock `agentrace migrate` holds too.
readonly MIGRATION_LOCK_KEY=7018690069354342759

usage() {
    cat <<'USAGE'
Usage: run_migrations.sh [--docker CONTAINER [--user USER] [--db DATABASE]]

Applies the migrations in this script's directory (NNN_description.sql) in
version order with psql -v ON_ERROR_STOP=1, and records each one (version,
file name, sha256 checksum) in agent.schema_migrations, the ledger that
`agentrace migrate` shares. Applied migrations are skipped, so a second run
does nothing. A migration whose file changed after it was applied is refused:
add a new migration instead of editing an applied one.

Connection:
  DATABASE_URL          passed to psql as the database (postgres://user@host:port/db),
                        else psql's usual PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD...
  --docker CONTAINER    run psql inside a container instead; each migration runs as
                          docker exec -i CONTAINER psql -v ON_ERROR_STOP=1 -U USER -d DATABASE < FILE
  --user USER           with --docker: the database user (default: $PGUSER, else postgres)
  --db DATABASE         with --docker: the database (default: $PGDATABASE, else postgres)
  -h, --help            show this help

Without --docker, the whole run is one psql session holding the advisory lock
that `agentrace migrate` takes, and each file commits together with its ledger
row, so concurrent runs are safe and a failed file leaves no trace. With
--docker, each file runs in its own session exactly as shown above and its
ledger row is written right after by a second `docker exec`; do not run it
beside another migrator.

Exit status: 0 when every migration is applied (including when there was
nothing to do), 1 otherwise.
USAGE
}

fail() {
    echo "run_migrations.sh: $*" >&2
    exit 1
}

container=""
docker_user="${PGUSER:-postgres}"
docker_database="${PGDATABASE:-postgres}"
user_given=false
database_given=false
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --docker) [[ $# -ge 2 ]] || fail "--docker needs a container name"; container="$2"; shift 2 ;;
        --docker=*) container="${1#*=}"; shift ;;
        --user) [[ $# -ge 2 ]] || fail "--user needs a user name"; docker_user="$2"; user_given=true; shift 2 ;;
        --user=*) docker_user="${1#*=}"; user_given=true; shift ;;
        --db) [[ $# -ge 2 ]] || fail "--db needs a database name"; docker_database="$2"; database_given=true; shift 2 ;;
        --db=*) docker_database="${1#*=}"; database_given=true; shift ;;
        *) fail "unknown argument: $1 (see --help)" ;;
    esac
done
[[ -n "$container" ]] || ! { $user_given || $database_given; } \
    || fail "--user and --db go with --docker; without it, use DATABASE_URL or PGUSER / PGDATABASE"

directory="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The same selection rule as the build script that embeds these files into
# the binary: NNN_ followed by a plain-ASCII description.
names=()
while IFS= read -r name; do
    [[ "$name" =~ ^[0-9]{3}_[A-Za-z0-9_.-]+\.sql$ ]] \
        || fail "$name: a migration file name may only use A-Z a-z 0-9 _ - ."
    names+=("$name")
done < <(
    shopt -s nullglob
    for path in "$directory"/[0-9][0-9][0-9]_*.sql; do printf '%s\n' "${path##*/}"; done | LC_ALL=C sort
)
[[ ${#names[@]} -gt 0 ]] || fail "no migrations (NNN_description.sql) found in $directory"
for ((i = 1; i < ${#names[@]}; i++)); do
    [[ "${names[i - 1]:0:3}" != "${names[i]:0:3}" ]] \
        || fail "migrations ${names[i - 1]} and ${names[i]} share version ${names[i]:0:3}; renumber one of them"
done

if [[ -n "$container" ]]; then
    migration_psql=(docker exec -i "$container" psql -v ON_ERROR_STOP=1 -U "$docker_user" -d "$docker_database")
    query_psql=(docker exec -i "$container" psql -X -q -A -t -v ON_ERROR_STOP=1 -U "$docker_user" -d "$docker_database")
else
    connection=()
    if [[ -n "${DATABASE_URL:-}" ]]; then connection=(-d "$DATABASE_URL"); fi
    migration_psql=(psql -X -q -v ON_ERROR_STOP=1 "${connection[@]}")
    query_psql=(psql -X -q -A -t -v ON_ERROR_STOP=1 "${connection[@]}")
fi

# SQL on stdin, tuples unaligned on stdout.
query() { "${query_psql[@]}"; }

sql_literal() { printf "'%s'" "${1//\'/\'\'}"; }

# Identical to the ledger `agentrace migrate` creates, and like it created
# only when missing, so that a run with nothing to do writes nothing.
create_ledger_sql() {
    cat <<'SQL'
SELECT to_regclass('agent.schema_migrations') IS NULL AS agentrace_ledger_missing \gset
\if :agentrace_ledger_missing
CREATE SCHEMA IF NOT EXISTS agent;

CREATE TABLE IF NOT EXISTS agent.schema_migrations (
    version    TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

COMMENT ON TABLE agent.schema_migrations IS
    'Applied migrations, one row per file of migrations/postgres; shared by agentrace migrate and run_migrations.sh.';
COMMENT ON COLUMN agent.schema_migrations.version IS
    'The three-digit prefix of the migration file name.';
COMMENT ON COLUMN agent.schema_migrations.checksum IS
    'sha256 (hex) of the file''s bytes when applied; a file that no longer matches is refused.';
\endif
SQL
}

changed_message() { # name checksum recorded
    echo "migration $1 was changed after it was applied (checksum $2, recorded $3); add a new migration instead of editing an applied one"
}

# Plan, reading only: which files are new, and is any applied one changed?
declare -A recorded=()
ledger_exists="$(echo "SELECT to_regclass('agent.schema_migrations') IS NOT NULL;" | query)" \
    || fail "could not reach the database (see psql's message above)"
if [[ "$ledger_exists" == "t" ]]; then
    while IFS='|' read -r version checksum; do
        [[ -n "$version" ]] && recorded["$version"]="$checksum"
    done < <(echo "SELECT version, checksum FROM agent.schema_migrations;" | query)
fi
pending=()
declare -A checksums=()
for name in "${names[@]}"; do
    checksum="$(sha256sum "$directory/$name" | cut -d' ' -f1)"
    checksums["$name"]="$checksum"
    version="${name:0:3}"
    if [[ -n "${recorded[$version]:-}" ]]; then
        [[ "${recorded[$version]}" == "$checksum" ]] || fail "$(changed_message "$name" "$checksum" "${recorded[$version]}")"
    else
        pending+=("$name")
    fi
done
if [[ ${#pending[@]} -eq 0 ]]; then
    echo "Nothing to apply: all ${#names[@]} migrations are already applied."
    exit 0
fi

if [[ -n "$container" ]]; then
    create_ledger_sql | query >/dev/null || fail "could not create the ledger agent.schema_migrations"
    for name in "${pending[@]}"; do
        echo "Applying $name"
        "${migration_psql[@]}" <"$directory/$name" || fail "migration $name failed (see psql's message above)"
        printf 'INSERT INTO agent.schema_migrations (version, name, checksum) VALUES (%s, %s, %s);\n' \
            "$(sql_literal "${name:0:3}")" "$(sql_literal "$name")" "$(sql_literal "${checksums[$name]}")" \
            | query >/dev/null || fail "migration $name was applied but could not be recorded in agent.schema_migrations"
    done
    echo "Applied ${#pending[@]} migration(s)."
    exit 0
fi

# One session: the lock is held from the first check to the last commit, and
# each file is re-checked under it, since another run may have applied it
# since the plan above.
apply_script() {
    echo "SELECT pg_advisory_lock($MIGRATION_LOCK_KEY) \\gset agentrace_lock_"
    # Quiets "schema agent already exists, skipping" and the like; warnings
    # and errors still show.
    echo "SET client_min_messages = warning;"
    create_ledger_sql
    for name in "${pending[@]}"; do
        local version checksum message
        version="$(sql_literal "${name:0:3}")"
        checksum="${checksums[$name]}"
        message="$(changed_message "$name" "$checksum" "%")"
        cat <<SQL
DO \$agentrace\$
BEGIN
    IF EXISTS (SELECT 1 FROM agent.schema_migrations WHERE version = $version AND checksum <> '$checksum') THEN
        RAISE EXCEPTION '$message', (SELECT checksum FROM agent.schema_migrations WHERE version = $version);
    END IF;
END
\$agentrace\$;
SELECT EXISTS (SELECT 1 FROM agent.schema_migrations WHERE version = $version) AS agentrace_applied \\gset
\\if :agentrace_applied
\\echo 'Skipped $name: another run applied it meanwhile.'
\\else
\\echo 'Applying $name'
BEGIN;
\\i $name
INSERT INTO agent.schema_migrations (version, name, checksum) VALUES ($version, '$name', '$checksum');
COMMIT;
\\endif
SQL
    done
}

(cd "$directory" && apply_script | "${migration_psql[@]}") || fail "migrations stopped at the first error (see psql's message above); nothing of the failed file was kept"
echo "Done: every migration is applied."
