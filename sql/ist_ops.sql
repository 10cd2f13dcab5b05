--
-- ist_timestamp operators, arithmetic, casts, indexes, joins, binary I/O
--
SET search_path = public, globalsync;
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'America/Los_Angeles';

-- comparisons
SELECT a, b, a = b AS eq, a <> b AS ne, a < b AS lt, a <= b AS le, a > b AS gt, a >= b AS ge,
       ist_timestamp_cmp(a, b) AS cmp
  FROM (VALUES ('2025-10-10 09:30:00 America/New_York'::ist_timestamp, '2025-10-10 19:00:00'::ist_timestamp),
               ('2025-10-10 09:30:00 EST', '2025-10-10 09:30:00 America/New_York'),
               ('-infinity', '2025-01-01'),
               ('infinity', 'infinity')) v(a, b);

-- arithmetic on the IST calendar (no DST in IST, months as IST wall time)
SELECT '2025-01-31 20:00:00'::ist_timestamp + interval '1 month' AS plus_month,
       interval '1 day 2 hours' + '2025-10-10 20:00:00'::ist_timestamp AS interval_plus,
       '2025-03-01 00:30:00'::ist_timestamp - interval '1 day' AS minus_day,
       '2025-10-10 09:30:00 America/New_York'::ist_timestamp - '2025-10-10 09:30:00 Asia/Tokyo'::ist_timestamp AS diff,
       '2025-12-25 00:00:00'::ist_timestamp - '2025-10-10 12:00:00'::ist_timestamp AS diff_days;
-- the session TimeZone does not change IST arithmetic (Los Angeles springs forward here)
SELECT '2025-03-08 12:00:00'::ist_timestamp + interval '1 day' AS across_la_dst;
SELECT 'infinity'::ist_timestamp + interval '1 day' AS inf_plus;
SELECT '294276-12-31 00:00:00 UTC'::ist_timestamp + interval '1 month';

-- casts: timestamptz (same instant), timestamp (IST wall time), date
SELECT '2025-10-10 09:30:00 America/New_York'::ist_timestamp::timestamptz AS as_tz_in_la;
SELECT '2025-10-10 16:30:00+00'::timestamptz::ist_timestamp AS from_tz;
SELECT '2025-10-10 09:30:00 America/New_York'::ist_timestamp::timestamp AS ist_wall,
       '2025-10-10 19:00:00'::timestamp::ist_timestamp AS from_wall,
       ist_wall_time('2025-10-10 09:30:00 EST') AS ist_wall_time_fn,
       ist_timestamp('2025-10-10 20:00:00'::timestamp) AS ist_timestamp_fn;
SELECT ist_date('2025-10-10 18:45:00 UTC') AS ist_next_day,
       ist_date('2025-10-10 18:15:00 UTC') AS ist_same_day,
       ist_date('infinity') AS inf_date, ist_date('-infinity') AS ninf_date;
-- assignment casts into columns
CREATE TEMP TABLE cast_target (tz timestamptz, ts timestamp, it ist_timestamp);
INSERT INTO cast_target VALUES ('2025-10-10 09:30:00 EST'::ist_timestamp, '2025-10-10 09:30:00 EST'::ist_timestamp, now());
SELECT tz, ts, it IS NOT NULL AS it_assigned FROM cast_target;
-- implicit cast to timestamptz lets timestamptz functions and operators apply
SELECT '2025-10-10 09:30:00 EST'::ist_timestamp < now() AS past,
       date_part('epoch', '2025-10-10 09:30:00 EST'::ist_timestamp) AS epoch;

-- to_ist and ist_offset
SELECT to_ist('2025-10-10 09:30:00', 'EST') AS est, to_ist('2025-10-10 09:30:00', 'Asia/Kathmandu') AS ktm,
       to_ist('2025-10-10 09:30:00', '+05:45') AS plus0545, to_ist('infinity', 'UTC') AS inf;
SELECT ist_offset('EST') AS est, ist_offset('IST') AS ist, ist_offset('NZDT') AS nzdt,
       ist_offset('America/New_York', '2025-01-15 12:00+00') AS ny_winter,
       ist_offset('America/New_York', '2025-07-15 12:00+00') AS ny_summer,
       ist_offset('Asia/Kathmandu', '2025-07-15 12:00+00') AS kathmandu,
       ist_offset('Asia/Kolkata', '1943-01-01 00:00+00') AS kolkata_is_ist_in_1943;
SELECT to_ist('2025-10-10 09:30:00', 'Atlantis/Capital');
SELECT ist_offset('nowhere');

-- min / max aggregates keep the type
SELECT min(t), max(t)
  FROM (VALUES ('2025-10-10 09:30:00 EST'::ist_timestamp), ('2025-10-10 09:30:00 JST'), (NULL)) v(t);

-- btree index: index scans, sort order, uniqueness
CREATE TABLE ist_events (id int PRIMARY KEY, at ist_timestamp NOT NULL);
INSERT INTO ist_events
SELECT i, ('2025-01-01 00:00:00 UTC'::ist_timestamp) + (i * interval '7 minutes')
  FROM generate_series(1, 20000) i;
CREATE INDEX ist_events_at ON ist_events (at);
ANALYZE ist_events;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT id FROM ist_events WHERE at >= '2025-02-01 00:00:00 UTC' AND at < '2025-02-01 01:00:00 UTC';
SELECT id, at FROM ist_events WHERE at >= '2025-02-01 00:00:00 UTC' AND at < '2025-02-01 01:00:00 UTC' ORDER BY at;
EXPLAIN (COSTS OFF) SELECT id FROM ist_events ORDER BY at DESC LIMIT 3;
SELECT id, at FROM ist_events ORDER BY at DESC LIMIT 3;
RESET enable_seqscan;
CREATE UNIQUE INDEX ist_events_at_unique ON ist_events (at);
INSERT INTO ist_events VALUES (0, '2025-01-01 00:07:00 UTC');

-- hash index
CREATE INDEX ist_events_at_hash ON ist_events USING hash (at);
SET enable_seqscan = off; SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ist_events WHERE at = '2025-01-01 00:14:00 UTC';
DROP INDEX ist_events_at, ist_events_at_unique;
EXPLAIN (COSTS OFF) SELECT id FROM ist_events WHERE at = '2025-01-01 00:14:00 UTC';
SELECT id FROM ist_events WHERE at = '2025-01-01 00:14:00 UTC';
RESET enable_seqscan; RESET enable_bitmapscan;

-- merge join and hash join
CREATE TABLE ist_other AS SELECT id, at FROM ist_events WHERE id % 3 = 0;
ANALYZE ist_other;
SET enable_hashjoin = off; SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ist_events e JOIN ist_other o ON e.at = o.at;
SELECT count(*) FROM ist_events e JOIN ist_other o ON e.at = o.at;
RESET enable_hashjoin; SET enable_mergejoin = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ist_events e JOIN ist_other o ON e.at = o.at;
SELECT count(*) FROM ist_events e JOIN ist_other o ON e.at = o.at;
RESET enable_mergejoin; RESET enable_nestloop;
-- hash aggregate and DISTINCT
SELECT count(DISTINCT at) FROM (SELECT at FROM ist_events UNION ALL SELECT at FROM ist_other) s;

-- binary send/recv through COPY BINARY round trip
CREATE TABLE ist_copy (at ist_timestamp, z zoned_timestamp);
INSERT INTO ist_copy VALUES
    ('2025-10-10 09:30:00 America/New_York', '2025-10-10 09:30:00 America/New_York'),
    ('infinity', '2025-11-02 01:30:00-05 America/New_York'),
    ('-infinity', '2025-10-10 09:30:00 EST'),
    ('4714-11-24 00:00:00+00 BC', '2025-10-10 09:30:00+05:45'),
    (NULL, NULL);
\copy ist_copy TO 'results/ist_copy.bin' WITH (FORMAT binary)
CREATE TABLE ist_copy2 (LIKE ist_copy);
\copy ist_copy2 FROM 'results/ist_copy.bin' WITH (FORMAT binary)
SELECT at, z FROM ist_copy2;
SELECT count(*) AS identical FROM ist_copy a JOIN ist_copy2 b ON a.at = b.at AND a.z = b.z;
SELECT ist_timestamp_send('2025-10-10 20:00:00') = timestamptz_send('2025-10-10 20:00:00+05:30') AS same_wire_format;

-- the operators and aggregates are found without globalsync on the search_path:
-- a literal compared with an ist_timestamp column is an ist_timestamp (a bare
-- one is IST), not a timestamptz read in the session TimeZone
SET search_path = public;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ist_events WHERE at = '2025-01-01 05:44:00';
SELECT id FROM ist_events WHERE at = '2025-01-01 05:44:00';
SELECT pg_typeof(min(at)) AS min_type, pg_typeof(max(at) + interval '1 day') AS plus_type,
       pg_typeof(max(at) - min(at)) AS diff_type FROM ist_events;
RESET enable_seqscan;
SET search_path = public, globalsync;

DROP TABLE ist_events, ist_other, ist_copy, ist_copy2;
