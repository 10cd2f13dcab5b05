-- 003_privileges.sql: who may do what (DESIGN.md, Security).
--
-- globalsync_reader: schema usage, the types and their functions, the views
--   (tracked_tables and capture_stats included), health(), list_facilities()
--   and capture_pending(); no table, and no other capture function.
-- globalsync_operator: reader + register_patient().
-- globalsync_admin: operator + add_facility(), set_facility_active(), DML on
--   facilities and targets, SELECT on patient_registrations and sync_log,
--   capture_trigger(), track() and untrack() (which act with the caller's
--   rights: only on tables the caller owns).
-- The owner only: the change capture tables (capture_state, capture_secrets,
--   change_log, ticks, consumers, their partitions and sequences) and
--   tick(), register_consumer(), unregister_consumer(), next_batch(),
--   batch_events(), finish_batch(), maintain_log().
-- PUBLIC: nothing.
--
-- First the catalog (pgTAP privilege functions), then behaviour: for each
-- role a NOLOGIN test role, created inside this transaction and granted
-- that role, does things under SET LOCAL ROLE.  ROLLBACK removes the roles.
-- What capture does for and refuses to these roles (and the setting
-- globalsync.capture) is exercised in 005_capture.sql.

\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SELECT plan(178);

-- fixtures, as the superuser running the suite
INSERT INTO globalsync.facilities (facility_id, name, timezone, location) VALUES
    ('FAC_TAPPRIV1', 'TAP Privileges Clinic', 'Asia/Kolkata', 'Pune'),
    ('FAC_TAPPRIV2', 'TAP Privileges Annex', 'America/New_York', 'Albany');
INSERT INTO globalsync.targets (target_id, name, kind, endpoint) VALUES
    ('TGT_TAPPRIV1', 'tap privileges target', 'file', '/tmp/tap-privileges');
INSERT INTO globalsync.sync_log (source_facility_id, target_id, operation_type, status)
    VALUES ('FAC_TAPPRIV1', 'TGT_TAPPRIV1', 'MANUAL_SYNC', 'running');

CREATE ROLE tap_gs_reader NOLOGIN IN ROLE globalsync_reader;
CREATE ROLE tap_gs_operator NOLOGIN IN ROLE globalsync_operator;
CREATE ROLE tap_gs_admin NOLOGIN IN ROLE globalsync_admin;
CREATE ROLE tap_gs_nobody NOLOGIN;

-- ===================================================================
-- roles
-- ===================================================================
SELECT has_role('globalsync_reader', 'role globalsync_reader exists');
SELECT has_role('globalsync_operator', 'role globalsync_operator exists');
SELECT has_role('globalsync_admin', 'role globalsync_admin exists');
SELECT is_empty(
    $$SELECT rolname FROM pg_catalog.pg_roles
       WHERE rolname IN ('globalsync_reader', 'globalsync_operator', 'globalsync_admin')
         AND (rolcanlogin OR rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls OR rolreplication)$$,
    'the three roles are plain NOLOGIN group roles');
SELECT is_member_of('globalsync_reader', ARRAY['globalsync_operator'], 'globalsync_operator is a member of globalsync_reader');
SELECT is_member_of('globalsync_operator', ARRAY['globalsync_admin'], 'globalsync_admin is a member of globalsync_operator');
SELECT ok(pg_catalog.pg_has_role('globalsync_admin', 'globalsync_reader', 'USAGE'),
    'globalsync_admin has what globalsync_reader has (through operator)');
SELECT ok(NOT pg_catalog.pg_has_role('globalsync_reader', 'globalsync_operator', 'MEMBER'),
    'globalsync_reader is not a member of globalsync_operator');
SELECT ok(NOT pg_catalog.pg_has_role('globalsync_operator', 'globalsync_admin', 'MEMBER'),
    'globalsync_operator is not a member of globalsync_admin');
SELECT ok(NOT pg_catalog.pg_has_role('globalsync_reader', 'globalsync_admin', 'MEMBER'),
    'globalsync_reader is not a member of globalsync_admin');

-- ===================================================================
-- catalog: schema
-- ===================================================================
SELECT schema_privs_are('globalsync', 'globalsync_reader', ARRAY['USAGE'], 'reader may use schema globalsync, not create in it');
SELECT schema_privs_are('globalsync', 'globalsync_operator', ARRAY['USAGE'], 'operator may use schema globalsync, not create in it');
SELECT schema_privs_are('globalsync', 'globalsync_admin', ARRAY['USAGE'], 'admin may use schema globalsync, not create in it');
SELECT schema_privs_are('globalsync', 'public', ARRAY[]::name[], 'PUBLIC has no privilege on schema globalsync');

-- ===================================================================
-- catalog: tables
-- ===================================================================
SELECT table_privs_are('globalsync', 'facilities', 'globalsync_reader', ARRAY[]::name[], 'reader has no privilege on facilities');
SELECT table_privs_are('globalsync', 'targets', 'globalsync_reader', ARRAY[]::name[], 'reader has no privilege on targets');
SELECT table_privs_are('globalsync', 'patient_registrations', 'globalsync_reader', ARRAY[]::name[], 'reader has no privilege on patient_registrations');
SELECT table_privs_are('globalsync', 'sync_log', 'globalsync_reader', ARRAY[]::name[], 'reader has no privilege on sync_log');
SELECT table_privs_are('globalsync', 'facilities', 'globalsync_operator', ARRAY[]::name[], 'operator has no privilege on facilities');
SELECT table_privs_are('globalsync', 'targets', 'globalsync_operator', ARRAY[]::name[], 'operator has no privilege on targets');
SELECT table_privs_are('globalsync', 'patient_registrations', 'globalsync_operator', ARRAY[]::name[], 'operator has no privilege on patient_registrations');
SELECT table_privs_are('globalsync', 'sync_log', 'globalsync_operator', ARRAY[]::name[], 'operator has no privilege on sync_log');
SELECT table_privs_are('globalsync', 'facilities', 'globalsync_admin', ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'], 'admin has SELECT, INSERT, UPDATE, DELETE on facilities');
SELECT table_privs_are('globalsync', 'targets', 'globalsync_admin', ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'], 'admin has SELECT, INSERT, UPDATE, DELETE on targets');
SELECT table_privs_are('globalsync', 'patient_registrations', 'globalsync_admin', ARRAY['SELECT'], 'admin has only SELECT on patient_registrations');
SELECT table_privs_are('globalsync', 'sync_log', 'globalsync_admin', ARRAY['SELECT'], 'admin has only SELECT on sync_log');
SELECT table_privs_are('globalsync', 'facilities', 'public', ARRAY[]::name[], 'PUBLIC has no privilege on facilities');
SELECT table_privs_are('globalsync', 'targets', 'public', ARRAY[]::name[], 'PUBLIC has no privilege on targets');
SELECT table_privs_are('globalsync', 'patient_registrations', 'public', ARRAY[]::name[], 'PUBLIC has no privilege on patient_registrations');
SELECT table_privs_are('globalsync', 'sync_log', 'public', ARRAY[]::name[], 'PUBLIC has no privilege on sync_log');
SELECT sequence_privs_are('globalsync', 'sync_log_log_id_seq', 'globalsync_reader', ARRAY[]::name[], 'reader has no privilege on sync_log_log_id_seq');
SELECT sequence_privs_are('globalsync', 'sync_log_log_id_seq', 'globalsync_operator', ARRAY[]::name[], 'operator has no privilege on sync_log_log_id_seq');
SELECT sequence_privs_are('globalsync', 'sync_log_log_id_seq', 'globalsync_admin', ARRAY[]::name[], 'admin has no privilege on sync_log_log_id_seq');
SELECT sequence_privs_are('globalsync', 'sync_log_log_id_seq', 'public', ARRAY[]::name[], 'PUBLIC has no privilege on sync_log_log_id_seq');

-- change capture: the log, ticks, consumers, state and key are the owner's
SELECT table_privs_are('globalsync', 'capture_secrets', 'globalsync_reader', ARRAY[]::name[], 'reader has no privilege on capture_secrets');
SELECT table_privs_are('globalsync', 'capture_secrets', 'globalsync_operator', ARRAY[]::name[], 'operator has no privilege on capture_secrets');
SELECT table_privs_are('globalsync', 'capture_secrets', 'globalsync_admin', ARRAY[]::name[], 'admin has no privilege on capture_secrets');
SELECT table_privs_are('globalsync', 'capture_secrets', 'public', ARRAY[]::name[], 'PUBLIC has no privilege on capture_secrets');
SELECT table_privs_are('globalsync', 'change_log', 'globalsync_reader', ARRAY[]::name[], 'reader has no privilege on change_log');
SELECT table_privs_are('globalsync', 'change_log', 'globalsync_operator', ARRAY[]::name[], 'operator has no privilege on change_log');
SELECT table_privs_are('globalsync', 'change_log', 'globalsync_admin', ARRAY[]::name[], 'admin has no privilege on change_log');
SELECT table_privs_are('globalsync', 'change_log', 'public', ARRAY[]::name[], 'PUBLIC has no privilege on change_log');
SELECT table_privs_are('globalsync', 'ticks', 'globalsync_reader', ARRAY[]::name[], 'reader has no privilege on ticks');
SELECT table_privs_are('globalsync', 'ticks', 'globalsync_operator', ARRAY[]::name[], 'operator has no privilege on ticks');
SELECT table_privs_are('globalsync', 'ticks', 'globalsync_admin', ARRAY[]::name[], 'admin has no privilege on ticks');
SELECT table_privs_are('globalsync', 'ticks', 'public', ARRAY[]::name[], 'PUBLIC has no privilege on ticks');
SELECT table_privs_are('globalsync', 'consumers', 'globalsync_reader', ARRAY[]::name[], 'reader has no privilege on consumers');
SELECT table_privs_are('globalsync', 'consumers', 'globalsync_operator', ARRAY[]::name[], 'operator has no privilege on consumers');
SELECT table_privs_are('globalsync', 'consumers', 'globalsync_admin', ARRAY[]::name[], 'admin has no privilege on consumers');
SELECT table_privs_are('globalsync', 'consumers', 'public', ARRAY[]::name[], 'PUBLIC has no privilege on consumers');
SELECT table_privs_are('globalsync', 'capture_state', 'globalsync_reader', ARRAY[]::name[], 'reader has no privilege on capture_state');
SELECT table_privs_are('globalsync', 'capture_state', 'globalsync_operator', ARRAY[]::name[], 'operator has no privilege on capture_state');
SELECT table_privs_are('globalsync', 'capture_state', 'globalsync_admin', ARRAY[]::name[], 'admin has no privilege on capture_state');
SELECT table_privs_are('globalsync', 'capture_state', 'public', ARRAY[]::name[], 'PUBLIC has no privilege on capture_state');
SELECT is_empty(
    $$SELECT c.oid::regclass::text, a.grantee::regrole::text, a.privilege_type
        FROM pg_catalog.pg_class c
        CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) a
       WHERE c.oid IN ('globalsync.capture_state'::regclass, 'globalsync.capture_secrets'::regclass,
                       'globalsync.consumers'::regclass,
                       'globalsync.change_log'::regclass, 'globalsync.change_log_0'::regclass,
                       'globalsync.change_log_1'::regclass, 'globalsync.change_log_2'::regclass,
                       'globalsync.ticks'::regclass, 'globalsync.ticks_0'::regclass,
                       'globalsync.ticks_1'::regclass, 'globalsync.ticks_2'::regclass,
                       'globalsync.change_log_event_id_seq'::regclass, 'globalsync.ticks_tick_id_seq'::regclass,
                       'globalsync.batch_id_seq'::regclass)
         AND a.grantee <> c.relowner$$,
    'nobody but the owner holds a privilege on the capture tables, their partitions and sequences');

-- ===================================================================
-- catalog: views
-- ===================================================================
SELECT table_privs_are('globalsync', 'time_zones', 'globalsync_reader', ARRAY['SELECT'], 'reader may SELECT time_zones');
SELECT table_privs_are('globalsync', 'facility_stats', 'globalsync_reader', ARRAY['SELECT'], 'reader may SELECT facility_stats');
SELECT table_privs_are('globalsync', 'registration_calendar', 'globalsync_reader', ARRAY['SELECT'], 'reader may SELECT registration_calendar');
SELECT table_privs_are('globalsync', 'time_zones', 'globalsync_operator', ARRAY['SELECT'], 'operator may SELECT time_zones');
SELECT table_privs_are('globalsync', 'facility_stats', 'globalsync_operator', ARRAY['SELECT'], 'operator may SELECT facility_stats');
SELECT table_privs_are('globalsync', 'registration_calendar', 'globalsync_operator', ARRAY['SELECT'], 'operator may SELECT registration_calendar');
SELECT table_privs_are('globalsync', 'time_zones', 'globalsync_admin', ARRAY['SELECT'], 'admin may SELECT time_zones');
SELECT table_privs_are('globalsync', 'facility_stats', 'globalsync_admin', ARRAY['SELECT'], 'admin may SELECT facility_stats');
SELECT table_privs_are('globalsync', 'registration_calendar', 'globalsync_admin', ARRAY['SELECT'], 'admin may SELECT registration_calendar');
SELECT table_privs_are('globalsync', 'time_zones', 'public', ARRAY[]::name[], 'PUBLIC may not SELECT time_zones');
SELECT table_privs_are('globalsync', 'facility_stats', 'public', ARRAY[]::name[], 'PUBLIC may not SELECT facility_stats');
SELECT table_privs_are('globalsync', 'registration_calendar', 'public', ARRAY[]::name[], 'PUBLIC may not SELECT registration_calendar');
SELECT table_privs_are('globalsync', 'tracked_tables', 'globalsync_reader', ARRAY['SELECT'], 'reader may SELECT tracked_tables');
SELECT table_privs_are('globalsync', 'tracked_tables', 'globalsync_operator', ARRAY['SELECT'], 'operator may SELECT tracked_tables');
SELECT table_privs_are('globalsync', 'tracked_tables', 'globalsync_admin', ARRAY['SELECT'], 'admin may SELECT tracked_tables');
SELECT table_privs_are('globalsync', 'tracked_tables', 'public', ARRAY[]::name[], 'PUBLIC may not SELECT tracked_tables');
SELECT table_privs_are('globalsync', 'capture_stats', 'globalsync_reader', ARRAY['SELECT'], 'reader may SELECT capture_stats');
SELECT table_privs_are('globalsync', 'capture_stats', 'globalsync_operator', ARRAY['SELECT'], 'operator may SELECT capture_stats');
SELECT table_privs_are('globalsync', 'capture_stats', 'globalsync_admin', ARRAY['SELECT'], 'admin may SELECT capture_stats');
SELECT table_privs_are('globalsync', 'capture_stats', 'public', ARRAY[]::name[], 'PUBLIC may not SELECT capture_stats');

-- ===================================================================
-- catalog: functions
-- ===================================================================
SELECT function_privs_are('globalsync', 'health', ARRAY[]::name[], 'globalsync_reader', ARRAY['EXECUTE'], 'reader may execute health()');
SELECT function_privs_are('globalsync', 'health', ARRAY[]::name[], 'globalsync_operator', ARRAY['EXECUTE'], 'operator may execute health()');
SELECT function_privs_are('globalsync', 'health', ARRAY[]::name[], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute health()');
SELECT function_privs_are('globalsync', 'health', ARRAY[]::name[], 'public', ARRAY[]::name[], 'PUBLIC may not execute health()');
SELECT function_privs_are('globalsync', 'list_facilities', ARRAY['text', 'boolean'], 'globalsync_reader', ARRAY['EXECUTE'], 'reader may execute list_facilities()');
SELECT function_privs_are('globalsync', 'list_facilities', ARRAY['text', 'boolean'], 'globalsync_operator', ARRAY['EXECUTE'], 'operator may execute list_facilities()');
SELECT function_privs_are('globalsync', 'list_facilities', ARRAY['text', 'boolean'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute list_facilities()');
SELECT function_privs_are('globalsync', 'list_facilities', ARRAY['text', 'boolean'], 'public', ARRAY[]::name[], 'PUBLIC may not execute list_facilities()');
SELECT function_privs_are('globalsync', 'to_ist', ARRAY['timestamp', 'text'], 'globalsync_reader', ARRAY['EXECUTE'], 'reader may execute to_ist(timestamp, text)');
SELECT function_privs_are('globalsync', 'to_ist', ARRAY['timestamp', 'text'], 'globalsync_operator', ARRAY['EXECUTE'], 'operator may execute to_ist(timestamp, text)');
SELECT function_privs_are('globalsync', 'to_ist', ARRAY['timestamp', 'text'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute to_ist(timestamp, text)');
SELECT function_privs_are('globalsync', 'to_ist', ARRAY['timestamp', 'text'], 'public', ARRAY[]::name[], 'PUBLIC may not execute to_ist(timestamp, text)');
SELECT function_privs_are('globalsync', 'register_patient', ARRAY['text', 'date', 'text', 'text', 'text', 'text', 'timestamp'], 'globalsync_reader', ARRAY[]::name[], 'reader may not execute register_patient()');
SELECT function_privs_are('globalsync', 'register_patient', ARRAY['text', 'date', 'text', 'text', 'text', 'text', 'timestamp'], 'globalsync_operator', ARRAY['EXECUTE'], 'operator may execute register_patient()');
SELECT function_privs_are('globalsync', 'register_patient', ARRAY['text', 'date', 'text', 'text', 'text', 'text', 'timestamp'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute register_patient()');
SELECT function_privs_are('globalsync', 'register_patient', ARRAY['text', 'date', 'text', 'text', 'text', 'text', 'timestamp'], 'public', ARRAY[]::name[], 'PUBLIC may not execute register_patient()');
SELECT function_privs_are('globalsync', 'add_facility', ARRAY['text', 'text', 'text'], 'globalsync_reader', ARRAY[]::name[], 'reader may not execute add_facility()');
SELECT function_privs_are('globalsync', 'add_facility', ARRAY['text', 'text', 'text'], 'globalsync_operator', ARRAY[]::name[], 'operator may not execute add_facility()');
SELECT function_privs_are('globalsync', 'add_facility', ARRAY['text', 'text', 'text'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute add_facility()');
SELECT function_privs_are('globalsync', 'add_facility', ARRAY['text', 'text', 'text'], 'public', ARRAY[]::name[], 'PUBLIC may not execute add_facility()');
SELECT function_privs_are('globalsync', 'set_facility_active', ARRAY['text', 'boolean'], 'globalsync_reader', ARRAY[]::name[], 'reader may not execute set_facility_active()');
SELECT function_privs_are('globalsync', 'set_facility_active', ARRAY['text', 'boolean'], 'globalsync_operator', ARRAY[]::name[], 'operator may not execute set_facility_active()');
SELECT function_privs_are('globalsync', 'set_facility_active', ARRAY['text', 'boolean'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute set_facility_active()');
SELECT function_privs_are('globalsync', 'set_facility_active', ARRAY['text', 'boolean'], 'public', ARRAY[]::name[], 'PUBLIC may not execute set_facility_active()');
SELECT function_privs_are('globalsync', 'new_id', ARRAY['text', 'integer'], 'public', ARRAY[]::name[], 'PUBLIC may not execute new_id()');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'globalsync'::regnamespace
         AND pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE')$$,
    'PUBLIC may execute no function of schema globalsync');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
        JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'globalsync'
       WHERE pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE')$$,
    'PUBLIC may execute no function or aggregate of the extension, also those in pg_catalog (min, max)');
SELECT set_eq(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'globalsync'::regnamespace
         AND NOT pg_catalog.has_function_privilege('globalsync_reader', p.oid, 'EXECUTE')$$,
    ARRAY['globalsync.new_id(text,integer)',
          'globalsync.add_facility(text,text,text)',
          'globalsync.set_facility_active(text,boolean)',
          'globalsync.register_patient(text,date,text,text,text,text,timestamp without time zone)',
          'globalsync.capture_trigger()',
          'globalsync.track(regclass,text[],text[])',
          'globalsync.untrack(regclass)',
          'globalsync.tick()',
          'globalsync.register_consumer(text)',
          'globalsync.unregister_consumer(text)',
          'globalsync.next_batch(text, bigint)',
          'globalsync.batch_events(bigint,bigint,integer)',
          'globalsync.finish_batch(bigint)',
          'globalsync.maintain_log()'],
    'reader may execute every function except new_id, add_facility, set_facility_active, register_patient and the capture functions other than capture_pending');

-- change capture functions, per role: exactly these may be executed
CREATE TEMP TABLE tap_capture_functions (f regprocedure PRIMARY KEY);
INSERT INTO tap_capture_functions VALUES
    ('globalsync.capture_trigger()'), ('globalsync.track(regclass, text[], text[])'), ('globalsync.untrack(regclass)'),
    ('globalsync.tick()'), ('globalsync.register_consumer(text)'), ('globalsync.unregister_consumer(text)'),
    ('globalsync.next_batch(text, bigint)'), ('globalsync.batch_events(bigint, bigint, integer)'),
    ('globalsync.finish_batch(bigint)'), ('globalsync.maintain_log()'), ('globalsync.capture_pending()');
SELECT set_eq(
    $$SELECT f::text FROM tap_capture_functions WHERE pg_catalog.has_function_privilege('globalsync_reader', f, 'EXECUTE')$$,
    ARRAY['globalsync.capture_pending()'],
    'of the capture functions, reader may execute capture_pending() only');
SELECT set_eq(
    $$SELECT f::text FROM tap_capture_functions WHERE pg_catalog.has_function_privilege('globalsync_operator', f, 'EXECUTE')$$,
    ARRAY['globalsync.capture_pending()'],
    'of the capture functions, operator may execute capture_pending() only');
SELECT set_eq(
    $$SELECT f::text FROM tap_capture_functions WHERE pg_catalog.has_function_privilege('globalsync_admin', f, 'EXECUTE')$$,
    ARRAY['globalsync.capture_trigger()', 'globalsync.track(regclass,text[],text[])', 'globalsync.untrack(regclass)',
          'globalsync.capture_pending()'],
    'of the capture functions, admin may execute capture_trigger(), track(), untrack() and capture_pending()');
SELECT is_empty(
    $$SELECT f::text FROM tap_capture_functions WHERE pg_catalog.has_function_privilege('public', f, 'EXECUTE')$$,
    'PUBLIC may execute no capture function');
SELECT function_privs_are('globalsync', 'tick', ARRAY[]::name[], 'globalsync_admin', ARRAY[]::name[], 'admin may not execute tick()');
SELECT function_privs_are('globalsync', 'batch_events', ARRAY['bigint', 'bigint', 'integer'], 'globalsync_admin', ARRAY[]::name[],
    'admin may not execute batch_events() (the log is read by the owner''s worker)');
SELECT function_privs_are('globalsync', 'track', ARRAY['regclass', 'text[]', 'text[]'], 'globalsync_operator', ARRAY[]::name[],
    'operator may not execute track()');

-- ===================================================================
-- catalog: types
-- ===================================================================
SELECT ok(pg_catalog.has_type_privilege('globalsync_reader', 'globalsync.ist_timestamp', 'USAGE'), 'reader may use type ist_timestamp');
SELECT ok(pg_catalog.has_type_privilege('globalsync_reader', 'globalsync.zoned_timestamp', 'USAGE'), 'reader may use type zoned_timestamp');
SELECT ok(pg_catalog.has_type_privilege('globalsync_reader', 'globalsync.zone_name', 'USAGE'), 'reader may use domain zone_name');
SELECT ok(NOT pg_catalog.has_type_privilege('public', 'globalsync.ist_timestamp', 'USAGE'), 'PUBLIC may not use type ist_timestamp');
SELECT ok(NOT pg_catalog.has_type_privilege('public', 'globalsync.zoned_timestamp', 'USAGE'), 'PUBLIC may not use type zoned_timestamp');
SELECT ok(NOT pg_catalog.has_type_privilege('public', 'globalsync.zone_name', 'USAGE'), 'PUBLIC may not use domain zone_name');

-- ===================================================================
-- catalog: SECURITY DEFINER functions pin search_path
-- ===================================================================
SELECT isnt_empty(
    $$SELECT p.oid FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
        JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'globalsync'
       WHERE p.prosecdef$$,
    'the extension has SECURITY DEFINER functions (so the next tests are not vacuous)');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
        JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'globalsync'
       WHERE p.prosecdef
         AND NOT EXISTS (SELECT FROM unnest(p.proconfig) AS c WHERE c LIKE 'search\_path=%')$$,
    'every SECURITY DEFINER function of the extension sets search_path');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text || ': ' || c FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
        JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'globalsync'
        CROSS JOIN LATERAL unnest(p.proconfig) AS c
       WHERE p.prosecdef AND c LIKE 'search\_path=%'
         AND NOT (c ~ 'pg_temp\s*$' AND c !~* '(public|\$user)')$$,
    'SECURITY DEFINER search_path names no user-writable schema and puts pg_temp last');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'globalsync'::regnamespace AND p.prosecdef
         AND pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE')$$,
    'no SECURITY DEFINER function is executable by PUBLIC');

-- ===================================================================
-- behaviour: a role in none of the three (PUBLIC only)
-- ===================================================================
SET LOCAL ROLE tap_gs_nobody;
SELECT ok(NOT pg_catalog.has_schema_privilege('globalsync', 'USAGE'), 'plain role: no usage on schema globalsync');
SELECT throws_ok($$SELECT globalsync.health()$$, '42501', NULL, 'plain role: health() is denied');
SELECT throws_ok($$SELECT * FROM globalsync.list_facilities()$$, '42501', NULL, 'plain role: list_facilities() is denied');
SELECT throws_ok($$SELECT * FROM globalsync.time_zones$$, '42501', NULL, 'plain role: time_zones is denied');
SELECT throws_ok($$SELECT * FROM globalsync.facility_stats$$, '42501', NULL, 'plain role: facility_stats is denied');
SELECT throws_ok($$SELECT * FROM globalsync.registration_calendar$$, '42501', NULL, 'plain role: registration_calendar is denied');
SELECT throws_ok($$SELECT * FROM globalsync.facilities$$, '42501', NULL, 'plain role: facilities is denied');
SELECT throws_ok(
    $$SELECT globalsync.register_patient('Asha Rao', '1990-01-01', '+91 98765 43210', NULL, 'FAC_TAPPRIV1')$$,
    '42501', NULL, 'plain role: register_patient() is denied');
SELECT throws_ok($$SELECT globalsync.add_facility('TAP nobody clinic', 'UTC')$$, '42501', NULL, 'plain role: add_facility() is denied');
SELECT throws_ok($$SELECT '2025-10-10 09:30:00 EST'::globalsync.ist_timestamp$$, '42501', NULL, 'plain role: type ist_timestamp is denied');
SELECT throws_ok($$SELECT '2025-10-10 09:30:00 America/New_York'::globalsync.zoned_timestamp$$, '42501', NULL, 'plain role: type zoned_timestamp is denied');
SELECT throws_ok($$SELECT globalsync.to_ist('2025-10-10 09:30:00', 'America/New_York')$$, '42501', NULL, 'plain role: to_ist() is denied');
RESET ROLE;

-- ===================================================================
-- behaviour: reader
-- ===================================================================
SET LOCAL ROLE tap_gs_reader;
SELECT ok(pg_catalog.has_schema_privilege('globalsync', 'USAGE'), 'reader: usage on schema globalsync');
SELECT lives_ok($$SELECT * FROM globalsync.time_zones$$, 'reader: SELECT time_zones works');
SELECT lives_ok($$SELECT * FROM globalsync.facility_stats$$, 'reader: SELECT facility_stats works');
SELECT lives_ok($$SELECT * FROM globalsync.registration_calendar$$, 'reader: SELECT registration_calendar works');
SELECT lives_ok($$SELECT globalsync.health()$$, 'reader: health() works');
SELECT is(
    (SELECT count(*)::int FROM globalsync.list_facilities() WHERE facility_id IN ('FAC_TAPPRIV1', 'FAC_TAPPRIV2')),
    2,
    'reader: list_facilities() shows the facilities');
SELECT lives_ok(
    $$SELECT globalsync.to_ist('2025-10-10 09:30:00', 'America/New_York'),
             '2025-10-10 09:30:00 EST'::globalsync.ist_timestamp,
             globalsync.local_time('2025-10-10 09:30:00 America/New_York'::globalsync.zoned_timestamp),
             'Asia/Kolkata'::globalsync.zone_name,
             max(x), min(x), max(x) > min(x) - interval '1 hour'
        FROM (VALUES ('2025-10-10 09:30:00 EST'::globalsync.ist_timestamp)) AS v(x)$$,
    'reader: the types, their functions, operators and aggregates work');
SELECT lives_ok(
    $$CREATE TEMP TABLE tap_reader_types (a globalsync.ist_timestamp, b globalsync.zoned_timestamp, c globalsync.zone_name)$$,
    'reader: may declare columns of the extension''s types');
SELECT throws_ok($$SELECT * FROM globalsync.patient_registrations$$, '42501', NULL, 'reader: no direct SELECT on patient_registrations');
SELECT throws_ok($$SELECT * FROM globalsync.facilities$$, '42501', NULL, 'reader: no direct SELECT on facilities');
SELECT throws_ok($$SELECT * FROM globalsync.targets$$, '42501', NULL, 'reader: no direct SELECT on targets');
SELECT throws_ok($$SELECT * FROM globalsync.sync_log$$, '42501', NULL, 'reader: no direct SELECT on sync_log');
SELECT throws_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone) VALUES ('FAC_TAPREAD1', 'TAP reader clinic', 'UTC')$$,
    '42501', NULL, 'reader: no INSERT on facilities');
SELECT throws_ok(
    $$SELECT globalsync.register_patient('Asha Rao', '1990-01-01', '+91 98765 43210', NULL, 'FAC_TAPPRIV1')$$,
    '42501', NULL, 'reader: register_patient() is denied');
SELECT throws_ok($$SELECT globalsync.add_facility('TAP reader clinic', 'UTC')$$, '42501', NULL, 'reader: add_facility() is denied');
SELECT throws_ok($$SELECT globalsync.set_facility_active('FAC_TAPPRIV1', false)$$, '42501', NULL, 'reader: set_facility_active() is denied');
SELECT throws_ok($$SELECT globalsync.new_id('FAC_')$$, '42501', NULL, 'reader: new_id() is denied');
RESET ROLE;

-- ===================================================================
-- behaviour: operator
-- ===================================================================
SET LOCAL ROLE tap_gs_operator;
SELECT lives_ok(
    $$SELECT globalsync.register_patient('Asha Rao', '1990-01-01', '+91 98765 43210', 'asha@example.org', 'FAC_TAPPRIV1')$$,
    'operator: register_patient() works');
SELECT is(
    (SELECT (globalsync.register_patient('Ravi Iyer', '1985-05-05', '+1-234-567-8900', NULL, 'FAC_TAPPRIV2',
                                         'America/New_York', '2025-10-10 09:30:00')).registered_at_ist::text),
    '2025-10-10 19:00:00+05:30',
    'operator: register_patient() returns the stored row');
SELECT lives_ok(
    $$SELECT * FROM globalsync.time_zones, globalsync.facility_stats, globalsync.registration_calendar LIMIT 1$$,
    'operator: the views work');
SELECT lives_ok($$SELECT globalsync.health(), globalsync.list_facilities()$$, 'operator: health() and list_facilities() work');
SELECT throws_ok($$SELECT * FROM globalsync.patient_registrations$$, '42501', NULL, 'operator: no direct SELECT on patient_registrations');
SELECT throws_ok(
    $$INSERT INTO globalsync.patient_registrations (patient_name, date_of_birth, contact_number, facility_id, registered_at)
      VALUES ('Asha Rao', '1990-01-01', '+91 98765 43210', 'FAC_TAPPRIV1', '2025-10-10 09:30:00 Asia/Kolkata')$$,
    '42501', NULL, 'operator: no direct INSERT on patient_registrations');
SELECT throws_ok($$SELECT * FROM globalsync.targets$$, '42501', NULL, 'operator: no direct SELECT on targets');
SELECT throws_ok($$SELECT globalsync.add_facility('TAP operator clinic', 'UTC')$$, '42501', NULL, 'operator: add_facility() is denied');
SELECT throws_ok($$SELECT globalsync.set_facility_active('FAC_TAPPRIV1', false)$$, '42501', NULL, 'operator: set_facility_active() is denied');
RESET ROLE;

-- ===================================================================
-- behaviour: admin
-- ===================================================================
SET LOCAL ROLE tap_gs_admin;
SELECT matches(globalsync.add_facility('TAP admin clinic', 'asia/kolkata', 'Nagpur'), '^FAC_[A-Z0-9]{8}$',
    'admin: add_facility() works');
SELECT lives_ok($$SELECT globalsync.set_facility_active('FAC_TAPPRIV2', false)$$, 'admin: set_facility_active() works');
SELECT lives_ok(
    $$SELECT globalsync.register_patient('Meera Das', '2000-02-29', '022 2345 6789', NULL, 'FAC_TAPPRIV1')$$,
    'admin: register_patient() works (inherited from operator)');
SELECT lives_ok($$SELECT * FROM globalsync.patient_registrations$$, 'admin: SELECT on patient_registrations works');
SELECT lives_ok($$SELECT * FROM globalsync.sync_log$$, 'admin: SELECT on sync_log works');
SELECT lives_ok($$SELECT * FROM globalsync.time_zones, globalsync.facility_stats, globalsync.registration_calendar LIMIT 1$$,
    'admin: the views work');
SELECT lives_ok(
    $$INSERT INTO globalsync.facilities (facility_id, name, timezone) VALUES ('FAC_TAPADMN1', 'TAP admin direct', 'Europe/London')$$,
    'admin: INSERT on facilities with an explicit id works');
SELECT lives_ok(
    $$UPDATE globalsync.facilities SET location = 'London' WHERE facility_id = 'FAC_TAPADMN1'$$,
    'admin: UPDATE on facilities works');
SELECT lives_ok(
    $$DELETE FROM globalsync.facilities WHERE facility_id = 'FAC_TAPADMN1'$$,
    'admin: DELETE on facilities works');
SELECT lives_ok(
    $$INSERT INTO globalsync.facilities (name, timezone) VALUES ('TAP admin default id', 'UTC')$$,
    'admin: INSERT on facilities with the default id works');
SELECT lives_ok(
    $$INSERT INTO globalsync.targets (target_id, name, kind, endpoint) VALUES ('TGT_TAPADMN1', 'tap admin target', 'http', 'http://127.0.0.1:9/')$$,
    'admin: INSERT on targets with an explicit id works');
SELECT lives_ok(
    $$UPDATE globalsync.targets SET options = '{"timeout_ms": 1000}' WHERE target_id = 'TGT_TAPADMN1'$$,
    'admin: UPDATE on targets works');
SELECT lives_ok(
    $$INSERT INTO globalsync.targets (name, kind, endpoint) VALUES ('tap admin default target', 'file', '/tmp/tap-admin')$$,
    'admin: INSERT on targets with the default id works');
SELECT throws_ok(
    $$INSERT INTO globalsync.patient_registrations (patient_name, date_of_birth, contact_number, facility_id, registered_at)
      VALUES ('Asha Rao', '1990-01-01', '+91 98765 43210', 'FAC_TAPPRIV1', '2025-10-10 09:30:00 Asia/Kolkata')$$,
    '42501', NULL, 'admin: no direct INSERT on patient_registrations');
SELECT throws_ok($$UPDATE globalsync.patient_registrations SET patient_name = 'x'$$, '42501', NULL,
    'admin: no UPDATE on patient_registrations');
SELECT throws_ok($$DELETE FROM globalsync.patient_registrations$$, '42501', NULL,
    'admin: no DELETE on patient_registrations');
SELECT throws_ok(
    $$INSERT INTO globalsync.sync_log (target_id, operation_type, status) VALUES ('TGT_TAPPRIV1', 'MANUAL_SYNC', 'running')$$,
    '42501', NULL, 'admin: no INSERT on sync_log');
SELECT throws_ok($$DELETE FROM globalsync.sync_log$$, '42501', NULL, 'admin: no DELETE on sync_log');
SELECT throws_ok($$TRUNCATE globalsync.facilities CASCADE$$, '42501', NULL, 'admin: no TRUNCATE on facilities');
SELECT throws_ok($$CREATE TABLE globalsync.tap_admin_table (x int)$$, '42501', NULL, 'admin: may not create objects in schema globalsync');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
