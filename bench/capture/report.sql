-- bench/capture/report.sql: medians, ratios and goals from bench.sample,
-- as Markdown.  Run by bench/capture/run.sh with psql -At.
--
-- CPU us/txn: CPU time of the server's processes and pgbench during the
-- run per transaction (median); unlike TPS it hardly depends on what else
-- the machine is doing.  Other load: cores busy with anything else during
-- a run (the largest over the repetitions).
-- TPS: median over the repetitions of a configuration.  WAL bytes/txn:
-- median of (WAL insert position after - before) / transactions; every
-- transaction changes one row, so it is also WAL per event, and "added"
-- is that minus the no-trigger figure of the same operation.  Log
-- bytes/event: size of the log relations (heap, indexes, TOAST) after the
-- run divided by the events in them.

\set ON_ERROR_STOP on

CREATE TEMP TABLE cfg (config text PRIMARY KEY, ord int, label text);
INSERT INTO cfg VALUES
    ('none',       1, '(a) no trigger'),
    ('plpgsql',    2, '(b) PL/pgSQL to_jsonb audit'),
    ('pgq',        3, '(c) PgQ pgq.logutriga'),
    ('globalsync', 4, '(d) globalsync.track');

CREATE TEMP TABLE med AS
SELECT s.op, s.sync_commit, s.config,
       count(*) AS runs,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY s.tps) AS tps,
       min(s.tps) AS tps_min,
       max(s.tps) AS tps_max,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY s.wal_bytes / nullif(s.txns, 0)) AS wal,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY s.log_bytes::float8 / nullif(s.log_rows, 0)) AS log_per_event,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY s.cpu_seconds * 1e6 / nullif(s.txns, 0)) AS cpu_us,
       max(s.other_cores) AS other_max,
       sum(s.failed) AS failed
FROM bench.sample s
GROUP BY 1, 2, 3;

-- table 1: every configuration
SELECT '| configuration | operation | synchronous_commit | median TPS | min - max TPS | runs | CPU us/txn | WAL bytes/txn | added WAL bytes/event | log bytes/event | other load, cores (max) |';
SELECT '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|';
SELECT format('| %s | %s | %s | %s | %s - %s | %s | %s | %s | %s | %s | %s |',
              c.label, upper(m.op), m.sync_commit,
              to_char(m.tps, 'FM999999990'),
              to_char(m.tps_min, 'FM999999990'), to_char(m.tps_max, 'FM999999990'),
              m.runs || CASE WHEN m.failed > 0 THEN format(' (%s failed txns)', m.failed) ELSE '' END,
              coalesce(to_char(m.cpu_us, 'FM999990.0'), '-'),
              to_char(m.wal, 'FM999999990'),
              CASE WHEN m.config = 'none' THEN '-'
                   ELSE coalesce(to_char(m.wal - a.wal, 'FM999999990'), '?') END,
              coalesce(to_char(m.log_per_event, 'FM999999990'), '-'),
              coalesce(to_char(m.other_max, 'FM990.00'), '-'))
FROM med m
JOIN cfg c USING (config)
LEFT JOIN med a ON a.op = m.op AND a.sync_commit = m.sync_commit AND a.config = 'none'
ORDER BY m.op, m.sync_commit DESC, c.ord;

SELECT '';
-- table 2: ratios of median TPS
-- "paired": the ratio within each repetition (configurations run back to
-- back), then the median and range of those; less sensitive to other load
-- on the machine than the ratio of medians.
-- "by CPU": (a)'s CPU time per transaction over (d)'s, the throughput
-- ratio if the machine were all the benchmark's; other load on the machine
-- barely moves it.  Only with synchronous_commit off, where the runs are
-- CPU-bound (with it on they wait for the disk).
SELECT '| operation | synchronous_commit | (d)/(a) | (d)/(b) | (d)/(c) | (b)/(a) | (c)/(a) | (d)/(a) paired: median (min - max) | (d)/(a) by CPU/txn |';
SELECT '|---|---|---:|---:|---:|---:|---:|---:|---:|';
WITH r AS (
    SELECT op, sync_commit,
           max(tps) FILTER (WHERE config = 'none') AS a,
           max(tps) FILTER (WHERE config = 'plpgsql') AS b,
           max(tps) FILTER (WHERE config = 'pgq') AS c,
           max(tps) FILTER (WHERE config = 'globalsync') AS d,
           max(cpu_us) FILTER (WHERE config = 'none') / max(cpu_us) FILTER (WHERE config = 'globalsync') AS cpu_da
    FROM med GROUP BY 1, 2
), per_rep AS (
    SELECT op, sync_commit, rep,
           max(tps) FILTER (WHERE config = 'globalsync') / max(tps) FILTER (WHERE config = 'none') AS da
    FROM bench.sample GROUP BY 1, 2, 3
), paired AS (
    SELECT op, sync_commit,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY da) AS med, min(da) AS lo, max(da) AS hi
    FROM per_rep WHERE da IS NOT NULL GROUP BY 1, 2
)
SELECT format('| %s | %s | %s | %s | %s | %s | %s | %s | %s |', upper(r.op), r.sync_commit,
              coalesce(to_char(d / a, 'FM990.00') || 'x', '-'),
              coalesce(to_char(d / b, 'FM990.00') || 'x', '-'),
              coalesce(to_char(d / c, 'FM990.00') || 'x', '-'),
              coalesce(to_char(b / a, 'FM990.00') || 'x', '-'),
              coalesce(to_char(c / a, 'FM990.00') || 'x', '-'),
              coalesce(format('%sx (%s - %s)', to_char(p.med, 'FM990.00'), to_char(p.lo, 'FM990.00'),
                              to_char(p.hi, 'FM990.00')), '-'),
              CASE WHEN r.sync_commit = 'off' THEN coalesce(to_char(r.cpu_da, 'FM990.00') || 'x', '-') ELSE '-' END)
FROM r
LEFT JOIN paired p USING (op, sync_commit)
ORDER BY r.op, r.sync_commit DESC;

SELECT '';
-- goals: throughput with synchronous_commit off, added WAL per event
SELECT 'Goals (issue 3):';
SELECT '';
WITH r AS (
    SELECT op,
           max(tps) FILTER (WHERE config = 'none') AS a,
           max(tps) FILTER (WHERE config = 'globalsync') AS d,
           max(cpu_us) FILTER (WHERE config = 'none') / max(cpu_us) FILTER (WHERE config = 'globalsync') AS cpu_da
    FROM med WHERE sync_commit = 'off' GROUP BY 1
)
SELECT format('- %s throughput, synchronous_commit off: (d)/(a) = %s (ratio of median TPS; by CPU per transaction: %s), goal >= 0.80x: %s',
              upper(op), to_char(d / a, 'FM990.00') || 'x', coalesce(to_char(cpu_da, 'FM990.00') || 'x', '-'),
              CASE WHEN d / a >= 0.80 THEN format('met (by %s points)', to_char(100 * (d / a - 0.80), 'FM990'))
                   ELSE format('MISSED by %s points (%s TPS short of %s)',
                               to_char(100 * (0.80 - d / a), 'FM990'),
                               to_char(0.80 * a - d, 'FM999999990'), to_char(0.80 * a, 'FM999999990')) END)
FROM r WHERE a IS NOT NULL AND d IS NOT NULL
ORDER BY op;
WITH w AS (
    SELECT op,
           max(wal) FILTER (WHERE config = 'none') AS a,
           max(wal) FILTER (WHERE config = 'pgq') AS c,
           max(wal) FILTER (WHERE config = 'globalsync') AS d
    FROM med WHERE sync_commit = 'off' GROUP BY 1
)
SELECT format('- %s WAL added per event: globalsync %s bytes, PgQ %s bytes, goal <= PgQ: %s',
              upper(op), to_char(d - a, 'FM999999990'), to_char(c - a, 'FM999999990'),
              CASE WHEN d - a <= c - a THEN format('met (%s bytes less)', to_char(c - d, 'FM999999990'))
                   ELSE format('MISSED by %s bytes (%sx PgQ)', to_char(d - c, 'FM999999990'),
                               to_char((d - a) / nullif(c - a, 0), 'FM990.00')) END)
FROM w WHERE a IS NOT NULL AND c IS NOT NULL AND d IS NOT NULL
ORDER BY op;
