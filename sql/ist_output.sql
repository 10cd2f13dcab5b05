--
-- ist_timestamp output: always IST, exactly timestamptz's text under
-- DateStyle ISO and TimeZone Asia/Kolkata, whatever the session says
--
SET search_path = public, globalsync;

CREATE TABLE out_samples (t timestamptz);
SELECT setseed(0.42);
-- the whole range, with microseconds
INSERT INTO out_samples
SELECT timestamptz '4713-01-01 00:00:00+00 BC' + random() * interval '298000 years'
  FROM generate_series(1, 20000);
-- dense around Kolkata's history (LMT, Madras time, the +06:30 war time)
INSERT INTO out_samples
SELECT timestamptz '1850-01-01 00:00:00+00' + random() * interval '120 years'
  FROM generate_series(1, 20000);
-- today's range
INSERT INTO out_samples
SELECT timestamptz '2020-01-01 00:00:00+00' + random() * interval '15 years'
  FROM generate_series(1, 20000);
INSERT INTO out_samples VALUES
    ('2025-10-10 14:30:00+00'), ('2027-05-27 07:49:08.852315+00'),
    ('1945-10-14 17:30:00+00'), ('1945-10-14 17:29:59.999999+00'),
    ('4714-11-24 00:00:00+00 BC'), ('294276-12-31 23:59:59.999999+00'),
    ('2000-01-01 00:00:00+00'), ('1999-12-31 18:29:59.5+00'),
    ('infinity'), ('-infinity');

-- the reference: timestamptz under ISO / Asia/Kolkata
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'Asia/Kolkata';
CREATE TABLE out_reference AS SELECT t, t::text AS reference FROM out_samples;

-- any other session setting must not change ist_timestamp's text
SET DateStyle = 'SQL, DMY';
SET TimeZone = 'America/Los_Angeles';
SELECT count(*) AS samples,
       count(*) FILTER (WHERE t::ist_timestamp::text <> reference) AS text_mismatches
  FROM out_reference;
SET DateStyle = 'Postgres, MDY';
SET TimeZone = 'Pacific/Chatham';
SELECT count(*) FILTER (WHERE t::ist_timestamp::text <> reference) AS text_mismatches,
       count(*) FILTER (WHERE t::ist_timestamp::text::ist_timestamp <> t::ist_timestamp) AS roundtrip_mismatches
  FROM out_reference;

-- a few shown
SELECT t::ist_timestamp AS ist FROM out_samples WHERE t IN (
    '2025-10-10 14:30:00+00', '2027-05-27 07:49:08.852315+00', '1945-10-14 17:30:00+00',
    '1945-10-14 17:29:59.999999+00', '4714-11-24 00:00:00+00 BC',
    '294276-12-31 23:59:59.999999+00', '1999-12-31 18:29:59.5+00', 'infinity', '-infinity')
  ORDER BY t;

-- historic IST wall times read back through the same rules
SELECT '1943-05-01 12:00'::ist_timestamp AS war_time,
       '1850-01-01 12:00'::ist_timestamp AS local_mean_time,
       '1900-06-01 12:00'::ist_timestamp AS madras_time;

-- in composite, array and json output too
SELECT ROW('2025-10-10 09:30:00 EST'::ist_timestamp) AS rec,
       ARRAY['2025-10-10 09:30:00 EST', '2025-10-10 09:30:00 JST']::ist_timestamp[] AS arr,
       to_jsonb('2025-10-10 09:30:00 EST'::ist_timestamp) AS json;

RESET DateStyle;
RESET TimeZone;
DROP TABLE out_samples, out_reference;
