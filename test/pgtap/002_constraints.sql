-- 002_constraints.sql: what the tables refuse, and with which SQLSTATE.
--
-- Direct DML as the superuser running the suite, so that the constraints
-- themselves are tested (not the validation in the API functions).  Test
-- ids use letters outside [0-9A-F] so they never collide with new_id().
-- The change capture tables last: one-row tables stay one row, the log
-- only takes known operations and slots, consumer names and batches are
-- well formed.  Everything is rolled back.

\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SELECT plan(106);

-- -------------------------------------------------------------------
-- facilities: id format
-- -------------------------------------------------------------------
SELECT lives_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone, location)
      VALUES ('FAC_TAPNY001', 'TAP New York Clinic', 'America/New_York', 'New York')$$,
    'a facility with a well-formed id and a canonical IANA zone is accepted');
SELECT throws_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone) VALUES ('FAC_123', 'TAP short id', 'UTC')$$,
    '23514', 'new row for relation "facilities" violates check constraint "facility_id_format"',
    'facility_id with fewer than 8 characters after FAC_ is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone) VALUES ('FAC_TAP0000001', 'TAP long id', 'UTC')$$,
    '23514', 'new row for relation "facilities" violates check constraint "facility_id_format"',
    'facility_id with more than 8 characters after FAC_ is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone) VALUES ('fac_TAPLOW01', 'TAP lower prefix', 'UTC')$$,
    '23514', 'new row for relation "facilities" violates check constraint "facility_id_format"',
    'facility_id with a lower-case prefix is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone) VALUES ('FAC_tapl0w01', 'TAP lower body', 'UTC')$$,
    '23514', 'new row for relation "facilities" violates check constraint "facility_id_format"',
    'facility_id with lower-case characters is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone) VALUES ('TGT_TAPWRONG', 'TAP wrong prefix', 'UTC')$$,
    '23514', 'new row for relation "facilities" violates check constraint "facility_id_format"',
    'facility_id with another prefix is refused');
WITH ins AS (
    INSERT INTO globalsync.facilities (name, timezone) VALUES ('TAP default id', 'UTC') RETURNING facility_id
)
SELECT matches(facility_id, '^FAC_[A-Z0-9]{8}$',
    'the default facility_id is FAC_ followed by 8 upper-case characters') FROM ins;
SELECT throws_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone) VALUES ('FAC_TAPNY001', 'TAP duplicate id', 'UTC')$$,
    '23505', NULL,
    'a duplicate facility_id is refused');

-- -------------------------------------------------------------------
-- facilities: time zone is a known zone, spelt canonically
-- -------------------------------------------------------------------
SELECT throws_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone) VALUES ('FAC_TAPTZ001', 'TAP lower zone', 'america/new_york')$$,
    '23514', 'new row for relation "facilities" violates check constraint "facility_timezone_canonical"',
    'a non-canonical spelling of an IANA zone (america/new_york) is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone) VALUES ('FAC_TAPTZ002', 'TAP lower abbrev', 'est')$$,
    '23514', 'new row for relation "facilities" violates check constraint "facility_timezone_canonical"',
    'a non-canonical spelling of an abbreviation (est) is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone) VALUES ('FAC_TAPTZ003', 'TAP compact offset', '+0545')$$,
    '23514', 'new row for relation "facilities" violates check constraint "facility_timezone_canonical"',
    'a non-canonical numeric offset (+0545) is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone) VALUES ('FAC_TAPTZ004', 'TAP unknown zone', 'Mars/Olympus_Mons')$$,
    '23514', 'value for domain globalsync.zone_name violates check constraint "zone_name_known"',
    'an unknown zone fails the zone_name domain check');
SELECT throws_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone) VALUES ('FAC_TAPTZ005', 'TAP empty zone', '')$$,
    '23514', 'value for domain globalsync.zone_name violates check constraint "zone_name_known"',
    'an empty zone fails the zone_name domain check');
SELECT throws_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone) VALUES ('FAC_TAPTZ006', 'TAP null zone', NULL)$$,
    '23502', NULL,
    'a NULL zone is refused');
SELECT lives_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone, location) VALUES
        ('FAC_TAPTZ007', 'TAP Kolkata', 'Asia/Kolkata', 'Kolkata'),
        ('FAC_TAPTZ008', 'TAP Eastern', 'EST', NULL),
        ('FAC_TAPTZ009', 'TAP Kathmandu offset', '+05:45', NULL),
        ('FAC_TAPTZ010', 'TAP UTC', 'UTC', NULL)$$,
    'canonical IANA names, abbreviations and offsets are accepted');
SELECT throws_ok(
    $$UPDATE globalsync.facilities SET timezone = 'asia/kolkata' WHERE facility_id = 'FAC_TAPTZ007'$$,
    '23514', 'new row for relation "facilities" violates check constraint "facility_timezone_canonical"',
    'an UPDATE to a non-canonical spelling is refused too');
SELECT throws_ok(
    $$SELECT 'Nowhere/Land'::globalsync.zone_name$$,
    '23514', 'value for domain globalsync.zone_name violates check constraint "zone_name_known"',
    'casting an unknown zone to zone_name fails');
SELECT is('Asia/Kolkata'::globalsync.zone_name::text, 'Asia/Kolkata', 'a known zone casts to zone_name');

-- -------------------------------------------------------------------
-- facilities: name and location
-- -------------------------------------------------------------------
SELECT throws_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone) VALUES ('FAC_TAPNM001', '   ', 'UTC')$$,
    '23514', 'new row for relation "facilities" violates check constraint "facility_name_length"',
    'a blank facility name is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone) VALUES ('FAC_TAPNM002', NULL, 'UTC')$$,
    '23502', NULL,
    'a NULL facility name is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone) VALUES ('FAC_TAPNM003', repeat('x', 201), 'UTC')$$,
    '23514', 'new row for relation "facilities" violates check constraint "facility_name_length"',
    'a facility name over 200 characters is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone, location) VALUES ('FAC_TAPNM004', 'TAP blank loc', 'UTC', '')$$,
    '23514', 'new row for relation "facilities" violates check constraint "facility_location_length"',
    'an empty location is refused (use NULL)');
SELECT throws_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone, location) VALUES ('FAC_TAPNM005', 'tap new york clinic', 'UTC', 'NEW YORK')$$,
    '23505', NULL,
    'the same facility name at the same location, in another case, is refused');
SELECT lives_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone, location) VALUES ('FAC_TAPNM006', 'TAP New York Clinic', 'America/New_York', 'Brooklyn')$$,
    'the same facility name at another location is accepted');
SELECT is(
    (SELECT ARRAY[is_active::text, (created_at IS NOT NULL)::text, (last_sync_time IS NULL)::text]
       FROM globalsync.facilities WHERE facility_id = 'FAC_TAPNY001'),
    ARRAY['true', 'true', 'true'],
    'a new facility is active, has created_at and no last_sync_time');

-- -------------------------------------------------------------------
-- targets
-- -------------------------------------------------------------------
SELECT lives_ok(
    $$INSERT INTO globalsync.targets (target_id, name, kind, endpoint) VALUES
        ('TGT_TAPFILE1', 'tap file', 'file', '/tmp/tap'),
        ('TGT_TAPHTTP1', 'tap http', 'http', 'http://127.0.0.1:9/'),
        ('TGT_TAPS3001', 'tap s3', 's3', 'http://127.0.0.1:9/bucket'),
        ('TGT_TAPSNOW1', 'tap snowflake', 'snowflake', 'https://example.invalid/'),
        ('TGT_TAPFHIR1', 'tap fhir', 'fhir', 'http://127.0.0.1:9/fhir')$$,
    'targets of each kind file, http, s3, snowflake, fhir are accepted');
SELECT throws_ok(
    $$INSERT INTO globalsync.targets (target_id, name, kind, endpoint) VALUES ('TGT_TAPFTP01', 'tap ftp', 'ftp', 'ftp://127.0.0.1/')$$,
    '23514', 'new row for relation "targets" violates check constraint "target_kind_known"',
    'an unknown target kind is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.targets (target_id, name, kind, endpoint) VALUES ('TGT_TAPHTTP2', 'tap HTTP', 'HTTP', 'http://127.0.0.1:9/')$$,
    '23514', 'new row for relation "targets" violates check constraint "target_kind_known"',
    'target kinds are lower case');
SELECT throws_ok(
    $$INSERT INTO globalsync.targets (target_id, name, kind, endpoint, options) VALUES ('TGT_TAPOPT01', 'tap opt array', 'http', 'http://127.0.0.1:9/', '[1, 2]')$$,
    '23514', 'new row for relation "targets" violates check constraint "target_options_object"',
    'options that are a JSON array are refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.targets (target_id, name, kind, endpoint, options) VALUES ('TGT_TAPOPT02', 'tap opt string', 'http', 'http://127.0.0.1:9/', '"x"')$$,
    '23514', 'new row for relation "targets" violates check constraint "target_options_object"',
    'options that are a JSON string are refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.targets (target_id, name, kind, endpoint, options) VALUES ('TGT_TAPOPT03', 'tap opt json null', 'http', 'http://127.0.0.1:9/', 'null')$$,
    '23514', 'new row for relation "targets" violates check constraint "target_options_object"',
    'options that are JSON null are refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.targets (target_id, name, kind, endpoint, options) VALUES ('TGT_TAPOPT04', 'tap opt sql null', 'http', 'http://127.0.0.1:9/', NULL)$$,
    '23502', NULL,
    'SQL NULL options are refused');
SELECT is(
    (SELECT options FROM globalsync.targets WHERE target_id = 'TGT_TAPHTTP1'),
    '{}'::jsonb,
    'options default to an empty object');
SELECT throws_ok(
    $$INSERT INTO globalsync.targets (target_id, name, kind, endpoint) VALUES ('TGT_TAP1', 'tap short id', 'http', 'http://127.0.0.1:9/')$$,
    '23514', 'new row for relation "targets" violates check constraint "target_id_format"',
    'a malformed target_id is refused');
WITH ins AS (
    INSERT INTO globalsync.targets (name, kind, endpoint) VALUES ('tap default id', 'file', '/tmp/tap2') RETURNING target_id
)
SELECT matches(target_id, '^TGT_[A-Z0-9]{8}$',
    'the default target_id is TGT_ followed by 8 upper-case characters') FROM ins;
SELECT throws_ok(
    $$INSERT INTO globalsync.targets (target_id, name, kind, endpoint) VALUES ('TGT_TAPDUP01', 'tap http', 'http', 'http://127.0.0.1:9/')$$,
    '23505', NULL,
    'a duplicate target name is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.targets (target_id, name, kind, endpoint) VALUES ('TGT_TAPEND01', 'tap no endpoint', 'http', ' ')$$,
    '23514', 'new row for relation "targets" violates check constraint "target_endpoint_nonempty"',
    'a blank endpoint is refused');

-- -------------------------------------------------------------------
-- patient_registrations: contact number and email
-- -------------------------------------------------------------------
PREPARE tap_patient(text, text) AS
    INSERT INTO globalsync.patient_registrations
           (patient_name, date_of_birth, contact_number, email, facility_id, registered_at)
    VALUES ('TAP Patient', '1990-01-01', $1, $2, 'FAC_TAPNY001', '2025-10-10 09:30:00 America/New_York');

SELECT lives_ok($$EXECUTE tap_patient('+1-234-567-8900', 'asha@example.org')$$,
    'contact +1-234-567-8900 and email asha@example.org are accepted');
SELECT lives_ok($$EXECUTE tap_patient('(022) 2345 6789', NULL)$$,
    'contact (022) 2345 6789 and no email are accepted');
SELECT lives_ok($$EXECUTE tap_patient('1234567', 'a.b+c@mail.example.co.in')$$,
    'a 7-digit contact number and a dotted email are accepted');
SELECT lives_ok($$EXECUTE tap_patient('123456789012345', NULL)$$,
    'a 15-digit contact number is accepted');
SELECT throws_ok($$EXECUTE tap_patient('123456', NULL)$$,
    '23514', 'new row for relation "patient_registrations" violates check constraint "contact_number_format"',
    'a 6-digit contact number is refused');
SELECT throws_ok($$EXECUTE tap_patient('1234567890123456', NULL)$$,
    '23514', 'new row for relation "patient_registrations" violates check constraint "contact_number_format"',
    'a 16-digit contact number is refused');
SELECT throws_ok($$EXECUTE tap_patient('call me maybe', NULL)$$,
    '23514', 'new row for relation "patient_registrations" violates check constraint "contact_number_format"',
    'a contact number with letters is refused');
SELECT throws_ok($$EXECUTE tap_patient('12345-67890-', NULL)$$,
    '23514', 'new row for relation "patient_registrations" violates check constraint "contact_number_format"',
    'a contact number ending in punctuation is refused');
SELECT throws_ok($$EXECUTE tap_patient('++91 98765 43210', NULL)$$,
    '23514', 'new row for relation "patient_registrations" violates check constraint "contact_number_format"',
    'a contact number with two leading + is refused');
SELECT throws_ok($$EXECUTE tap_patient('1234567', 'not-an-email')$$,
    '23514', 'new row for relation "patient_registrations" violates check constraint "email_format"',
    'an email without @ is refused');
SELECT throws_ok($$EXECUTE tap_patient('1234567', 'asha@localhost')$$,
    '23514', 'new row for relation "patient_registrations" violates check constraint "email_format"',
    'an email without a dotted domain is refused');
SELECT throws_ok($$EXECUTE tap_patient('1234567', 'asha rao@example.org')$$,
    '23514', 'new row for relation "patient_registrations" violates check constraint "email_format"',
    'an email with a space is refused');
SELECT throws_ok($$EXECUTE tap_patient('1234567', 'asha@-example.org')$$,
    '23514', 'new row for relation "patient_registrations" violates check constraint "email_format"',
    'an email whose domain label starts with - is refused');
SELECT throws_ok($$EXECUTE tap_patient('1234567', repeat('a', 250) || '@example.org')$$,
    '23514', 'new row for relation "patient_registrations" violates check constraint "email_format"',
    'an email over 254 characters is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.patient_registrations
             (patient_name, date_of_birth, contact_number, facility_id, registered_at)
      VALUES ('  ', '1990-01-01', '1234567', 'FAC_TAPNY001', '2025-10-10 09:30:00 America/New_York')$$,
    '23514', 'new row for relation "patient_registrations" violates check constraint "patient_name_length"',
    'a blank patient name is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.patient_registrations
             (patient_id, patient_name, date_of_birth, contact_number, facility_id, registered_at)
      VALUES ('PAT_x', 'TAP Patient', '1990-01-01', '1234567', 'FAC_TAPNY001', '2025-10-10 09:30:00 America/New_York')$$,
    '23514', 'new row for relation "patient_registrations" violates check constraint "patient_id_format"',
    'a malformed patient_id is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.patient_registrations
             (registration_id, patient_name, date_of_birth, contact_number, facility_id, registered_at)
      VALUES ((SELECT registration_id FROM globalsync.patient_registrations WHERE facility_id = 'FAC_TAPNY001' LIMIT 1),
              'TAP Patient', '1990-01-01', '1234567', 'FAC_TAPNY001', '2025-10-10 09:30:00 America/New_York')$$,
    '23505', NULL,
    'a duplicate registration_id is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.patient_registrations
             (patient_name, date_of_birth, contact_number, facility_id, registered_at)
      VALUES ('TAP Patient', '2025-10-12', '1234567', 'FAC_TAPNY001', '2025-10-10 09:30:00 America/New_York')$$,
    '23514', 'new row for relation "patient_registrations" violates check constraint "born_before_registration"',
    'a date of birth after the registration is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.patient_registrations
             (patient_name, date_of_birth, contact_number, facility_id, registered_at)
      VALUES ('TAP Patient', '1990-01-01', '1234567', 'FAC_TAPNONE1', '2025-10-10 09:30:00 America/New_York')$$,
    '23503', NULL,
    'a registration at a facility that does not exist is refused');

-- -------------------------------------------------------------------
-- patient_registrations: generated IST columns
-- -------------------------------------------------------------------
SELECT is(
    (SELECT ARRAY[registration_timezone, registered_at_ist::text, globalsync.local_time(registered_at)::text]
       FROM globalsync.patient_registrations WHERE facility_id = 'FAC_TAPNY001' LIMIT 1),
    ARRAY['America/New_York', '2025-10-10 19:00:00+05:30', '2025-10-10 09:30:00'],
    'registration_timezone and registered_at_ist are generated from registered_at');
SELECT is_empty(
    $$SELECT FROM globalsync.patient_registrations
       WHERE registered_at_ist <> globalsync.to_ist(registered_at)
          OR registration_timezone <> globalsync.zone_name(registered_at)$$,
    'every row''s registered_at_ist and registration_timezone agree with registered_at');
SELECT throws_ok(
    $$INSERT INTO globalsync.patient_registrations
             (patient_name, date_of_birth, contact_number, facility_id, registered_at, registered_at_ist)
      VALUES ('TAP Patient', '1990-01-01', '1234567', 'FAC_TAPNY001', '2025-10-10 09:30:00 America/New_York',
              '2025-10-10 09:30:00 Asia/Kolkata')$$,
    '428C9', NULL,
    'registered_at_ist cannot be written by INSERT');
SELECT throws_ok(
    $$INSERT INTO globalsync.patient_registrations
             (patient_name, date_of_birth, contact_number, facility_id, registered_at, registration_timezone)
      VALUES ('TAP Patient', '1990-01-01', '1234567', 'FAC_TAPNY001', '2025-10-10 09:30:00 America/New_York', 'UTC')$$,
    '428C9', NULL,
    'registration_timezone cannot be written by INSERT');
SELECT throws_ok(
    $$UPDATE globalsync.patient_registrations SET registered_at_ist = now() WHERE facility_id = 'FAC_TAPNY001'$$,
    '428C9', NULL,
    'registered_at_ist cannot be written by UPDATE');
SELECT throws_ok(
    $$UPDATE globalsync.patient_registrations SET registration_timezone = 'UTC' WHERE facility_id = 'FAC_TAPNY001'$$,
    '428C9', NULL,
    'registration_timezone cannot be written by UPDATE');
UPDATE globalsync.patient_registrations
   SET registered_at = '2025-03-09 02:30:00 EST'
 WHERE contact_number = '1234567';
SELECT is(
    (SELECT array_agg(DISTINCT registration_timezone || ' ' || registered_at_ist::text)
       FROM globalsync.patient_registrations WHERE contact_number = '1234567'),
    ARRAY['EST 2025-03-09 13:00:00+05:30'],
    'updating registered_at recomputes the generated columns');

-- -------------------------------------------------------------------
-- foreign keys
-- -------------------------------------------------------------------
SELECT throws_ok(
    $$DELETE FROM globalsync.facilities WHERE facility_id = 'FAC_TAPNY001'$$,
    '23503', 'update or delete on table "facilities" violates foreign key constraint "patient_registrations_facility_id_fkey" on table "patient_registrations"',
    'a facility with patients cannot be deleted (ON DELETE RESTRICT)');
SELECT lives_ok(
    $$DELETE FROM globalsync.facilities WHERE facility_id = 'FAC_TAPTZ010'$$,
    'a facility without patients can be deleted');
SELECT count(*) AS tap_ny_patients FROM globalsync.patient_registrations WHERE facility_id = 'FAC_TAPNY001' \gset
SELECT lives_ok(
    $$UPDATE globalsync.facilities SET facility_id = 'FAC_TAPNY002' WHERE facility_id = 'FAC_TAPNY001'$$,
    'a facility with patients can be given a new id');
SELECT is(
    (SELECT ARRAY[count(*) FILTER (WHERE facility_id = 'FAC_TAPNY001'), count(*) FILTER (WHERE facility_id = 'FAC_TAPNY002')]::int[]
       FROM globalsync.patient_registrations),
    ARRAY[0, :tap_ny_patients],
    'the new facility id cascades to its patients (ON UPDATE CASCADE)');

-- -------------------------------------------------------------------
-- sync_log
-- -------------------------------------------------------------------
PREPARE tap_log(text, text, globalsync.ist_timestamp, globalsync.ist_timestamp) AS
    INSERT INTO globalsync.sync_log (source_facility_id, target_id, operation_type, status, sync_started_at, sync_completed_at)
    VALUES ('FAC_TAPTZ007', 'TGT_TAPHTTP1', $1, $2, $3, $4);

SELECT lives_ok(
    $$EXECUTE tap_log('MANUAL_SYNC', 'running', '2025-10-10 10:00:00 UTC', NULL)$$,
    'a running sync without completion time is accepted');
SELECT lives_ok(
    $$INSERT INTO globalsync.sync_log (source_facility_id, target_id, operation_type, status, sync_started_at, sync_completed_at)
      VALUES ('FAC_TAPTZ007', 'TGT_TAPHTTP1', 'SCHEDULED_SYNC', 'completed', '2025-10-10 10:00:00 UTC', '2025-10-10 10:00:05 UTC'),
             ('FAC_TAPTZ007', 'TGT_TAPHTTP1', 'REALTIME_SYNC', 'failed', '2025-10-10 10:00:00 UTC', '2025-10-10 10:00:00 UTC'),
             (NULL, 'TGT_TAPHTTP1', 'FULL_SYNC', 'cancelled', '2025-10-10 10:00:00 UTC', '2025-10-10 10:01:00 UTC'),
             ('FAC_TAPTZ008', 'TGT_TAPFILE1', 'RETRY', 'completed', '2025-10-10 10:00:00 UTC', '2025-10-10 10:01:00 UTC')$$,
    'every operation type and every finished status is accepted');
SELECT throws_ok(
    $$EXECUTE tap_log('SOMETIMES_SYNC', 'running', '2025-10-10 10:00:00 UTC', NULL)$$,
    '23514', 'new row for relation "sync_log" violates check constraint "operation_type_known"',
    'an unknown operation_type is refused');
SELECT throws_ok(
    $$EXECUTE tap_log('manual_sync', 'running', '2025-10-10 10:00:00 UTC', NULL)$$,
    '23514', 'new row for relation "sync_log" violates check constraint "operation_type_known"',
    'operation types are upper case');
SELECT throws_ok(
    $$EXECUTE tap_log('MANUAL_SYNC', 'done', '2025-10-10 10:00:00 UTC', '2025-10-10 10:00:01 UTC')$$,
    '23514', 'new row for relation "sync_log" violates check constraint "status_known"',
    'an unknown status is refused');
SELECT throws_ok(
    $$EXECUTE tap_log('MANUAL_SYNC', 'completed', '2025-10-10 10:00:00 UTC', '2025-10-10 09:59:59 UTC')$$,
    '23514', 'new row for relation "sync_log" violates check constraint "completed_after_started"',
    'a sync completed before it started is refused');
SELECT throws_ok(
    $$EXECUTE tap_log('MANUAL_SYNC', 'completed', '2025-10-10 10:00:00 UTC', NULL)$$,
    '23514', 'new row for relation "sync_log" violates check constraint "finished_has_completion"',
    'a finished sync without completion time is refused');
SELECT throws_ok(
    $$EXECUTE tap_log('MANUAL_SYNC', 'running', '2025-10-10 10:00:00 UTC', '2025-10-10 10:00:01 UTC')$$,
    '23514', 'new row for relation "sync_log" violates check constraint "finished_has_completion"',
    'a running sync with a completion time is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.sync_log (target_id, operation_type, status, record_count) VALUES ('TGT_TAPHTTP1', 'RETRY', 'running', -1)$$,
    '23514', 'new row for relation "sync_log" violates check constraint "record_count_nonnegative"',
    'a negative record_count is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.sync_log (target_id, operation_type, status, lag_seconds) VALUES ('TGT_TAPHTTP1', 'RETRY', 'running', -0.5)$$,
    '23514', 'new row for relation "sync_log" violates check constraint "lag_nonnegative"',
    'a negative lag is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.sync_log (target_id, operation_type, status, duration_seconds) VALUES ('TGT_TAPHTTP1', 'RETRY', 'running', -1)$$,
    '23514', 'new row for relation "sync_log" violates check constraint "duration_nonnegative"',
    'a negative duration is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.sync_log (log_id, target_id, operation_type, status) VALUES (42, 'TGT_TAPHTTP1', 'RETRY', 'running')$$,
    '428C9', NULL,
    'log_id cannot be written (GENERATED ALWAYS AS IDENTITY)');
SELECT throws_ok(
    $$INSERT INTO globalsync.sync_log (target_id, operation_type, status) VALUES ('TGT_TAPNONE1', 'RETRY', 'running')$$,
    '23503', NULL,
    'a sync of a target that does not exist is refused');
SELECT is(
    (SELECT ARRAY[created_by_user, record_count::text]
       FROM globalsync.sync_log WHERE operation_type = 'MANUAL_SYNC' AND target_id = 'TGT_TAPHTTP1'),
    ARRAY[current_user::text, '0'],
    'created_by_user defaults to the current user and record_count to 0');
SELECT lives_ok($$DELETE FROM globalsync.facilities WHERE facility_id = 'FAC_TAPTZ008'$$,
    'a facility named only in sync_log can be deleted');
SELECT is(
    (SELECT source_facility_id FROM globalsync.sync_log WHERE operation_type = 'RETRY' AND target_id = 'TGT_TAPFILE1'),
    NULL,
    'deleting a facility keeps its sync_log rows with source_facility_id NULL');
SELECT lives_ok($$DELETE FROM globalsync.targets WHERE target_id = 'TGT_TAPHTTP1'$$,
    'a target with sync_log rows can be deleted');
SELECT is(
    (SELECT count(*)::int FROM globalsync.sync_log WHERE target_id = 'TGT_TAPHTTP1'),
    0,
    'deleting a target deletes its sync_log rows');

-- -------------------------------------------------------------------
-- change capture: capture_state keeps one row, capture_secrets valid keys
-- -------------------------------------------------------------------
SELECT throws_ok(
    $$INSERT INTO globalsync.capture_state DEFAULT VALUES$$,
    '23505', 'duplicate key value violates unique constraint "capture_state_pkey"',
    'capture_state refuses a second row');
SELECT throws_ok(
    $$INSERT INTO globalsync.capture_state (singleton) VALUES (false)$$,
    '23514', 'new row for relation "capture_state" violates check constraint "capture_state_one_row"',
    'capture_state refuses a row with singleton = false');
SELECT throws_ok(
    $$UPDATE globalsync.capture_state SET rotate_interval = '0'$$,
    '23514', 'new row for relation "capture_state" violates check constraint "rotate_interval_positive"',
    'a zero rotate_interval is refused');
SELECT throws_ok(
    $$UPDATE globalsync.capture_state SET rotate_bytes = 0$$,
    '23514', 'new row for relation "capture_state" violates check constraint "rotate_bytes_positive"',
    'a zero rotate_bytes is refused');
SELECT lives_ok(
    $$INSERT INTO globalsync.capture_secrets (created_at, mask_key) VALUES ('2002-02-02 00:00:00+00', decode(repeat('ab', 32), 'hex'))$$,
    'capture_secrets takes a second key (a restored one); the oldest is in use');
SELECT throws_ok(
    $$UPDATE globalsync.capture_secrets SET mask_key = decode(repeat('ab', 1025), 'hex')$$,
    '23514', 'new row for relation "capture_secrets" violates check constraint "mask_key_length"',
    'a mask key longer than 1024 bytes is refused');
SELECT throws_ok(
    $$UPDATE globalsync.capture_secrets SET mask_key = decode(repeat('ab', 15), 'hex')$$,
    '23514', 'new row for relation "capture_secrets" violates check constraint "mask_key_length"',
    'a mask key shorter than 16 bytes is refused');
SELECT throws_ok(
    $$UPDATE globalsync.capture_secrets SET mask_key = NULL$$,
    '23502', NULL,
    'a NULL mask key is refused');

-- -------------------------------------------------------------------
-- change capture: change_log, ticks, consumers
-- -------------------------------------------------------------------
SELECT throws_ok(
    $$INSERT INTO globalsync.change_log (slot, table_oid, table_name, op) VALUES (0, 0, 'tap.constraints', 'X')$$,
    '23514', 'new row for relation "change_log_0" violates check constraint "op_known"',
    'an event with an operation other than I, U, D, T is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.change_log (slot, table_oid, table_name, op) VALUES (3, 0, 'tap.constraints', 'I')$$,
    '23514', 'no partition of relation "change_log" found for row',
    'an event outside slots 0, 1, 2 is refused (no partition)');
SELECT throws_ok(
    $$INSERT INTO globalsync.change_log (slot, table_oid, op) VALUES (0, 0, 'I')$$,
    '23502', NULL,
    'an event without table name is refused');
WITH ins AS (
    INSERT INTO globalsync.change_log (slot, table_oid, table_name, op)
    VALUES (1, 0, 'tap.constraints', 'T')
    RETURNING event_id, xid, captured_at
)
SELECT ok(event_id IS NOT NULL AND xid = pg_catalog.pg_current_xact_id() AND captured_at IS NOT NULL,
    'an event gets an event id, the current transaction''s xid and the capture time by default') FROM ins;
SELECT throws_ok(
    $$INSERT INTO globalsync.ticks (tick_id, slot, snapshot) VALUES (-7, 0, '1:1:'), (-7, 0, '1:1:')$$,
    '23505', NULL,
    'a tick id appears once per slot');
SELECT throws_ok(
    $$INSERT INTO globalsync.ticks (slot, snapshot) VALUES (0, NULL)$$,
    '23502', NULL,
    'a tick without snapshot is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.ticks (slot, snapshot) VALUES (3, '1:1:')$$,
    '23514', 'no partition of relation "ticks" found for row',
    'a tick outside slots 0, 1, 2 is refused (no partition)');
SELECT throws_ok(
    $$INSERT INTO globalsync.consumers (consumer, last_tick, last_snapshot) VALUES ('tap consumer', 1, '1:1:')$$,
    '23514', 'new row for relation "consumers" violates check constraint "consumer_name"',
    'a consumer name with a space is refused');
SELECT throws_ok(
    $$INSERT INTO globalsync.consumers (consumer, last_tick, last_snapshot) VALUES (repeat('c', 101), 1, '1:1:')$$,
    '23514', 'new row for relation "consumers" violates check constraint "consumer_name"',
    'a consumer name over 100 characters is refused');
SELECT lives_ok(
    $$INSERT INTO globalsync.consumers (consumer, last_tick, last_snapshot) VALUES ('tap.constraints:TGT_TAPHTTP1-a_b', 1, '1:1:')$$,
    'a consumer name of letters, digits and _ . : - is accepted');
SELECT throws_ok(
    $$INSERT INTO globalsync.consumers (consumer, last_tick, last_snapshot, batch_id) VALUES ('tap.constraints.b', 1, '1:1:', 7)$$,
    '23514', 'new row for relation "consumers" violates check constraint "batch_complete"',
    'an open batch needs its tick and snapshot (batch_id alone is refused)');
SELECT throws_ok(
    $$UPDATE globalsync.consumers SET batch_id = 7, batch_tick = 2 WHERE consumer = 'tap.constraints:TGT_TAPHTTP1-a_b'$$,
    '23514', 'new row for relation "consumers" violates check constraint "batch_complete"',
    'an open batch needs its snapshot too');
SELECT throws_ok(
    $$INSERT INTO globalsync.consumers (consumer, last_tick, last_snapshot) VALUES ('tap.constraints:TGT_TAPHTTP1-a_b', 2, '1:1:')$$,
    '23505', NULL,
    'a consumer name is registered once');

SELECT * FROM finish();
ROLLBACK;
