-- 004_api.sql: contracts of the seed API.
--
-- add_facility() ids and zone canonicalisation, register_patient() times
-- and validation, health() keys, list_facilities() zone filter in any
-- spelling.  Facilities made here are remembered in a temp table so the
-- tests ignore whatever else the database holds.  Everything is rolled back.

\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SELECT plan(75);

-- ===================================================================
-- add_facility
-- ===================================================================
CREATE TEMP TABLE tap_fac (k text PRIMARY KEY, id text NOT NULL);
INSERT INTO tap_fac VALUES
    ('ny1', globalsync.add_facility('TAP API Manhattan', 'america/new_york', 'Manhattan')),
    ('ny2', globalsync.add_facility('TAP API Queens', 'AMERICA/NEW_YORK', 'Queens')),
    ('kol', globalsync.add_facility('TAP API Kolkata', 'asia/kolkata', 'Kolkata')),
    ('est', globalsync.add_facility('TAP API Eastern', 'est')),
    ('ktm', globalsync.add_facility('TAP API Kathmandu', '+0545', 'Kathmandu')),
    ('syd', globalsync.add_facility('  TAP API Sydney  ', 'Australia/Sydney', '  Sydney  '));

SELECT matches((SELECT id FROM tap_fac WHERE k = 'ny1'), '^FAC_[A-Z0-9]{8}$',
    'add_facility() returns an id matching ^FAC_[A-Z0-9]{8}$');
SELECT is_empty($$SELECT id FROM tap_fac WHERE id !~ '^FAC_[A-Z0-9]{8}$'$$,
    'every id add_facility() returned matches ^FAC_[A-Z0-9]{8}$');
SELECT is((SELECT count(DISTINCT id)::int FROM tap_fac), 6, 'add_facility() returns a new id each time');
SELECT set_eq(
    $$SELECT t.k, f.timezone::text FROM tap_fac t JOIN globalsync.facilities f ON f.facility_id = t.id$$,
    $$VALUES ('ny1', 'America/New_York'), ('ny2', 'America/New_York'), ('kol', 'Asia/Kolkata'),
             ('est', 'EST'), ('ktm', '+05:45'), ('syd', 'Australia/Sydney')$$,
    'add_facility() stores the zone in its canonical spelling (IANA name, abbreviation, offset)');
SELECT is(
    (SELECT ARRAY[f.name, f.location] FROM tap_fac t JOIN globalsync.facilities f ON f.facility_id = t.id WHERE t.k = 'syd'),
    ARRAY['TAP API Sydney', 'Sydney'],
    'add_facility() trims name and location');
SELECT is(
    (SELECT f.location FROM tap_fac t JOIN globalsync.facilities f ON f.facility_id = t.id WHERE t.k = 'est'),
    NULL,
    'add_facility() without location stores NULL');
SELECT is(
    (SELECT bool_and(f.is_active) FROM tap_fac t JOIN globalsync.facilities f ON f.facility_id = t.id),
    true,
    'new facilities are active');
SELECT throws_ok($$SELECT globalsync.add_facility('TAP API Mars', 'Mars/Olympus_Mons')$$, '22023', NULL,
    'add_facility() with an unknown zone fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_facility('   ', 'UTC')$$, '22023', 'facility name must not be empty',
    'add_facility() with a blank name fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_facility(repeat('x', 201), 'UTC')$$, '22001', NULL,
    'add_facility() with a name over 200 characters fails with 22001');
SELECT throws_ok($$SELECT globalsync.add_facility('TAP API Null Zone', NULL)$$, '22004', 'facility timezone must not be null',
    'add_facility() with a NULL zone fails with 22004');
SELECT throws_ok($$SELECT globalsync.add_facility('TAP API Blank Location', 'UTC', '')$$, '22023', NULL,
    'add_facility() with an empty location fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_facility('tap api manhattan', 'UTC', 'MANHATTAN')$$, '23505',
    'facility "tap api manhattan" at "MANHATTAN" already exists',
    'add_facility() refuses a name already used at that location (any case) with 23505');
SELECT throws_ok($$SELECT globalsync.set_facility_active('FAC_TAPNONE1', false)$$, '42704', 'facility "FAC_TAPNONE1" does not exist',
    'set_facility_active() of an unknown facility fails with 42704');
SELECT throws_ok(
    format('SELECT globalsync.set_facility_active(%L, NULL)', (SELECT id FROM tap_fac WHERE k = 'ny1')),
    '22004', 'active must be true or false, not null',
    'set_facility_active(id, NULL) fails with 22004 instead of doing nothing');
SELECT throws_ok($$SELECT globalsync.add_facility('TAP API Localtime', 'localtime')$$, '22023', NULL,
    'add_facility() refuses the server-dependent zone "localtime" with 22023');

-- ===================================================================
-- register_patient: the stored registration and its IST time
-- ===================================================================
CREATE TEMP TABLE tap_reg AS
    SELECT 'ny' AS k, r.*
      FROM globalsync.register_patient('  Asha Rao  ', '1990-01-01', '+1-234-567-8900', 'Asha.Rao@Example.ORG',
                                       (SELECT id FROM tap_fac WHERE k = 'ny1'),
                                       local_registration_time => '2025-10-10 09:30:00') AS r;
INSERT INTO tap_reg
    SELECT 'ny-est', r.*
      FROM globalsync.register_patient('Ravi Iyer', '1985-05-05', '+1 234 567 8901', NULL,
                                       (SELECT id FROM tap_fac WHERE k = 'ny1'),
                                       'est', '2025-10-10 09:30:00') AS r;
INSERT INTO tap_reg
    SELECT 'ny-gap', r.*
      FROM globalsync.register_patient('Gap Person', '1970-01-01', '+1 234 567 8902', NULL,
                                       (SELECT id FROM tap_fac WHERE k = 'ny2'),
                                       NULL, '2025-03-09 02:30:00') AS r;
INSERT INTO tap_reg
    SELECT 'ktm', r.*
      FROM globalsync.register_patient('Sita Shrestha', '2001-12-31', '+977 1 4412345', NULL,
                                       (SELECT id FROM tap_fac WHERE k = 'kol'),
                                       'Asia/Kathmandu', '2025-10-10 09:30:00') AS r;
INSERT INTO tap_reg
    SELECT 'syd', r.*
      FROM globalsync.register_patient('Jack Smith', '1960-07-01', '+61 2 9876 5432', NULL,
                                       (SELECT id FROM tap_fac WHERE k = 'syd'),
                                       NULL, '2025-01-15 08:00:00') AS r;
INSERT INTO tap_reg
    SELECT 'now', r.*
      FROM globalsync.register_patient('Now Person', '2000-01-01', '98765 43210', NULL,
                                       (SELECT id FROM tap_fac WHERE k = 'kol')) AS r;

SELECT is(
    (SELECT registered_at_ist FROM tap_reg WHERE k = 'ny'),
    globalsync.to_ist('2025-10-10 09:30:00', 'America/New_York'),
    'register_patient(): registered_at_ist = to_ist(local time, facility zone)');
SELECT is(
    (SELECT registered_at_ist::text FROM tap_reg WHERE k = 'ny'),
    '2025-10-10 19:00:00+05:30',
    'register_patient(): 09:30 in New York (EDT) is 19:00 IST');
SELECT is(
    (SELECT ARRAY[globalsync.local_time(registered_at)::text, registration_timezone, registered_at::text] FROM tap_reg WHERE k = 'ny'),
    ARRAY['2025-10-10 09:30:00', 'America/New_York', '2025-10-10 09:30:00 America/New_York'],
    'register_patient(): the local time and the facility''s zone are kept');
SELECT is(
    (SELECT ARRAY[patient_name, email, contact_number] FROM tap_reg WHERE k = 'ny'),
    ARRAY['Asha Rao', 'asha.rao@example.org', '+1-234-567-8900'],
    'register_patient(): name trimmed, email lower-cased');
SELECT ok(
    (SELECT patient_id ~ '^PAT_[A-Z0-9]{8,32}$' AND registration_id ~ '^REG_[A-Z0-9]{8,32}$' FROM tap_reg WHERE k = 'ny'),
    'register_patient(): PAT_ and REG_ ids are generated');
SELECT is(
    (SELECT registered_at_ist FROM tap_reg WHERE k = 'ny-est'),
    globalsync.to_ist('2025-10-10 09:30:00', 'EST'),
    'register_patient() with local_time_zone: registered_at_ist = to_ist(local time, that zone)');
SELECT is(
    (SELECT ARRAY[registration_timezone, registered_at_ist::text] FROM tap_reg WHERE k = 'ny-est'),
    ARRAY['EST', '2025-10-10 20:00:00+05:30'],
    'register_patient(): local_time_zone ''est'' is stored canonically as EST (-05:00)');
SELECT is(
    (SELECT registered_at_ist FROM tap_reg WHERE k = 'ny-gap'),
    globalsync.to_ist('2025-03-09 02:30:00', 'America/New_York'),
    'register_patient(): a time in the spring-forward gap agrees with to_ist()');
SELECT is(
    (SELECT registered_at_ist::text FROM tap_reg WHERE k = 'ny-gap'),
    '2025-03-09 13:00:00+05:30',
    'register_patient(): 02:30 skipped in New York shifts forward to 03:30 EDT (13:00 IST)');
SELECT is(
    (SELECT ARRAY[registration_timezone, registered_at_ist::text] FROM tap_reg WHERE k = 'ktm'),
    ARRAY['Asia/Kathmandu', '2025-10-10 09:15:00+05:30'],
    'register_patient(): Kathmandu (+05:45) 09:30 is 09:15 IST');
SELECT is(
    (SELECT registered_at_ist FROM tap_reg WHERE k = 'syd'),
    globalsync.to_ist('2025-01-15 08:00:00', 'Australia/Sydney'),
    'register_patient(): Sydney in summer (AEDT) agrees with to_ist()');
SELECT is(
    (SELECT registered_at_ist::text FROM tap_reg WHERE k = 'syd'),
    '2025-01-15 02:30:00+05:30',
    'register_patient(): 08:00 AEDT (+11) is 02:30 IST');
SELECT is(
    (SELECT registered_at_ist::timestamptz FROM tap_reg WHERE k = 'now'),
    now(),
    'register_patient() without a time registers now');
SELECT is(
    (SELECT registration_timezone FROM tap_reg WHERE k = 'now'),
    'Asia/Kolkata',
    'register_patient() without a zone uses the facility''s zone');
SELECT set_eq(
    $$SELECT patient_id, registration_id, facility_id, registered_at::text, registered_at_ist::text, registration_timezone
        FROM tap_reg$$,
    $$SELECT p.patient_id, p.registration_id, p.facility_id, p.registered_at::text, p.registered_at_ist::text, p.registration_timezone
        FROM globalsync.patient_registrations p WHERE p.patient_id IN (SELECT patient_id FROM tap_reg)$$,
    'register_patient() returns exactly the rows it stored');
SELECT lives_ok(
    $$SELECT globalsync.register_patient('Hint Example', '1990-01-01', '(022) 2345 6789', NULL,
                                         (SELECT id FROM tap_fac WHERE k = 'kol'))$$,
    'register_patient() accepts the phone number its own hint gives as an example, (022) 2345 6789');
SELECT lives_ok(
    $$SELECT globalsync.register_patient('Born Today', globalsync.ist_date(now()::globalsync.ist_timestamp), '98765 43210', NULL,
                                         (SELECT id FROM tap_fac WHERE k = 'kol'))$$,
    'register_patient() accepts a patient born today (IST)');

-- ===================================================================
-- register_patient: validation
-- ===================================================================
SELECT throws_ok(
    $$SELECT globalsync.register_patient('   ', '1990-01-01', '98765 43210', NULL, (SELECT id FROM tap_fac WHERE k = 'kol'))$$,
    '22023', 'full_name must not be empty', 'register_patient(): blank name fails with 22023');
SELECT throws_ok(
    $$SELECT globalsync.register_patient('X', NULL, '98765 43210', NULL, (SELECT id FROM tap_fac WHERE k = 'kol'))$$,
    '22004', 'date_of_birth must not be null', 'register_patient(): NULL date of birth fails with 22004');
SELECT throws_ok(
    $$SELECT globalsync.register_patient('X', globalsync.ist_date(now()::globalsync.ist_timestamp) + 1, '98765 43210', NULL, (SELECT id FROM tap_fac WHERE k = 'kol'))$$,
    '22008', NULL, 'register_patient(): date of birth in the future fails with 22008');
SELECT throws_ok(
    $$SELECT globalsync.register_patient('X', (globalsync.ist_date(now()::globalsync.ist_timestamp) - interval '151 years')::date, '98765 43210', NULL, (SELECT id FROM tap_fac WHERE k = 'kol'))$$,
    '22008', NULL, 'register_patient(): date of birth over 150 years ago fails with 22008');
SELECT throws_ok(
    $$SELECT globalsync.register_patient('X', '2025-10-11', '98765 43210', NULL, (SELECT id FROM tap_fac WHERE k = 'kol'), NULL, '2025-10-10 09:30:00')$$,
    '22008', NULL, 'register_patient(): date of birth after the registration date fails with 22008');
SELECT throws_ok(
    $$SELECT globalsync.register_patient('X', '1990-01-01', '12345', NULL, (SELECT id FROM tap_fac WHERE k = 'kol'))$$,
    '22023', 'invalid contact_number: "12345"', 'register_patient(): a 5-digit phone fails with 22023, naming the field');
SELECT throws_ok(
    $$SELECT globalsync.register_patient('X', '1990-01-01', '1234567890123456', NULL, (SELECT id FROM tap_fac WHERE k = 'kol'))$$,
    '22023', NULL, 'register_patient(): a 16-digit phone fails with 22023');
SELECT throws_ok(
    $$SELECT globalsync.register_patient('X', '1990-01-01', 'call me', NULL, (SELECT id FROM tap_fac WHERE k = 'kol'))$$,
    '22023', NULL, 'register_patient(): a phone with letters fails with 22023');
SELECT throws_ok(
    $$SELECT globalsync.register_patient('X', '1990-01-01', NULL, NULL, (SELECT id FROM tap_fac WHERE k = 'kol'))$$,
    '22023', 'contact_number must not be empty', 'register_patient(): NULL phone fails with 22023');
SELECT throws_ok(
    $$SELECT globalsync.register_patient('X', '1990-01-01', '98765 43210', 'asha-at-example.org', (SELECT id FROM tap_fac WHERE k = 'kol'))$$,
    '22023', 'invalid email: "asha-at-example.org"', 'register_patient(): a malformed email fails with 22023, naming the field');
SELECT throws_ok(
    $$SELECT globalsync.register_patient('X', '1990-01-01', '98765 43210', 'asha@localhost', (SELECT id FROM tap_fac WHERE k = 'kol'))$$,
    '22023', NULL, 'register_patient(): an email without a dotted domain fails with 22023');
SELECT throws_ok(
    $$SELECT globalsync.register_patient('X', '1990-01-01', '98765 43210', NULL, 'FAC_TAPNONE1')$$,
    '42704', 'registration_facility "FAC_TAPNONE1" does not exist', 'register_patient(): an unknown facility fails with 42704');
SELECT throws_ok(
    $$SELECT globalsync.register_patient('X', '1990-01-01', '98765 43210', NULL, NULL)$$,
    '22004', NULL, 'register_patient(): a NULL facility fails with 22004');
SELECT throws_ok(
    $$SELECT globalsync.register_patient('X', '1990-01-01', '98765 43210', NULL, (SELECT id FROM tap_fac WHERE k = 'kol'), 'Mars/Olympus_Mons', '2025-10-10 09:30:00')$$,
    '22023', NULL, 'register_patient(): an unknown local_time_zone fails with 22023');
SELECT throws_ok(
    $$SELECT globalsync.register_patient('X', '1990-01-01', '98765 43210', NULL, (SELECT id FROM tap_fac WHERE k = 'kol'), NULL, 'infinity')$$,
    '22008', NULL, 'register_patient(): an infinite local_registration_time fails with 22008');
SELECT throws_ok(
    $$SELECT globalsync.register_patient('X', '1990-01-01', '98765 43210', NULL, (SELECT id FROM tap_fac WHERE k = 'kol'), NULL,
                                         (now() AT TIME ZONE 'Asia/Kolkata') + interval '1 day')$$,
    '22008', NULL, 'register_patient(): a local_registration_time in the future fails with 22008');
SELECT lives_ok(
    $$SELECT globalsync.set_facility_active((SELECT id FROM tap_fac WHERE k = 'ny2'), false)$$,
    'set_facility_active(false) works');
SELECT throws_ok(
    $$SELECT globalsync.register_patient('X', '1990-01-01', '98765 43210', NULL, (SELECT id FROM tap_fac WHERE k = 'ny2'))$$,
    '55000', NULL, 'register_patient(): an inactive facility fails with 55000');
SELECT is(
    (SELECT count(*)::int FROM globalsync.patient_registrations WHERE patient_name = 'X'),
    0,
    'failed registrations store nothing');

-- ===================================================================
-- health
-- ===================================================================
SELECT is(jsonb_typeof(globalsync.health()), 'object', 'health() returns a jsonb object');
SELECT ok(globalsync.health() ?& ARRAY['status', 'version', 'database', 'server_time_ist', 'library_preloaded'],
    'health() has the keys status, version, database, server_time_ist, library_preloaded');
SELECT is(globalsync.health() ->> 'status', 'ok', 'health(): status is ok');
SELECT is(globalsync.health() ->> 'version',
    (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'globalsync'),
    'health(): version is the installed extension version');
SELECT is(globalsync.health() ->> 'database', current_database()::text, 'health(): database is the current database');
SELECT matches(globalsync.health() ->> 'server_time_ist', '^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?\+05:30$',
    'health(): server_time_ist is shown in IST (+05:30)');
SELECT is((globalsync.health() ->> 'server_time_ist')::globalsync.ist_timestamp::timestamptz, now(),
    'health(): server_time_ist is the server''s current time');
SELECT is(jsonb_typeof(globalsync.health() -> 'library_preloaded'), 'boolean', 'health(): library_preloaded is a boolean');
SELECT is((globalsync.health() ->> 'library_preloaded')::boolean, globalsync.library_preloaded(),
    'health(): library_preloaded agrees with library_preloaded()');

-- ===================================================================
-- list_facilities
-- ===================================================================
SELECT set_eq(
    $$SELECT facility_id FROM globalsync.list_facilities('America/New_York') WHERE facility_id IN (SELECT id FROM tap_fac)$$,
    $$SELECT id FROM tap_fac WHERE k IN ('ny1', 'ny2')$$,
    'list_facilities(''America/New_York'') lists the New York facilities');
SELECT set_eq(
    $$SELECT facility_id FROM globalsync.list_facilities('america/new_york') WHERE facility_id IN (SELECT id FROM tap_fac)$$,
    $$SELECT id FROM tap_fac WHERE k IN ('ny1', 'ny2')$$,
    'list_facilities(''america/new_york'') lists the same facilities');
SELECT set_eq(
    $$SELECT facility_id FROM globalsync.list_facilities('AMERICA/NEW_YORK') WHERE facility_id IN (SELECT id FROM tap_fac)$$,
    $$SELECT id FROM tap_fac WHERE k IN ('ny1', 'ny2')$$,
    'list_facilities(''AMERICA/NEW_YORK'') lists the same facilities');
SELECT is_empty(
    $$SELECT facility_id FROM globalsync.list_facilities('america/new_york') WHERE timezone <> 'America/New_York'$$,
    'list_facilities(zone) lists no facility of another zone');
SELECT set_eq(
    $$SELECT facility_id FROM globalsync.list_facilities('est') WHERE facility_id IN (SELECT id FROM tap_fac)$$,
    $$SELECT id FROM tap_fac WHERE k = 'est'$$,
    'list_facilities(''est'') lists the EST facility, not the America/New_York ones');
SELECT set_eq(
    $$SELECT facility_id FROM globalsync.list_facilities('+0545') WHERE facility_id IN (SELECT id FROM tap_fac)$$,
    $$SELECT id FROM tap_fac WHERE k = 'ktm'$$,
    'list_facilities(''+0545'') lists the +05:45 facility');
SELECT set_eq(
    $$SELECT facility_id FROM globalsync.list_facilities() WHERE facility_id IN (SELECT id FROM tap_fac)$$,
    $$SELECT id FROM tap_fac$$,
    'list_facilities() without a zone lists every facility');
SELECT set_eq(
    $$SELECT facility_id FROM globalsync.list_facilities('America/New_York', true) WHERE facility_id IN (SELECT id FROM tap_fac)$$,
    $$SELECT id FROM tap_fac WHERE k = 'ny1'$$,
    'list_facilities(zone, active_only => true) leaves out the inactive facility');
SELECT set_eq(
    $$SELECT facility_id FROM globalsync.list_facilities(NULL, NULL) WHERE facility_id IN (SELECT id FROM tap_fac)$$,
    $$SELECT id FROM tap_fac$$,
    'list_facilities(NULL, NULL) lists every facility, inactive ones included (active_only NULL means false)');
SELECT is(
    (SELECT is_active FROM globalsync.list_facilities('America/New_York') WHERE facility_id = (SELECT id FROM tap_fac WHERE k = 'ny2')),
    false,
    'list_facilities() shows an inactive facility as inactive');
SELECT is(
    (SELECT patients FROM globalsync.list_facilities('America/New_York') WHERE facility_id = (SELECT id FROM tap_fac WHERE k = 'ny1')),
    2::bigint,
    'list_facilities() counts the facility''s patients');
SELECT is(
    (SELECT ARRAY[utc_offset, ist_offset] FROM globalsync.list_facilities('Asia/Kolkata') WHERE facility_id = (SELECT id FROM tap_fac WHERE k = 'kol')),
    ARRAY[interval '05:30', interval '00:00'],
    'list_facilities() shows Asia/Kolkata at UTC+05:30, IST+00:00');
SELECT is(
    (SELECT ARRAY[utc_offset, ist_offset] FROM globalsync.list_facilities('EST') WHERE facility_id = (SELECT id FROM tap_fac WHERE k = 'est')),
    ARRAY[interval '-05:00', interval '-10:30'],
    'list_facilities() shows EST at UTC-05:00, IST-10:30');
SELECT throws_ok($$SELECT * FROM globalsync.list_facilities('Mars/Olympus_Mons')$$, '22023', NULL,
    'list_facilities() with an unknown zone fails with 22023');

SELECT * FROM finish();
ROLLBACK;
