--
-- the data model: facilities, register_patient, views, health
--
SET search_path = public, globalsync;
\set SHOW_CONTEXT never
SET DateStyle = 'ISO, YMD';

-- errors whose text carries random ids are shown with the ids masked
CREATE FUNCTION pg_temp.expect_error(stmt text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '(FAC|PAT|REG)_[A-Z0-9]+', '\1_xxxxxxxx', 'g');
END
$f$;

-- facilities in many zones; ids are random, so tests look them up by name
CREATE TEMP TABLE fac AS
SELECT n AS name, z AS zone, l AS location, add_facility(n, z, l) AS id
  FROM (VALUES ('Mount Sinai Clinic', 'america/new_york', 'New York'),
               ('Lakeshore Health', 'America/Chicago', 'Chicago'),
               ('Pacific Care', 'PST', 'Los Angeles'),
               ('Hospital Italiano', 'America/Argentina/Buenos_Aires', 'Buenos Aires'),
               ('St Thomas Outpatients', 'Europe/London', 'London'),
               ('Charite Ambulanz', 'CET', 'Berlin'),
               ('Dubai Health Point', 'Asia/Dubai', 'Dubai'),
               ('AIIMS OPD', 'Asia/Kolkata', 'New Delhi'),
               ('Patan Hospital', 'Asia/Kathmandu', 'Lalitpur'),
               ('Raffles Medical', 'SGT', 'Singapore'),
               ('Tokyo Central Clinic', 'JST', 'Tokyo'),
               ('Royal Adelaide Clinic', 'Australia/Adelaide', 'Adelaide'),
               ('Auckland City Care', 'Pacific/Auckland', 'Auckland'),
               ('Chatham Islands Health', '+12:45', 'Waitangi')) v(n, z, l);
SELECT name, zone, id ~ '^FAC_[A-Z0-9]{8}$' AS id_ok FROM fac ORDER BY name;
SELECT name, timezone, location, is_active, last_sync_time IS NULL AS never_synced
  FROM facilities ORDER BY name;

-- facility errors
SELECT add_facility('', 'UTC');
SELECT add_facility('Nowhere Clinic', 'Mars/Olympus');
SELECT add_facility('Nowhere Clinic', NULL);
SELECT add_facility(repeat('x', 201), 'UTC');
SELECT add_facility('Mount Sinai Clinic', 'EST', 'new york');
SELECT pg_temp.expect_error($$INSERT INTO facilities (name, timezone) VALUES ('Lowercase Zone', 'america/new_york')$$);
SELECT pg_temp.expect_error($$INSERT INTO facilities (facility_id, name, timezone) VALUES ('FAC_bad', 'Bad Id', 'UTC')$$);
INSERT INTO facilities (name, timezone) VALUES ('Bad Zone', 'Nowhere/Land');
SELECT set_facility_active('FAC_00000000', false);
SELECT set_facility_active('FAC_00000000', NULL);
SELECT add_facility('Host Zone Clinic', 'localtime');

-- register patients in local time: the seed's example (EST) and more
SELECT patient_id ~ '^PAT_[A-Z0-9]{12}$' AS patient_id_ok,
       registration_id ~ '^REG_[A-Z0-9]{12}$' AS registration_id_ok,
       patient_name, date_of_birth, contact_number, email,
       registered_at, registration_timezone, registered_at_ist
  FROM register_patient('John Doe', '1990-01-15', '+1-234-567-8900', 'John.Doe@Example.com',
                        (SELECT id FROM fac WHERE name = 'Mount Sinai Clinic'),
                        'EST', '2025-10-10 09:30:00');
-- the facility's own zone by default (New York is on EDT in October)
SELECT registered_at, registered_at_ist
  FROM register_patient('Maria Garcia', '1985-06-02', '(212) 555-0142', NULL,
                        (SELECT id FROM fac WHERE name = 'Mount Sinai Clinic'),
                        local_registration_time => '2025-10-10 09:30:00');
SELECT f.name, r.registered_at, r.registered_at_ist, ist_date(r.registered_at_ist) AS ist_day
  FROM (VALUES ('Asha Rao', '1978-03-21'::date, '+91 98765 43210', 'AIIMS OPD', '2025-10-10 10:15:00'::timestamp),
               ('Bikash Shrestha', '2001-11-05', '+977-1-5522266', 'Patan Hospital', '2025-10-10 10:15:00'),
               ('Yuki Tanaka', '1995-07-30', '03-1234-5678', 'Tokyo Central Clinic', '2025-10-11 08:00:00'),
               ('Olivia Brown', '1969-12-01', '+61 8 8222 4000', 'Royal Adelaide Clinic', '2025-10-05 02:30:00'),
               ('Tama Ngata', '1988-02-14', '+64 9 367 0000', 'Auckland City Care', '2025-04-06 02:30:00'),
               ('Kiri Tuuta', '1990-05-05', '+64 3 305 0000', 'Chatham Islands Health', '2025-10-10 09:30:00'),
               ('Sofia Rossi', '1999-09-09', '+54 11 4959-0200', 'Hospital Italiano', '2025-10-10 23:30:00'),
               ('James Smith', '1950-01-01', '+44 20 7188 7188', 'St Thomas Outpatients', '2025-10-26 01:30:00')) v(n, dob, phone, fname, at)
  JOIN fac f ON f.name = v.fname
  CROSS JOIN LATERAL register_patient(v.n, v.dob, v.phone, lower(replace(v.n, ' ', '.')) || '@example.org', f.id, NULL, v.at) r
 ORDER BY r.registered_at_ist;
-- default time: now, in the facility's zone
SELECT registered_at_ist = now() AS registered_now, registration_timezone
  FROM register_patient('Hana Sato', '2010-04-01', '090-1234-5678', NULL,
                        (SELECT id FROM fac WHERE name = 'Tokyo Central Clinic'));
DELETE FROM patient_registrations WHERE patient_name = 'Hana Sato';

-- validation errors name the field
SELECT register_patient('', '1990-01-15', '+1-234-567-8900', NULL, (SELECT id FROM fac WHERE name = 'Pacific Care'));
SELECT register_patient(repeat('n', 201), '1990-01-15', '+1-234-567-8900', NULL, (SELECT id FROM fac WHERE name = 'Pacific Care'));
SELECT register_patient('Jane Roe', NULL, '+1-234-567-8900', NULL, (SELECT id FROM fac WHERE name = 'Pacific Care'));
SELECT pg_temp.expect_error($$SELECT globalsync.register_patient('Jane Roe', '3000-01-15', '+1-234-567-8900', NULL, (SELECT id FROM fac WHERE name = 'Pacific Care'))$$);
SELECT register_patient('Jane Roe', '1850-01-01', '+1-234-567-8900', NULL, (SELECT id FROM fac WHERE name = 'Pacific Care'));
SELECT register_patient('Jane Roe', '1990-01-15', '12345', NULL, (SELECT id FROM fac WHERE name = 'Pacific Care'));
SELECT register_patient('Jane Roe', '1990-01-15', '+1-234-567-8900-1234-5678', NULL, (SELECT id FROM fac WHERE name = 'Pacific Care'));
SELECT register_patient('Jane Roe', '1990-01-15', 'call me maybe', NULL, (SELECT id FROM fac WHERE name = 'Pacific Care'));
SELECT register_patient('Jane Roe', '1990-01-15', '', NULL, (SELECT id FROM fac WHERE name = 'Pacific Care'));
SELECT register_patient('Jane Roe', '1990-01-15', '+1-234-567-8900', 'jane@', (SELECT id FROM fac WHERE name = 'Pacific Care'));
SELECT register_patient('Jane Roe', '1990-01-15', '+1-234-567-8900', 'jane roe@example.org', (SELECT id FROM fac WHERE name = 'Pacific Care'));
SELECT register_patient('Jane Roe', '1990-01-15', '+1-234-567-8900', NULL, NULL);
SELECT register_patient('Jane Roe', '1990-01-15', '+1-234-567-8900', NULL, 'FAC_NOTTHERE');
SELECT register_patient('Jane Roe', '1990-01-15', '+1-234-567-8900', NULL, (SELECT id FROM fac WHERE name = 'Pacific Care'), 'Pacific/Atlantis');
SELECT register_patient('Jane Roe', '1990-01-15', '+1-234-567-8900', NULL, (SELECT id FROM fac WHERE name = 'Pacific Care'), NULL, 'infinity');
SELECT register_patient('Jane Roe', '2025-10-10', '+1-234-567-8900', NULL, (SELECT id FROM fac WHERE name = 'Pacific Care'), NULL, '2025-10-01 09:00');
SELECT register_patient('Jane Roe', '1990-01-15', '+1-234-567-8900', NULL, (SELECT id FROM fac WHERE name = 'Pacific Care'), 'UTC', '2999-01-01 09:00');
SET globalsync.dst_policy = 'reject';
SELECT register_patient('Jane Roe', '1990-01-15', '+1-234-567-8900', NULL, (SELECT id FROM fac WHERE name = 'Mount Sinai Clinic'), NULL, '2025-03-09 02:30');
RESET globalsync.dst_policy;
-- an inactive facility refuses registrations
SELECT set_facility_active((SELECT id FROM fac WHERE name = 'Pacific Care'), false);
SELECT pg_temp.expect_error($$SELECT globalsync.register_patient('Jane Roe', '1990-01-15', '+1-234-567-8900', NULL, (SELECT id FROM fac WHERE name = 'Pacific Care'))$$);
SELECT set_facility_active((SELECT id FROM fac WHERE name = 'Pacific Care'), true);
\set VERBOSITY sqlstate
SELECT register_patient('', '1990-01-15', '+1-234-567-8900', NULL, (SELECT id FROM fac WHERE name = 'Pacific Care'));
SELECT register_patient('Jane Roe', '3000-01-15', '+1-234-567-8900', NULL, (SELECT id FROM fac WHERE name = 'Pacific Care'));
SELECT register_patient('Jane Roe', '1990-01-15', '+1-234-567-8900', NULL, 'FAC_NOTTHERE');
\set VERBOSITY default
-- nothing was stored by the failed calls
SELECT count(*) AS patients FROM patient_registrations;

-- the generated columns follow registered_at and cannot be written
UPDATE patient_registrations SET registered_at = '2025-10-10 09:30:00 JST'
 WHERE patient_name = 'Maria Garcia'
RETURNING registered_at, registration_timezone, registered_at_ist;
UPDATE patient_registrations SET registered_at_ist = now() WHERE patient_name = 'Maria Garcia';
-- a facility with patients cannot be deleted
SELECT pg_temp.expect_error($$DELETE FROM globalsync.facilities WHERE facility_id = (SELECT id FROM fac WHERE name = 'Mount Sinai Clinic')$$);

-- listing facilities by zone, in any spelling
SELECT name, timezone, patients FROM list_facilities('JST');
SELECT name, timezone, patients FROM list_facilities('america/new_york');
SELECT count(*) AS all_facilities FROM list_facilities();
SELECT name FROM list_facilities('Mars/Base');

-- views (offsets of IANA zones depend on today's date, so those are not shown)
SELECT timezone, location, facilities, active_facilities, patients, last_registration_ist
  FROM facility_stats ORDER BY timezone, location;
SELECT ist_day, facility_name, facility_timezone, registrations, first_registration_ist, last_registration_ist
  FROM registration_calendar WHERE ist_day < '2025-11-01';
SELECT zone, kind, observes_dst, facilities FROM time_zones WHERE kind <> 'abbreviation' OR facilities > 0
 ORDER BY zone;

-- health
SELECT h ? 'version' AS has_version, h->>'status' AS status, h->>'database' = current_database() AS db,
       (h->>'server_time_ist') LIKE '%+05:30' AS ist_time, h->'library_preloaded' AS preloaded,
       (h->>'patients')::int AS patients, (h->>'facilities')::int AS facilities
  FROM health() h;
