-- scripts/demo.sql: what globalsync looks like to a user.
--
-- Run by scripts/demo.sh with psql in a fresh database where
-- CREATE EXTENSION globalsync has been run.  It creates facilities in 23
-- time zones (IANA names and the seed system's abbreviations), registers
-- patients in their facility's local time (some around DST transitions,
-- some in an explicitly given zone), and prints the views a user, an
-- administrator or a BI tool would read.  All names, phone numbers and
-- e-mail addresses are fictional.

\set ON_ERROR_STOP on
\set QUIET on
\pset null '-'
\pset footer off

\echo
\echo '######################################################################'
\echo '#  1. Facilities in 23 time zones                                    #'
\echo '######################################################################'
\echo
\echo 'globalsync.add_facility(name, timezone, location) accepts an IANA zone'
\echo '(with its DST rules), one of the seed system''s abbreviations (a fixed'
\echo 'offset) or a numeric offset, and returns the new facility id.'
\echo

SELECT count(globalsync.add_facility(f.name, f.zone, f.location)) AS facilities_created
  FROM (VALUES
    -- IANA zones: DST rules from the server's tz database
    ('Hudson Valley Community Clinic',  'America/New_York',    'New York, USA'),
    ('Pacific Heights Family Practice', 'America/Los_Angeles', 'San Francisco, USA'),
    ('Signal Hill Clinic',              'America/St_Johns',    'St. John''s, Canada'),
    ('Clínica Vila Mariana',            'America/Sao_Paulo',   'São Paulo, Brazil'),
    ('Thameside Health Centre',         'Europe/London',       'London, UK'),
    ('Westlands Medical Centre',        'Africa/Nairobi',      'Nairobi, Kenya'),
    ('Andheri General Hospital',        'Asia/Kolkata',        'Mumbai, India'),
    ('Bagmati Valley Clinic',           'Asia/Kathmandu',      'Lalitpur, Nepal'),
    ('Inya Lake Medical Centre',        'Asia/Yangon',         'Yangon, Myanmar'),
    ('Torrens River Medical',           'Australia/Adelaide',  'Adelaide, Australia'),
    ('Harbourside Health',              'Pacific/Auckland',    'Auckland, New Zealand'),
    ('Chatham Islands Health Centre',   'Pacific/Chatham',     'Waitangi, Chatham Islands'),
    -- the seed system's abbreviations: fixed offsets, no DST
    ('Kingston Harbour Clinic',         'EST',  'Kingston, Jamaica'),
    ('Adamstown Medical Post',          'PST',  'Adamstown, Pitcairn Islands'),
    ('Clínica Palermo',                 'ART',  'Buenos Aires, Argentina'),
    ('Osu Family Clinic',               'GMT',  'Accra, Ghana'),
    ('Hydra Polyclinic',                'CET',  'Algiers, Algeria'),
    ('Arbat Polyclinic',                'MSK',  'Moscow, Russia'),
    ('Jumeirah Health Centre',          'GST',  'Dubai, UAE'),
    ('Tiong Bahru Medical',             'SGT',  'Singapore'),
    ('Shinjuku Family Clinic',          'JST',  'Tokyo, Japan'),
    ('Brisbane Riverside Clinic',       'AEST', 'Brisbane, Australia'),
    ('Kaikoura Rural Clinic',           'NZST', 'Kaikoura, New Zealand')
  ) AS f(name, zone, location);

\echo
\echo 'globalsync.list_facilities(): ordered by UTC offset now'
SELECT facility_id, name, timezone, location, utc_offset, ist_offset
  FROM globalsync.list_facilities();

\echo
\echo '######################################################################'
\echo '#  2. Registering patients in local time                             #'
\echo '######################################################################'
\echo
\echo 'globalsync.register_patient(full_name, date_of_birth, contact_number,'
\echo '    email, registration_facility, local_time_zone, local_registration_time)'
\echo 'reads the local time in the facility''s zone (or in local_time_zone when'
\echo 'given; without a time it registers "now") and stores it as a'
\echo 'zoned_timestamp plus its IST instant.  Most of these patients came on one'
\echo 'screening day, 10 October 2025 (local time); a few on other dates, in an'
\echo 'explicit zone, or "now".'
\echo

SELECT count(r.*) AS patients_registered
  FROM (VALUES
    ('Hudson Valley Community Clinic',  'Emily Carter',        DATE '1987-04-12', '+1-212-555-0143',   'emily.carter@example.org',       NULL,   TIMESTAMP '2025-10-10 09:05:00'),
    ('Hudson Valley Community Clinic',  'Marcus Bell',         DATE '1962-11-30', '+1 (212) 555-0178', 'marcus.bell@example.org',        'EST',  TIMESTAMP '2025-02-03 16:40:00'),
    ('Hudson Valley Community Clinic',  'Rosa Delgado',        DATE '1999-06-21', '+1-212-555-0191',   'rosa.delgado@example.org',       NULL,   TIMESTAMP '2025-10-10 20:20:00'),
    ('Pacific Heights Family Practice', 'Daniel Nguyen',       DATE '1978-02-17', '+1-415-555-0102',   'daniel.nguyen@example.org',      NULL,   TIMESTAMP '2025-10-10 09:15:00'),
    ('Pacific Heights Family Practice', 'Hannah Brooks',       DATE '2003-09-08', '+1-415-555-0126',   'hannah.brooks@example.org',      'PDT',  TIMESTAMP '2025-10-10 14:30:00'),
    ('Signal Hill Clinic',              'Liam O''Reilly',      DATE '1971-03-02', '+1-709-555-0110',   'liam.oreilly@example.org',       NULL,   TIMESTAMP '2025-10-10 10:00:00'),
    ('Signal Hill Clinic',              'Chloe Pike',          DATE '1994-12-19', '+1-709-555-0157',   'chloe.pike@example.org',         NULL,   TIMESTAMP '2025-10-10 15:45:00'),
    ('Clínica Vila Mariana',            'Ana Beatriz Souza',   DATE '1985-05-25', '+55 11 5555-0134',  'ana.souza@example.org',          NULL,   TIMESTAMP '2025-10-10 08:30:00'),
    ('Clínica Vila Mariana',            'João Pereira',        DATE '1958-08-14', '+55 11 5555-0187',  'joao.pereira@example.org',       NULL,   TIMESTAMP '2025-10-10 09:30:00'),
    ('Thameside Health Centre',         'Oliver Hughes',       DATE '1990-01-31', '+44 20 7946 0018',  'oliver.hughes@example.org',      NULL,   TIMESTAMP '2025-10-10 09:00:00'),
    ('Thameside Health Centre',         'Priya Shah',          DATE '1982-10-05', '+44 20 7946 0342',  'priya.shah@example.org',         'GMT',  TIMESTAMP '2025-12-12 17:10:00'),
    ('Westlands Medical Centre',        'Wanjiru Kamau',       DATE '1996-07-07', '+254 20 555 0119',  'wanjiru.kamau@example.org',      NULL,   TIMESTAMP '2025-10-10 13:25:00'),
    ('Westlands Medical Centre',        'Otieno Mwangi',       DATE '1969-04-28', '+254 20 555 0164',  'otieno.mwangi@example.org',      NULL,   TIMESTAMP '2025-10-10 07:50:00'),
    ('Andheri General Hospital',        'Asha Rao',            DATE '1992-03-15', '+91 22 5555 0123',  'asha.rao@example.org',           NULL,   TIMESTAMP '2025-10-10 20:00:00'),
    ('Andheri General Hospital',        'Vikram Iyer',         DATE '1975-12-01', '+91 22 5555 0188',  'vikram.iyer@example.org',        'IST',  TIMESTAMP '2025-10-10 10:30:00'),
    ('Andheri General Hospital',        'Meera Kulkarni',      DATE '2010-02-09', '+91 98200 55501',   'meera.kulkarni@example.org',     NULL,   NULL),
    ('Bagmati Valley Clinic',           'Sita Gurung',         DATE '1988-09-23', '+977 1-5550142',    'sita.gurung@example.org',        NULL,   TIMESTAMP '2025-10-10 09:30:00'),
    ('Bagmati Valley Clinic',           'Ramesh Thapa',        DATE '1965-01-17', '+977 1-5550179',    'ramesh.thapa@example.org',       NULL,   TIMESTAMP '2025-10-10 12:00:00'),
    ('Inya Lake Medical Centre',        'Thandar Aung',        DATE '1993-11-11', '+95 1 555 0133',    'thandar.aung@example.org',       NULL,   TIMESTAMP '2025-10-10 08:45:00'),
    ('Inya Lake Medical Centre',        'Kyaw Zin Htet',       DATE '1980-06-30', '+95 1 555 0171',    'kyaw.htet@example.org',          NULL,   TIMESTAMP '2025-10-10 16:15:00'),
    ('Torrens River Medical',           'Jack Thompson',       DATE '1977-08-03', '+61 8 5550 0124',   'jack.thompson@example.org',      NULL,   TIMESTAMP '2025-10-10 10:10:00'),
    ('Torrens River Medical',           'Isla Mitchell',       DATE '2001-05-16', '+61 8 5550 0166',   'isla.mitchell@example.org',      NULL,   TIMESTAMP '2025-07-21 09:40:00'),
    ('Harbourside Health',              'Aroha Ngata',         DATE '1989-10-27', '+64 9 555 0137',    'aroha.ngata@example.org',        NULL,   TIMESTAMP '2025-10-10 11:00:00'),
    ('Harbourside Health',              'Samuel Tane',         DATE '1972-04-04', '+64 9 555 0182',    'samuel.tane@example.org',        'NZST', TIMESTAMP '2025-06-24 15:20:00'),
    ('Chatham Islands Health Centre',   'Grace Tuuta',         DATE '1983-02-14', '+64 3 555 0105',    'grace.tuuta@example.org',        NULL,   TIMESTAMP '2025-10-10 09:00:00'),
    ('Chatham Islands Health Centre',   'Henry Preece',        DATE '1955-09-19', '+64 3 555 0148',    'henry.preece@example.org',       NULL,   TIMESTAMP '2025-10-11 08:30:00'),
    ('Kingston Harbour Clinic',         'Tanisha Campbell',    DATE '1998-01-05', '+1-876-555-0114',   'tanisha.campbell@example.org',   NULL,   TIMESTAMP '2025-10-10 10:25:00'),
    ('Kingston Harbour Clinic',         'Desmond Clarke',      DATE '1964-07-22', '+1-876-555-0159',   'desmond.clarke@example.org',     NULL,   TIMESTAMP '2025-10-10 14:05:00'),
    ('Adamstown Medical Post',          'Mary Christian',      DATE '1979-03-29', '+64 9 555 0190',    'mary.christian@example.org',     NULL,   TIMESTAMP '2025-10-10 08:00:00'),
    ('Adamstown Medical Post',          'Thomas Young',        DATE '1950-12-24', '+64 9 555 0193',    'thomas.young@example.org',       NULL,   TIMESTAMP '2025-10-10 16:30:00'),
    ('Clínica Palermo',                 'Lucía Fernández',     DATE '1991-08-18', '+54 11 5555-0121',  'lucia.fernandez@example.org',    NULL,   TIMESTAMP '2025-10-10 09:50:00'),
    ('Clínica Palermo',                 'Mateo Gómez',         DATE '1986-05-02', '+54 11 5555-0176',  'mateo.gomez@example.org',        NULL,   TIMESTAMP '2025-10-10 18:15:00'),
    ('Osu Family Clinic',               'Kwame Mensah',        DATE '1984-06-06', '+233 30 255 0131',  'kwame.mensah@example.org',       NULL,   TIMESTAMP '2025-10-10 07:30:00'),
    ('Osu Family Clinic',               'Akosua Boateng',      DATE '2000-10-13', '+233 30 255 0172',  'akosua.boateng@example.org',     NULL,   TIMESTAMP '2025-10-10 14:00:00'),
    ('Hydra Polyclinic',                'Yacine Benali',       DATE '1973-01-26', '+213 21 55 01 27',  'yacine.benali@example.org',      NULL,   TIMESTAMP '2025-10-10 11:45:00'),
    ('Hydra Polyclinic',                'Lina Haddad',         DATE '1997-04-09', '+213 21 55 01 68',  'lina.haddad@example.org',        NULL,   TIMESTAMP '2025-10-10 10:20:00'),
    ('Arbat Polyclinic',                'Dmitri Volkov',       DATE '1968-02-08', '+7 495 555-01-35',  'dmitri.volkov@example.org',      NULL,   TIMESTAMP '2025-10-10 12:30:00'),
    ('Arbat Polyclinic',                'Yelena Sokolova',     DATE '1995-07-29', '+7 495 555-01-84',  'yelena.sokolova@example.org',    NULL,   TIMESTAMP '2025-10-10 09:05:00'),
    ('Jumeirah Health Centre',          'Fatima Al Mansoori',  DATE '1990-11-03', '+971 4 555 0129',   'fatima.almansoori@example.org',  NULL,   TIMESTAMP '2025-10-10 19:40:00'),
    ('Jumeirah Health Centre',          'Omar Haddad',         DATE '1981-09-14', '+971 4 555 0163',   'omar.haddad@example.org',        NULL,   TIMESTAMP '2025-10-10 08:15:00'),
    ('Tiong Bahru Medical',             'Wei Ling Tan',        DATE '1987-12-12', '+65 6555 0147',     'weiling.tan@example.org',        NULL,   TIMESTAMP '2025-10-10 10:35:00'),
    ('Tiong Bahru Medical',             'Arjun Pillai',        DATE '1976-03-21', '+65 6555 0185',     'arjun.pillai@example.org',       NULL,   TIMESTAMP '2025-10-10 15:55:00'),
    ('Shinjuku Family Clinic',          'Yuki Tanaka',         DATE '1993-06-01', '+81 3-5555-0116',   'yuki.tanaka@example.org',        NULL,   TIMESTAMP '2025-10-10 09:00:00'),
    ('Shinjuku Family Clinic',          'Haruto Sato',         DATE '1960-10-10', '+81 3-5555-0152',   'haruto.sato@example.org',        NULL,   TIMESTAMP '2025-10-11 00:30:00'),
    ('Brisbane Riverside Clinic',       'Charlotte Wilson',    DATE '1985-01-19', '+61 7 5550 0138',   'charlotte.wilson@example.org',   NULL,   TIMESTAMP '2025-10-10 13:15:00'),
    ('Brisbane Riverside Clinic',       'Noah Taylor',         DATE '2007-08-25', '+61 7 5550 0177',   'noah.taylor@example.org',        NULL,   NULL),
    ('Kaikoura Rural Clinic',           'Mere Parata',         DATE '1970-05-08', '+64 3 555 0161',    'mere.parata@example.org',        NULL,   TIMESTAMP '2025-10-10 10:00:00'),
    ('Kaikoura Rural Clinic',           'Ben Whitfield',       DATE '1988-12-02', '+64 3 555 0199',    'ben.whitfield@example.org',      NULL,   TIMESTAMP '2025-01-03 16:45:00')
  ) AS p(facility, full_name, dob, phone, email, zone, local_time)
  JOIN globalsync.facilities f ON f.name = p.facility
  CROSS JOIN LATERAL globalsync.register_patient(p.full_name, p.dob, p.phone, p.email,
                                                 f.facility_id, p.zone, p.local_time) AS r;

\echo
\echo 'Around DST transitions: a local time skipped by a spring-forward moves'
\echo 'forward by the gap; a local time that happens twice (fall-back) takes'
\echo 'the earlier of its two instants (RFC 9557 "compatible"; PostgreSQL''s own'
\echo 'timestamptz input takes the later one).  Set globalsync.dst_policy = reject'
\echo 'to make both an error instead.'
\echo

SELECT p.requested_local_time,
       r.registered_at,
       globalsync.utc_offset(r.registered_at) AS utc_offset,
       r.registered_at_ist,
       p.note
  FROM (VALUES
    ('Hudson Valley Community Clinic', 'Sophia Martinez', DATE '1993-08-11', '+1-212-555-0165', 'sophia.martinez@example.org',
     TIMESTAMP '2025-03-09 02:30:00', 'New York springs forward at 02:00: skipped'),
    ('Hudson Valley Community Clinic', 'Ethan Walker',    DATE '1967-05-30', '+1-212-555-0139', 'ethan.walker@example.org',
     TIMESTAMP '2025-11-02 01:30:00', 'New York falls back at 02:00: repeated'),
    ('Thameside Health Centre',        'Amelia Clarke',   DATE '2002-02-22', '+44 20 7946 0771', 'amelia.clarke@example.org',
     TIMESTAMP '2025-10-26 01:30:00', 'London falls back at 02:00: repeated'),
    ('Torrens River Medical',          'Lachlan Reid',    DATE '1984-11-07', '+61 8 5550 0181', 'lachlan.reid@example.org',
     TIMESTAMP '2025-10-05 02:30:00', 'Adelaide springs forward at 02:00: skipped'),
    ('Torrens River Medical',          'Zoe Harris',      DATE '1999-03-13', '+61 8 5550 0109', 'zoe.harris@example.org',
     TIMESTAMP '2025-04-06 02:30:00', 'Adelaide falls back at 03:00: repeated'),
    ('Harbourside Health',             'Nikau Walker',    DATE '2011-09-01', '+64 9 555 0115', 'nikau.walker@example.org',
     TIMESTAMP '2025-09-28 02:15:00', 'Auckland springs forward at 02:00: skipped')
  ) AS p(facility, full_name, dob, phone, email, requested_local_time, note)
  JOIN globalsync.facilities f ON f.name = p.facility
  CROSS JOIN LATERAL globalsync.register_patient(p.full_name, p.dob, p.phone, p.email,
                                                 f.facility_id, NULL, p.requested_local_time) AS r
 ORDER BY r.registered_at_ist;

\echo
\echo '######################################################################'
\echo '#  3. globalsync.health()                                            #'
\echo '######################################################################'
\echo
SELECT jsonb_pretty(globalsync.health()) AS health;

\echo
\echo '######################################################################'
\echo '#  4. Registrations: local time where it happened, and IST           #'
\echo '######################################################################'
\echo
\echo 'registered_at is a zoned_timestamp (local wall time + zone as recorded);'
\echo 'registered_at_ist is the same instant as an ist_timestamp (+05:30).'
\echo
SELECT r.patient_name,
       f.name AS facility,
       r.registered_at,
       r.registration_timezone AS zone,
       globalsync.utc_offset(r.registered_at) AS utc_offset,
       r.registered_at_ist
  FROM globalsync.patient_registrations r
  JOIN globalsync.facilities f USING (facility_id)
 ORDER BY r.registered_at_ist, r.patient_name;

\echo
\echo '######################################################################'
\echo '#  5. globalsync.facility_stats: per time zone and location          #'
\echo '######################################################################'
\echo
SELECT * FROM globalsync.facility_stats;

\echo
\echo '######################################################################'
\echo '#  6. globalsync.registration_calendar: per IST day and facility     #'
\echo '######################################################################'
\echo
\echo 'The IST day can differ from the local one: an afternoon or evening in the'
\echo 'Americas on 10 October is already 11 October in IST (Hudson Valley, Kingston,'
\echo 'Adamstown, Palermo...), while 00:30 on 11 October in Tokyo is still'
\echo '10 October in IST.'
\echo
SELECT * FROM globalsync.registration_calendar;

\echo
\echo '######################################################################'
\echo '#  7. globalsync.time_zones: abbreviations and the facilities'' zones #'
\echo '######################################################################'
\echo
SELECT * FROM globalsync.time_zones;

\echo
\echo '######################################################################'
\echo '#  8. globalsync.ist_offset(zone, at): offset relative to IST        #'
\echo '######################################################################'
\echo
SELECT z.zone,
       globalsync.ist_offset(z.zone, TIMESTAMPTZ '2025-01-15 12:00:00+00') AS "15 Jan 2025",
       globalsync.ist_offset(z.zone, TIMESTAMPTZ '2025-07-15 12:00:00+00') AS "15 Jul 2025",
       globalsync.ist_offset(z.zone) AS now
  FROM (VALUES ('EST'), ('America/New_York'), ('Europe/London'), ('Asia/Kathmandu'),
               ('Australia/Adelaide'), ('Pacific/Chatham'), ('+05:45')) AS z(zone);

\echo
\echo 'The same wall-clock time in three zones, as IST:'
SELECT globalsync.to_ist(TIMESTAMP '2025-10-10 09:30:00', 'America/New_York') AS "09:30 New York",
       globalsync.to_ist(TIMESTAMP '2025-10-10 09:30:00', 'EST')              AS "09:30 EST",
       globalsync.to_ist(TIMESTAMP '2025-10-10 09:30:00', 'Asia/Kathmandu')   AS "09:30 Kathmandu";

\echo
\echo '######################################################################'
\echo '#  9. sync to the embedded file target                               #'
\echo '######################################################################'
\echo
\echo 'A file target writes one NDJSON file per batch below'
\echo 'globalsync.file_target_dir (here: globalsync/ inside the data directory).'
\echo 'A realtime target (the default) receives every change committed after'
\echo 'it was created; a full sync first sends a snapshot of the tracked tables.'
\echo
SELECT globalsync.add_target('demo warehouse export', 'file', 'warehouse') AS target_id \gset
SELECT globalsync.add_target('demo Asia export', 'file', 'asia',
         jsonb_build_object('schedule', 'manual',
                            'facilities', (SELECT jsonb_agg(facility_id) FROM globalsync.facilities
                                            WHERE timezone::text LIKE 'Asia/%'))) AS asia_target \gset
SELECT target_id, name, kind, endpoint, options FROM globalsync.targets ORDER BY created_at;

\echo
\echo 'A full sync of everything registered so far, then a realtime change:'
SELECT globalsync.start_sync(:'target_id', mode => 'full') AS full_sync \gset
SELECT :'full_sync' AS sync_id, globalsync.wait_sync(:'full_sync', '60 seconds') AS status;

\echo
\echo 'globalsync.sync_progress shows running syncs live (8 steps, read from shared'
\echo 'memory); this small sync of the Asian facilities may be done already:'
SELECT globalsync.start_sync(:'asia_target', mode => 'full') AS asia_sync \gset
SELECT sync_id, target_name, operation_type, progress_bar, current_step,
       records_found, records_acknowledged
  FROM globalsync.sync_progress;
SELECT :'asia_sync' AS sync_id, globalsync.wait_sync(:'asia_sync', '60 seconds') AS status;
SELECT jsonb_pretty(globalsync.sync_status(:'asia_sync')) AS sync_status;

\echo
\echo 'A new registration reaches the realtime target within a tick:'
SELECT patient_id, registered_at, registered_at_ist
  FROM globalsync.register_patient('Demo Realtime', '1990-05-05', '+91 22 5555 0100', NULL,
        (SELECT facility_id FROM globalsync.facilities ORDER BY created_at LIMIT 1));
SELECT pg_sleep(2);

\echo
\echo 'globalsync.sync_history (newest first):'
SELECT sync_id, target_name, operation_type, status, record_count, records_failed,
       round(lag_seconds::numeric, 3) AS lag_s, round(duration_seconds::numeric, 3) AS duration_s
  FROM globalsync.sync_history;

\echo
\echo 'globalsync.target_health:'
SELECT name, state, breaker, consecutive_failures, pending_events, dead_letters, last_success_at
  FROM globalsync.target_health ORDER BY name;

\echo
\echo 'globalsync.lag_stats (per target, and per facility time zone):'
SELECT scope, target_name, timezone, events_delivered,
       round(p50_lag_seconds::numeric, 3) AS p50_s, round(p99_lag_seconds::numeric, 3) AS p99_s, pending_events
  FROM globalsync.lag_stats WHERE events_delivered > 0 ORDER BY scope DESC, target_name, timezone;

\echo
\echo 'globalsync.dashboard_overview:'
\x on
SELECT * FROM globalsync.dashboard_overview;
\x off

\echo
\echo 'Done.'
