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
