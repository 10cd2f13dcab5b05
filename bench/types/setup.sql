-- bench/types/setup.sql: the data of the types benchmark.
--
-- Run by bench/types/run.sh with psql variable n (number of values).
-- Everything lives in schema bench, in a database the script made for it.
--
-- The instants come from a fixed-seed random(), so every run and every type
-- sees the same values.  Text inputs are materialised first, so that the
-- timed queries only scan a table and cast; the scan alone is timed too
-- (the "baseline") and subtracted from the input and output figures.

\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';

CREATE EXTENSION IF NOT EXISTS globalsync;
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;

-- Zones the literals are written in.  Abbreviations: those that mean the
-- same fixed offset to globalsync and to the server's "Default"
-- timezone_abbreviations set, so that one literal names one instant for
-- both types (not IST, which Default reads as Israel, nor MSK, SGT, ART,
-- which Default resolves through zone history).
CREATE TABLE bench.zones (kind text, k int, zone text, PRIMARY KEY (kind, k));
INSERT INTO bench.zones
SELECT 'iana', o - 1, z
FROM unnest(ARRAY['America/New_York', 'America/Chicago', 'America/Denver',
                  'America/Los_Angeles', 'America/Sao_Paulo', 'Europe/London',
                  'Europe/Berlin', 'Europe/Moscow', 'Africa/Lagos', 'Asia/Dubai',
                  'Asia/Kolkata', 'Asia/Kathmandu', 'Asia/Singapore', 'Asia/Tokyo',
                  'Australia/Sydney', 'Pacific/Auckland']) WITH ORDINALITY AS u(z, o);
INSERT INTO bench.zones
SELECT 'abbrev', o - 1, z
FROM unnest(ARRAY['EST', 'EDT', 'CST', 'CDT', 'MST', 'MDT', 'PST', 'PDT', 'GMT',
                  'UTC', 'CET', 'CEST', 'EET', 'EEST', 'JST', 'AEST', 'AEDT',
                  'NZST', 'NZDT']) WITH ORDINALITY AS u(z, o);
INSERT INTO bench.zones
SELECT 'offset', o - 1, z
FROM unnest(ARRAY['+05:30', '-04:00', '+00:00', '+05:45', '-03:00', '+09:00',
                  '+01:00', '-08:00', '+10:00', '-05:00', '+12:45', '+03:00']) WITH ORDINALITY AS u(z, o);

-- n instants at whole seconds between 1990 and 2035, fixed seed.
SELECT setseed(0.2025) \gset
CREATE TABLE bench.src AS
SELECT i,
       to_timestamp(floor(631152000 + random() * 1420070400)) AS a,
       to_timestamp(floor(631152000 + random() * 1420070400)) AS b
FROM generate_series(1, :n) AS i;

-- Text inputs, one table per literal shape.  Both types read the very same
-- text: timestamptz accepts all three shapes.
CREATE TABLE bench.in_offset (s text NOT NULL);
INSERT INTO bench.in_offset
SELECT to_char((s.a AT TIME ZONE 'UTC') + z.zone::interval, 'YYYY-MM-DD HH24:MI:SS') || z.zone
FROM bench.src s
JOIN bench.zones z ON z.kind = 'offset' AND z.k = s.i % 12
ORDER BY s.i;

CREATE TABLE bench.in_iana (s text NOT NULL);
INSERT INTO bench.in_iana
SELECT to_char(s.a AT TIME ZONE z.zone, 'YYYY-MM-DD HH24:MI:SS') || ' ' || z.zone
FROM bench.src s
JOIN bench.zones z ON z.kind = 'iana' AND z.k = s.i % 16
ORDER BY s.i;

CREATE TABLE bench.in_abbr (s text NOT NULL);
INSERT INTO bench.in_abbr
SELECT to_char(s.a AT TIME ZONE z.zone, 'YYYY-MM-DD HH24:MI:SS') || ' ' || z.zone
FROM bench.src s
JOIN bench.zones z ON z.kind = 'abbrev' AND z.k = s.i % 19
ORDER BY s.i;

-- Typed values: the same instants in three tables of the same shape.
CREATE TABLE bench.v_tz (a timestamptz NOT NULL, b timestamptz NOT NULL);
INSERT INTO bench.v_tz SELECT a, b FROM bench.src ORDER BY i;

CREATE TABLE bench.v_ist (a globalsync.ist_timestamp NOT NULL,
                          b globalsync.ist_timestamp NOT NULL);
INSERT INTO bench.v_ist
SELECT a::globalsync.ist_timestamp, b::globalsync.ist_timestamp
FROM bench.src ORDER BY i;

-- zoned values: a in the zone of the IANA literal of the same row, b in
-- another one.
CREATE TABLE bench.v_zoned (a globalsync.zoned_timestamp NOT NULL,
                            b globalsync.zoned_timestamp NOT NULL);
INSERT INTO bench.v_zoned
SELECT globalsync.to_zoned(s.a, za.zone), globalsync.to_zoned(s.b, zb.zone)
FROM bench.src s
JOIN bench.zones za ON za.kind = 'iana' AND za.k = s.i % 16
JOIN bench.zones zb ON zb.kind = 'iana' AND zb.k = (s.i + 7) % 16
ORDER BY s.i;

VACUUM (FREEZE, ANALYZE) bench.in_offset, bench.in_iana, bench.in_abbr,
    bench.v_tz, bench.v_ist, bench.v_zoned;

-- Checks (not timed): both types read the same instants from the same
-- text, and print what they should.  Lines are "check<TAB>name<TAB>count".
-- A local time repeated by a fall-back transition is the one expected
-- difference: timestamptz_in takes the later instant, globalsync the
-- earlier (RFC 9557).
SELECT 'check', 'rows per table', count(*) FROM bench.v_tz;
SELECT 'check', 'offset literals: ist_timestamp <> timestamptz',
       count(*) FILTER (WHERE s::globalsync.ist_timestamp::timestamptz <> s::timestamptz)
FROM bench.in_offset;
SELECT 'check', 'offset literals: zoned_timestamp <> timestamptz',
       count(*) FILTER (WHERE globalsync.zoned_instant(s::globalsync.zoned_timestamp) <> s::timestamptz)
FROM bench.in_offset;
SELECT 'check', 'IANA literals: ist_timestamp <> timestamptz (repeated local times)',
       count(*) FILTER (WHERE s::globalsync.ist_timestamp::timestamptz <> s::timestamptz)
FROM bench.in_iana;
SELECT 'check', 'IANA literals: zoned_timestamp <> ist_timestamp',
       count(*) FILTER (WHERE globalsync.zoned_instant(s::globalsync.zoned_timestamp)
                              <> s::globalsync.ist_timestamp::timestamptz)
FROM bench.in_iana;
SELECT 'check', 'abbreviation literals: ist_timestamp <> timestamptz',
       count(*) FILTER (WHERE s::globalsync.ist_timestamp::timestamptz <> s::timestamptz)
FROM bench.in_abbr;
SELECT 'check', 'abbreviation literals: zoned_timestamp <> timestamptz',
       count(*) FILTER (WHERE globalsync.zoned_instant(s::globalsync.zoned_timestamp) <> s::timestamptz)
FROM bench.in_abbr;
SET TimeZone = 'Asia/Kolkata';
SELECT 'check', 'output: ist_timestamp::text <> timestamptz::text (TimeZone Asia/Kolkata)',
       count(*) FILTER (WHERE a::globalsync.ist_timestamp::text <> a::text)
FROM bench.v_tz;
SELECT 'check', 'output: zoned_timestamp text does not read back',
       count(*) FILTER (WHERE a::text::globalsync.zoned_timestamp <> a)
FROM bench.v_zoned;
