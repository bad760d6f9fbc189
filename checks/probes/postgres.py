"""The database, asked directly: mean statement time over a window from `pg_stat_statements`.

`pg_stat_statements` keeps, per normalised statement, the number of `calls` and their
`total_exec_time` (ms) since its last reset. The mean over a window is
Σ Δtotal_exec_time / Σ Δcalls between a snapshot at its start and one at its end: the mean of
all statements executed in the window, weighted by how often each ran. Only the connected
database counts; utility statements (BEGIN, COMMIT, SET, SHOW...) and these probes' own
queries (marked `fin-infra-check`) are left out. A statement whose counters went backwards
(reset or evicted and re-added) counts from zero.

Visibility: without superuser or membership in `pg_read_all_stats`, a role sees only its own
statements in `pg_stat_statements` (other users' rows read `<insufficient privilege>` with no
`queryid`, PostgreSQL docs, "pg_stat_statements", F.32.1). Averaging what it sees would
average a harmless subset, so the probe refuses: `require_all_statements` names the grant
(`GRANT pg_read_all_stats TO <role>`), and a snapshot that still meets a hidden row fails.

Works against Supabase: the extension lives in the `extensions` schema there, so the view's
schema is looked up rather than assumed; prepared statements are off, so a transaction-mode
pooler (Supavisor/PgBouncer) works too. The DSN is never printed: reports show host, port and
database name only.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from checks.redact import credential_problem, redact_text, url_secrets

MARKER = "fin-infra-check"
UTILITY = (
    r"^\s*(begin|commit|rollback|abort|start\s+transaction|end|set|reset|show|discard|deallocate"
    r"|savepoint|release|listen|unlisten|notify)\M"
)


class PostgresProbeError(RuntimeError):
    """The database cannot be probed (connection, missing extension, permissions)."""


@dataclass(frozen=True)
class StatementSnapshot:
    time: datetime
    # queryid -> (calls, total_exec_time_ms)
    statements: dict[int, tuple[int, float]]


def describe_dsn(dsn: str) -> str:
    """postgresql://host:port/dbname: where the probe connects, without user or password."""
    if credential_problem(dsn):
        return "postgresql://(malformed DSN)"
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "postgresql://(unparseable DSN)"
    host = parts.get("host") or parts.get("hostaddr") or "localhost"
    port = parts.get("port") or "5432"
    return f"postgresql://{host}:{port}/{parts.get('dbname') or ''}"


def connect(dsn: str, timeout_seconds: float = 10.0) -> psycopg.Connection:
    """Connect with `dsn`; a malformed DSN is refused before libpq can quote parts of it back."""
    problem = credential_problem(dsn)
    if problem:
        raise PostgresProbeError(f"the database DSN is malformed: {problem} (DSN not shown)")
    try:
        connection = psycopg.connect(
            dsn, connect_timeout=max(1, int(timeout_seconds)), autocommit=True, prepare_threshold=None
        )
    except psycopg.Error as error:
        reason = redact_text(_safe(error), url_secrets(dsn))
        raise PostgresProbeError(f"cannot connect to {describe_dsn(dsn)}: {reason}") from None
    return connection


def _safe(error: BaseException) -> str:
    """The first line of a driver error (callers redact it: libpq quotes malformed DSN parts back)."""
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__


def statements_schema(connection: psycopg.Connection) -> str:
    row = connection.execute(
        f"/* {MARKER} */ SELECT n.nspname FROM pg_extension e "
        "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'"
    ).fetchone()
    if row is None:
        raise PostgresProbeError(
            "pg_stat_statements is not installed in this database: CREATE EXTENSION pg_stat_statements "
            "(it also needs shared_preload_libraries = 'pg_stat_statements'; on Supabase enable it "
            "under Database, Extensions)"
        )
    return str(row[0])


def grant_hint(connection: psycopg.Connection, role: str) -> str:
    plain = re.fullmatch(r"[a-z_][a-z0-9_$]*", role) is not None
    name = role if plain else sql.Identifier(role).as_string(connection)
    return (
        f"the role {role} sees only its own statements in pg_stat_statements (it is neither superuser nor "
        f"a member of pg_read_all_stats): GRANT pg_read_all_stats TO {name}"
    )


def require_all_statements(connection: psycopg.Connection) -> None:
    """Raise unless the connected role sees every user's statements (see the module docstring)."""
    row = connection.execute(
        f"/* {MARKER} */ SELECT current_user, r.rolsuper, pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') "
        "FROM pg_roles r WHERE r.rolname = current_user"
    ).fetchone()
    if row is None:
        raise PostgresProbeError("cannot read the connected role from pg_roles")
    role, superuser, reads_all = str(row[0]), bool(row[1]), bool(row[2])
    if not (superuser or reads_all):
        raise PostgresProbeError(grant_hint(connection, role))


def snapshot(connection: psycopg.Connection, schema: str) -> StatementSnapshot:
    query = sql.SQL(
        "/* " + MARKER + " */ SELECT s.queryid, sum(s.calls)::bigint, sum(s.total_exec_time)::float8 "
        "FROM {}.pg_stat_statements s "
        "WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND s.queryid IS NOT NULL AND s.query NOT LIKE {} AND s.query !~* {} "
        "GROUP BY s.queryid"
    ).format(sql.Identifier(schema), sql.Literal(f"%{MARKER}%"), sql.Literal(UTILITY))
    hidden = sql.SQL(
        "/* " + MARKER + " */ SELECT count(*) FROM {}.pg_stat_statements s WHERE s.queryid IS NULL "
        "AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ).format(sql.Identifier(schema))
    try:
        rows = connection.execute(query).fetchall()
        invisible = connection.execute(hidden).fetchone()
    except psycopg.Error as error:
        raise PostgresProbeError(f"cannot read pg_stat_statements: {_safe(error)}") from None
    if invisible and invisible[0]:
        role = connection.execute("SELECT current_user").fetchone()
        raise PostgresProbeError(grant_hint(connection, str(role[0]) if role else "<role>"))
    return StatementSnapshot(datetime.now(UTC), {int(q): (int(c), float(t)) for q, c, t in rows})


@dataclass(frozen=True)
class QueryTime:
    calls: int
    total_ms: float
    series: list[tuple[datetime, float]]

    @property
    def mean_ms(self) -> float | None:
        return self.total_ms / self.calls if self.calls else None


def _delta(before: StatementSnapshot, after: StatementSnapshot) -> tuple[int, float]:
    calls = 0
    total = 0.0
    for queryid, (end_calls, end_total) in after.statements.items():
        start_calls, start_total = before.statements.get(queryid, (0, 0.0))
        if end_calls < start_calls or end_total < start_total:
            start_calls, start_total = 0, 0.0
        calls += end_calls - start_calls
        total += end_total - start_total
    return calls, total


def query_time(snapshots: list[StatementSnapshot]) -> QueryTime:
    """Mean statement time between consecutive snapshots, summed over the whole window."""
    calls = 0
    total = 0.0
    series: list[tuple[datetime, float]] = []
    for before, after in itertools.pairwise(snapshots):
        d_calls, d_total = _delta(before, after)
        calls += d_calls
        total += d_total
        if d_calls:
            series.append((after.time, d_total / d_calls))
    return QueryTime(calls, total, series)
