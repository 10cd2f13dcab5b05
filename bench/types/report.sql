-- bench/types/report.sql: medians, ratios and goals, as a Markdown table.
--
-- ratio = timestamptz time / globalsync time, so > 1 means globalsync is
-- faster.  For input and output the time of the bare table scan (the
-- "baseline" query, same table, no cast) is subtracted first, so the ratio
-- compares the conversion functions themselves; "end-to-end" is the ratio
-- of the whole queries.  Comparison, sort and index build are whole
-- queries.  The ms columns are medians over the runs; each ratio is the
-- median of the per-repetition ratios.

\set ON_ERROR_STOP on

CREATE TEMP TABLE report_rows (
    ord       int,
    operation text,
    tz        text,
    gs        text,
    tz_base   text,
    gs_base   text,
    goal      text,
    goal_min  float8
);
INSERT INTO report_rows VALUES
(1,  'ist input: offset `2025-10-10 09:30:00+05:30`',       'in_offset_tz', 'in_offset_ist', 'in_offset_base', 'in_offset_base', '>= 0.80x', 0.80),
(2,  'ist input: IANA `2025-10-10 09:30:00 Asia/Tokyo`',    'in_iana_tz',   'in_iana_ist',   'in_iana_base',   'in_iana_base',   '>= 0.80x', 0.80),
(3,  'ist input: abbreviation `2025-10-10 09:30:00 EST`',   'in_abbr_tz',   'in_abbr_ist',   'in_abbr_base',   'in_abbr_base',   '>= 0.80x', 0.80),
(4,  'ist output (timestamptz: TimeZone Asia/Kolkata)',     'out_kol_tz',   'out_kol_ist',   'out_base_tz',    'out_base_ist',   '>= 0.80x', 0.80),
(5,  'ist output (timestamptz: TimeZone UTC)',              'out_utc_tz',   'out_utc_ist',   'out_base_tz',    'out_base_ist',   '>= 0.80x', 0.80),
(6,  'ist comparison: count(*) WHERE a < b',                'cmp_tz',       'cmp_ist',       NULL, NULL,                         'within 5%', 0.95),
(7,  'ist sort: ORDER BY, in memory',                       'sort_tz',      'sort_ist',      NULL, NULL,                         'within 5%', 0.95),
(8,  'ist CREATE INDEX (btree)',                            'index_tz',     'index_ist',     NULL, NULL,                         'within 5%', 0.95),
(9,  'zoned input: offset',                                 'in_offset_tz', 'in_offset_zoned', 'in_offset_base', 'in_offset_base', '>= 0.80x', 0.80),
(10, 'zoned input: IANA',                                   'in_iana_tz',   'in_iana_zoned', 'in_iana_base',   'in_iana_base',   '>= 0.80x', 0.80),
(11, 'zoned input: abbreviation',                           'in_abbr_tz',   'in_abbr_zoned', 'in_abbr_base',   'in_abbr_base',   '>= 0.80x', 0.80),
(12, 'zoned output (timestamptz: TimeZone Asia/Kolkata)',   'out_kol_tz',   'out_kol_zoned', 'out_base_tz',    'out_base_zoned', '>= 0.80x', 0.80),
(13, 'zoned comparison: count(*) WHERE a < b',              'cmp_tz',       'cmp_zoned',     NULL, NULL,                         'within 5%', 0.95),
(14, 'zoned sort: ORDER BY, in memory',                     'sort_tz',      'sort_zoned',    NULL, NULL,                         'within 5%', 0.95),
(15, 'zoned CREATE INDEX (btree)',                          'index_tz',     'index_zoned',   NULL, NULL,                         'within 5%', 0.95);

CREATE TEMP TABLE med AS
SELECT label,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms,
       (max(ms) - min(ms)) / nullif(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), 0) AS spread,
       count(*) AS runs
FROM bench.sample
GROUP BY label;

-- Ratios are taken per repetition, then the median: the queries of one
-- repetition run back to back, so a burst of load on the machine moves both
-- sides of a ratio and cancels out.
CREATE TEMP TABLE per_rep AS
SELECT r.ord, t.rep,
       (t.ms - coalesce(tb.ms, 0)) / nullif(g.ms - coalesce(gb.ms, 0), 0) AS ratio,
       t.ms / nullif(g.ms, 0) AS ratio_e2e
FROM report_rows r
JOIN bench.sample t ON t.label = r.tz
JOIN bench.sample g ON g.label = r.gs AND g.rep = t.rep
LEFT JOIN bench.sample tb ON tb.label = r.tz_base AND tb.rep = t.rep
LEFT JOIN bench.sample gb ON gb.label = r.gs_base AND gb.rep = t.rep;

CREATE TEMP TABLE result AS
SELECT r.ord, r.operation, r.goal, r.goal_min,
       t.ms - coalesce(tb.ms, 0) AS tz_ms,
       g.ms - coalesce(gb.ms, 0) AS gs_ms,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY p.ratio)
          FROM per_rep p WHERE p.ord = r.ord) AS ratio,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY p.ratio_e2e)
          FROM per_rep p WHERE p.ord = r.ord) AS ratio_e2e,
       greatest(t.spread, g.spread) AS spread
FROM report_rows r
JOIN med t ON t.label = r.tz
JOIN med g ON g.label = r.gs
LEFT JOIN med tb ON tb.label = r.tz_base
LEFT JOIN med gb ON gb.label = r.gs_base;

\pset format unaligned
\pset tuples_only on
\pset footer off

SELECT '| operation | timestamptz ms | globalsync ms | ratio | end-to-end ratio | goal | met |'
UNION ALL
SELECT '|---|---:|---:|---:|---:|---|---|';
SELECT format('| %s | %s | %s | %s | %s | %s | %s |',
              operation,
              to_char(tz_ms, 'FM999990.0'),
              to_char(gs_ms, 'FM999990.0'),
              to_char(ratio, 'FM990.00') || 'x',
              to_char(ratio_e2e, 'FM990.00') || 'x',
              goal,
              CASE WHEN ratio >= goal_min THEN 'yes' ELSE '**no**' END)
FROM result ORDER BY ord;

SELECT '';
SELECT 'Scan baselines subtracted from input/output rows (median ms): '
       || string_agg(label || ' ' || to_char(ms, 'FM999990.0'), ', ' ORDER BY label)
FROM med WHERE label LIKE '%base%';
SELECT 'Largest run-to-run spread (max-min)/median of any timed query: '
       || to_char(100 * max(spread), 'FM990.0') || '% (' || (SELECT label FROM med ORDER BY spread DESC LIMIT 1)
       || '); runs per query: ' || min(runs)
FROM med;
