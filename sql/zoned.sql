--
-- zoned_timestamp: an instant plus the zone it was recorded in
--
SET search_path = public, globalsync;
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'UTC';

-- text form: local wall time then zone, canonical
SELECT '2025-10-10 09:30:00 America/New_York'::zoned_timestamp AS iana,
       '2025-10-10 09:30:00 america/new_york'::zoned_timestamp AS folded,
       '2025-10-10 09:30:00 est'::zoned_timestamp AS abbrev,
       '2025-10-10T09:30:00-04:00'::zoned_timestamp AS offset_only,
       '2025-10-10 09:30:00+0545'::zoned_timestamp AS offset_0545,
       '2025-10-10T09:30:00Z'::zoned_timestamp AS zulu;
SELECT '2025-10-10T09:30:00.25-04:00[America/New_York]'::zoned_timestamp AS bracket,
       '2025-10-10 09:30:00 Asia/Calcutta'::zoned_timestamp AS link_name,
       'Oct 10 2025 9:30 PM Asia/Tokyo'::zoned_timestamp AS month_name;

-- a wall time repeated by fall-back prints its offset, so text reads back exactly
SELECT z, z::text::zoned_timestamp = z AS reads_back, to_ist(z) AS ist
  FROM (VALUES ('2025-11-02 01:30:00-04 America/New_York'::zoned_timestamp),
               ('2025-11-02 01:30:00-05 America/New_York'),
               ('2025-11-02 00:30:00 America/New_York'),
               ('2025-11-02 02:30:00 America/New_York'),
               ('2025-04-06 02:30:00+13 Pacific/Auckland'),
               ('2025-04-06 02:30:00+12 Pacific/Auckland')) v(z);
-- the same instant in several zones; DST-correct wall times
SELECT zone, to_zoned('2025-07-01 12:00:00+00', zone) AS july, to_zoned('2025-01-01 12:00:00+00', zone) AS january
  FROM unnest(ARRAY['America/New_York', 'Europe/London', 'Asia/Kolkata', 'Asia/Kathmandu',
                    'Australia/Adelaide', 'Pacific/Chatham', 'EST', 'JST', '-03:30']) zone;

-- round trip over many instants and zones
SELECT setseed(0.7);
CREATE TABLE zoned_samples AS
SELECT to_zoned(timestamptz '1900-01-01 00:00+00' + random() * interval '200 years',
                (ARRAY['America/New_York','Europe/Berlin','Australia/Sydney','Pacific/Auckland',
                       'America/Santiago','Asia/Kolkata','EST','NZDT','+05:45','America/St_Johns'])[1 + (i % 10)]) AS z
  FROM generate_series(1, 20000) i;
SELECT count(*) AS samples,
       count(*) FILTER (WHERE z::text::zoned_timestamp <> z) AS text_roundtrip_mismatches,
       count(*) FILTER (WHERE make_zoned(local_time(z), zone_name(z)) <> z) AS local_roundtrip_mismatches,
       count(*) FILTER (WHERE local_time(z) <> (zoned_instant(z) AT TIME ZONE zone_name(z))
                        AND zone_name(z) LIKE '%/%') AS wall_time_differs_from_postgres
  FROM zoned_samples;
-- same under the reject policy (ambiguous wall times carry their offset)
SET globalsync.dst_policy = 'reject';
SELECT count(*) FILTER (WHERE z::text::zoned_timestamp <> z) AS text_roundtrip_mismatches FROM zoned_samples;
RESET globalsync.dst_policy;

-- accessors
SELECT local_time(z), zone_name(z), utc_offset(z), to_ist(z), zoned_instant(z),
       z::ist_timestamp AS cast_ist, z::timestamptz AS cast_tz
  FROM (VALUES ('2025-10-10 09:30:00 America/New_York'::zoned_timestamp),
               ('2025-01-10 09:30:00 America/New_York'),
               ('2025-10-10 09:30:00 Asia/Kathmandu'),
               ('2025-10-10 09:30:00 EST')) v(z);

-- equality and order: by instant first, then zone name
SELECT a, b, a = b AS eq, a < b AS lt, zoned_timestamp_cmp(a, b) AS cmp
  FROM (VALUES ('2025-10-10 09:30:00 EST'::zoned_timestamp, '2025-10-10 10:30:00 America/Chicago'::zoned_timestamp),
               ('2025-10-10 09:30:00 EST', '2025-10-10 09:30:00 EST'),
               ('2025-10-10 09:30:00 EST', '2025-10-10 14:30:00 UTC'),
               ('2025-10-10 09:30:00 EST', '2025-10-10 09:31:00 EST'),
               ('2025-10-10 09:30:00 America/New_York', '2025-10-10 09:30:00 america/NEW_YORK')) v(a, b);
SELECT z FROM (VALUES ('2025-10-10 09:30:00 JST'::zoned_timestamp), ('2025-10-10 09:30:00 EST'),
                      ('2025-10-10 14:30:00 UTC'), ('2025-10-10 10:30:00 America/Chicago'),
                      ('2025-10-10 09:30:00 IST')) v(z)
 ORDER BY z;

-- indexes and joins
CREATE INDEX zoned_samples_z ON zoned_samples (z);
CREATE INDEX zoned_samples_z_hash ON zoned_samples USING hash (z);
ANALYZE zoned_samples;
SET enable_seqscan = off; SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM zoned_samples WHERE z < '1900-06-01 00:00:00 UTC';
SELECT count(*) = (SELECT count(*) FROM zoned_samples WHERE to_ist(z) < '1900-06-01 00:00:00 UTC') AS index_agrees
  FROM zoned_samples WHERE z < '1900-06-01 00:00:00 UTC';
DROP INDEX zoned_samples_z;
EXPLAIN (COSTS OFF) SELECT * FROM zoned_samples WHERE z = '2025-10-10 09:30:00 EST';
RESET enable_seqscan; RESET enable_bitmapscan;
CREATE TABLE zoned_copy AS SELECT z FROM zoned_samples WHERE random() < 0.5;
ANALYZE zoned_copy;
SET enable_hashjoin = off; SET enable_nestloop = off;
SELECT count(*) = (SELECT count(*) FROM zoned_copy) AS merge_join_complete
  FROM zoned_samples s JOIN zoned_copy c ON s.z = c.z;
RESET enable_hashjoin; SET enable_mergejoin = off;
SELECT count(*) = (SELECT count(*) FROM zoned_copy) AS hash_join_complete
  FROM zoned_samples s JOIN zoned_copy c ON s.z = c.z;
RESET enable_mergejoin; RESET enable_nestloop;
SELECT count(*) AS distinct_values FROM (SELECT DISTINCT z FROM zoned_samples) d;
-- sorting (sort support with the instant as abbreviated key) agrees with
-- the definition: instant, then zone name
SELECT count(*) AS order_mismatches
  FROM (SELECT row_number() OVER (ORDER BY z) AS a,
               row_number() OVER (ORDER BY zoned_instant(z), zone_name(z) COLLATE "C") AS b
          FROM zoned_samples) s
 WHERE a <> b;

-- make_zoned / to_zoned
SELECT make_zoned('2025-10-10 09:30:00', 'Asia/Kathmandu') AS made,
       to_zoned('2025-10-10 14:30:00+00', 'asia/kathmandu') AS seen;

-- errors
SELECT '2025-10-10 09:30:00'::zoned_timestamp;
SELECT 'infinity America/New_York'::zoned_timestamp;
SELECT '2025-10-10 09:30:00 Moon/Base'::zoned_timestamp;
SELECT '2025-10-10 09:30:00-05 America/New_York'::zoned_timestamp;
SELECT '2025-13-01 09:30:00 UTC'::zoned_timestamp;
SELECT make_zoned('infinity', 'UTC');
SELECT to_zoned('-infinity', 'UTC');
SELECT make_zoned('2025-10-10 09:30:00', 'No/Such_Zone');
\set VERBOSITY sqlstate
SELECT '2025-10-10 09:30:00'::zoned_timestamp;
SELECT '2025-10-10 09:30:00 Moon/Base'::zoned_timestamp;
SELECT '2025-10-32 09:30:00 UTC'::zoned_timestamp;
\set VERBOSITY default

DROP TABLE zoned_samples, zoned_copy;
