--
-- DST: local times skipped by spring-forward move forward by the gap, local
-- times repeated by fall-back take the earlier instant (RFC 9557
-- 'compatible'); globalsync.dst_policy = 'reject' makes both errors.
--
SET search_path = public, globalsync;
SHOW globalsync.dst_policy;

-- northern hemisphere: New York, 2025-03-09 02:00 -> 03:00 and 2025-11-02 02:00 -> 01:00
SELECT '2025-03-09 01:59:59 America/New_York'::ist_timestamp AS before_gap,
       '2025-03-09 02:30:00 America/New_York'::ist_timestamp AS in_gap_is_0330_edt,
       '2025-03-09 03:30:00 America/New_York'::ist_timestamp AS after_gap;
SELECT '2025-11-02 01:30:00 America/New_York'::ist_timestamp AS overlap_earlier,
       '2025-11-02 01:30:00-04 America/New_York'::ist_timestamp AS explicit_edt,
       '2025-11-02 01:30:00-05 America/New_York'::ist_timestamp AS explicit_est;
-- PostgreSQL's own timestamptz takes the later instant for the repeated time
SELECT ('2025-11-02 01:30:00 America/New_York'::timestamptz)::ist_timestamp AS postgres_takes_later;

-- Europe: Berlin 2025-03-30 02:00 -> 03:00, 2025-10-26 03:00 -> 02:00
SELECT '2025-03-30 02:15:00 Europe/Berlin'::ist_timestamp AS berlin_gap,
       '2025-10-26 02:15:00 Europe/Berlin'::ist_timestamp AS berlin_overlap;
-- London, at midnight-ish hours
SELECT '2025-03-30 01:30:00 Europe/London'::ist_timestamp AS london_gap,
       '2025-10-26 01:30:00 Europe/London'::ist_timestamp AS london_overlap;

-- southern hemisphere: Sydney 2025-04-06 03:00 -> 02:00, 2025-10-05 02:00 -> 03:00
SELECT '2025-04-06 02:30:00 Australia/Sydney'::ist_timestamp AS sydney_overlap,
       '2025-10-05 02:30:00 Australia/Sydney'::ist_timestamp AS sydney_gap;
-- Adelaide (+09:30 / +10:30), half-hour zone with DST
SELECT '2025-04-06 02:30:00 Australia/Adelaide'::ist_timestamp AS adelaide_overlap,
       '2025-10-05 02:30:00 Australia/Adelaide'::ist_timestamp AS adelaide_gap;
-- Auckland 2025-04-06 03:00 -> 02:00, 2025-09-28 02:00 -> 03:00
SELECT '2025-04-06 02:30:00 Pacific/Auckland'::ist_timestamp AS auckland_overlap,
       '2025-09-28 02:30:00 Pacific/Auckland'::ist_timestamp AS auckland_gap;
-- Chatham (+12:45 / +13:45), 45-minute zone with DST, gap at 02:45
SELECT '2025-09-28 03:00:00 Pacific/Chatham'::ist_timestamp AS chatham_gap,
       '2025-04-06 03:00:00 Pacific/Chatham'::ist_timestamp AS chatham_overlap;
-- Lord Howe shifts by only 30 minutes
SELECT '2025-10-05 02:15:00 Australia/Lord_Howe'::ist_timestamp AS lord_howe_gap,
       '2025-04-06 01:45:00 Australia/Lord_Howe'::ist_timestamp AS lord_howe_overlap;
-- Santiago, southern hemisphere in the Americas, transition at midnight
SELECT '2025-09-07 00:30:00 America/Santiago'::ist_timestamp AS santiago_gap,
       '2025-04-05 23:30:00 America/Santiago'::ist_timestamp AS santiago_overlap;
-- a zone that changed its base offset without DST (Samoa skipped 2011-12-30)
SELECT '2011-12-30 12:00:00 Pacific/Apia'::ist_timestamp AS apia_skipped_day;

-- the same rules through to_ist and make_zoned
SELECT to_ist('2025-03-09 02:30:00', 'America/New_York') AS to_ist_gap,
       to_ist('2025-11-02 01:30:00', 'America/New_York') AS to_ist_overlap,
       make_zoned('2025-11-02 01:30:00', 'America/New_York') AS zoned_overlap,
       make_zoned('2025-03-09 02:30:00', 'America/New_York') AS zoned_gap;

-- fixed-offset abbreviations never have gaps or overlaps
SELECT '2025-03-09 02:30:00 EST'::ist_timestamp AS est, '2025-11-02 01:30:00 EDT'::ist_timestamp AS edt;

-- reject policy
SET globalsync.dst_policy = 'reject';
SELECT '2025-03-09 02:30:00 America/New_York'::ist_timestamp;
SELECT '2025-11-02 01:30:00 America/New_York'::ist_timestamp;
SELECT '2025-10-05 02:30:00 Australia/Sydney'::ist_timestamp;
SELECT '2025-04-06 02:30:00 Pacific/Auckland'::zoned_timestamp;
SELECT to_ist('2025-03-30 02:15:00', 'Europe/Berlin');
SELECT make_zoned('2025-10-26 02:15:00', 'Europe/Berlin');
-- unambiguous times and explicit offsets still work
SELECT '2025-11-02 01:30:00-05 America/New_York'::ist_timestamp AS explicit_ok,
       '2025-11-02 03:30:00 America/New_York'::ist_timestamp AS normal_ok;
\set VERBOSITY sqlstate
SELECT '2025-03-09 02:30:00 America/New_York'::ist_timestamp;
\set VERBOSITY default
SET globalsync.dst_policy = 'nonsense';
RESET globalsync.dst_policy;
SHOW globalsync.dst_policy;
