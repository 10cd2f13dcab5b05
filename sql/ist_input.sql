--
-- ist_timestamp input: zones, abbreviations, offsets, specials, errors
--
SET search_path = public, globalsync;
SET DateStyle = 'ISO, YMD';

-- a bare literal is IST wall time
SELECT '2025-10-10 20:00:00'::ist_timestamp AS bare;
SELECT '2025-10-10'::ist_timestamp AS date_only;
SELECT '2025-10-10T20:00'::ist_timestamp AS iso_t;

-- the seed's examples
SELECT '2025-10-10 09:30:00 America/New_York'::ist_timestamp AS new_york_edt,
       '2025-10-10 09:30:00 EST'::ist_timestamp AS est_fixed,
       '2025-10-10T09:30:00-04:00'::ist_timestamp AS iso_offset,
       '2025-10-10 09:30:00+05:45'::ist_timestamp AS kathmandu_offset;

-- every abbreviation of globalsync's table, case-insensitive, fixed offsets
-- (EST is -05 in July as in January)
SELECT z AS abbrev,
       ('2025-07-01 12:00:00 ' || z)::ist_timestamp AS july,
       ('2025-01-01 12:00:00 ' || lower(z))::ist_timestamp AS january_lower
  FROM unnest(ARRAY['EST','EDT','CST','CDT','MST','MDT','PST','PDT','ART','GMT','UTC',
                    'CET','CEST','EET','EEST','MSK','GST','IST','SGT','JST','AEST','AEDT',
                    'NZST','NZDT']) AS z;

-- IST means India, whatever timezone_abbreviations says (its IST is Israel's)
SET timezone_abbreviations = 'Default';
SELECT '2025-10-10 12:00:00 IST'::ist_timestamp AS india;
SELECT '2025-10-10 12:00:00 IST'::timestamptz AT TIME ZONE 'Asia/Kolkata' AS postgres_reads_israel;
RESET timezone_abbreviations;

-- many IANA zones, both hemispheres, :30 and :45 offsets, case-insensitive names
SELECT z AS zone,
       ('2025-01-15 12:00:00 ' || z)::ist_timestamp AS january,
       ('2025-07-15 12:00:00 ' || z)::ist_timestamp AS july
  FROM unnest(ARRAY['America/New_York','America/Chicago','America/Denver','America/Los_Angeles',
                    'America/Sao_Paulo','America/Argentina/Buenos_Aires','America/St_Johns',
                    'Europe/London','Europe/Berlin','Europe/Moscow','Africa/Cairo','Africa/Lagos',
                    'Asia/Dubai','Asia/Kolkata','asia/calcutta','Asia/Kathmandu','Asia/Tehran',
                    'Asia/Yangon','Asia/Singapore','Asia/Tokyo','Australia/Adelaide',
                    'Australia/Darwin','Australia/Sydney','Australia/Eucla','Pacific/Auckland',
                    'Pacific/Chatham','Pacific/Kiritimati','Pacific/Pago_Pago','Etc/GMT+5','UTC']) AS z;

-- numeric offsets in their usual spellings
SELECT '2025-10-10 09:30:00+0545'::ist_timestamp AS hhmm,
       '2025-10-10 09:30:00 +05:45'::ist_timestamp AS spaced,
       '2025-10-10 09:30:00-03'::ist_timestamp AS hh,
       '2025-10-10T04:00:00Z'::ist_timestamp AS zulu,
       '2025-10-10 09:30:00 -09:30'::ist_timestamp AS marquesas;

-- RFC 9557 bracket form, and an offset together with a zone
SELECT '2025-10-10T09:30:00-04:00[America/New_York]'::ist_timestamp AS bracket,
       '2025-11-02 01:30:00-05 America/New_York'::ist_timestamp AS offset_picks_second;

-- fractional seconds
SELECT '2025-10-10 09:30:00.5 UTC'::ist_timestamp AS half,
       '2027-05-27 07:49:08.852315 UTC'::ist_timestamp AS micro,
       '2025-10-10 09:30:00.1234567 UTC'::ist_timestamp AS rounded;

-- more than six fractional digits round exactly as timestamptz input does
SELECT s, s::ist_timestamp = s::timestamptz AS same_as_timestamptz
  FROM unnest(ARRAY['2025-10-10 09:30:00.1234565+00', '2025-10-10 09:30:00.1234575+00',
                    '2025-10-10 09:30:00.0000005+00', '2025-10-10 23:59:59.9999999+00']) s;

-- other shapes go through PostgreSQL's parser, zone still ours
SELECT 'Oct 10 2025 09:30:00 America/New_York'::ist_timestamp AS month_name,
       '10 October 2025 9:30 PM EST'::ist_timestamp AS pm,
       '2025-10-10 9:30 am'::ist_timestamp AS bare_am;

-- specials
SELECT 'infinity'::ist_timestamp AS inf, '-infinity'::ist_timestamp AS ninf,
       '+Infinity'::ist_timestamp AS pinf, 'epoch'::ist_timestamp AS epoch;
SELECT 'now'::ist_timestamp = now() AS now_is_now;
SELECT ist_wall_time('today'::ist_timestamp)::time AS today_is_ist_midnight,
       'tomorrow'::ist_timestamp - 'today'::ist_timestamp AS one_day;

-- range limits
SELECT '4714-11-24 00:00:00+00 BC'::ist_timestamp AS earliest;
SELECT '294276-12-31 23:59:59.999999 UTC'::ist_timestamp AS latest;

-- errors: malformed literal (22007)
\set VERBOSITY default
SELECT 'not a timestamp'::ist_timestamp;
SELECT ''::ist_timestamp;
SELECT '2025-10-10 09:30:00 +05:30:00:00'::ist_timestamp;
SELECT '2025-10-10 09:30:00 UTC UTC'::ist_timestamp;
SELECT '2025-10-10 09:30:00 []'::ist_timestamp;
-- errors: unknown zone (22023)
SELECT '2025-10-10 09:30:00 Mars/Olympus_Mons'::ist_timestamp;
SELECT '2025-10-10 09:30:00 XYZ5'::ist_timestamp;
SELECT '2025-10-10 09:30:00 ../../etc/passwd'::ist_timestamp;
SELECT '2025-10-10 09:30:00 America/New_York/'::ist_timestamp;
-- errors: offset that the zone does not use then (22023)
SELECT '2025-10-10 09:30:00-05 America/New_York'::ist_timestamp;
-- errors: out of range fields and values (22008)
SELECT '2025-13-10 09:30:00 UTC'::ist_timestamp;
SELECT '2025-02-29 09:30:00 UTC'::ist_timestamp;
SELECT '2025-10-10 25:30:00 UTC'::ist_timestamp;
SELECT '2025-10-10 09:61:00 UTC'::ist_timestamp;
SELECT '2025-10-10 09:30:00+16:00'::ist_timestamp;
SELECT '294277-01-01 00:00:00 UTC'::ist_timestamp;
SELECT '4714-11-23 00:00:00+00 BC'::ist_timestamp;
-- SQLSTATEs
\set VERBOSITY sqlstate
SELECT 'garbage'::ist_timestamp;
SELECT '2025-10-10 09:30:00 Nowhere/Land'::ist_timestamp;
SELECT '2025-10-10 24:30:00 UTC'::ist_timestamp;
\set VERBOSITY default
