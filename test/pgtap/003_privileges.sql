-- 003_privileges.sql: who may do what (DESIGN.md, Security).
--
-- globalsync_reader: schema usage, the types and their functions, the views
--   (tracked_tables and capture_stats included, and the sync engine's
--   sync_progress, sync_history, dashboard_overview, lag_stats and
--   target_health), health(), list_facilities(), capture_pending(),
--   sync_status(), wait_sync(), validate_target_kind(), sync_progress_raw(),
--   worker_info(), _pending_events() (counts only), webhook_signature()
--   (for receivers) and the FHIR R4 converters to_fhir_patient(),
--   to_fhir_organization(), to_fhir_bundle() and _fhir_resource() (which
--   the first two call with the caller's rights); no table, and no other
--   capture or sync function.
-- globalsync_operator: reader + register_patient(), start_sync(),
--   cancel_sync().
-- globalsync_admin: operator + add_facility(), set_facility_active(), DML on
--   facilities and targets, SELECT on patient_registrations and sync_log,
--   capture_trigger(), track() and untrack() (which act with the caller's
--   rights: only on tables the caller owns), add_target(), alter_target(),
--   remove_target(), replay_dead_letter(), discard_dead_letter(),
--   set_target_secret() (which stores a secret it cannot read back, after
--   checking it with the target kind's rules), SELECT
--   on dead_letters (they hold patient data) and target_state.
-- The owner only: the change capture tables (capture_state, capture_secrets,
--   change_log, ticks, consumers, their partitions and sequences) and
--   tick(), register_consumer(), unregister_consumer(), next_batch(),
--   batch_events(), finish_batch(), maintain_log(); deliveries,
--   full_sync_state, target_secrets (the targets' secrets),
--   snapshot_row(), snapshot_chunk() and the worker's internal functions
--   (_check_target_options() ... _purge_history(), _check_target_secret()).
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
SELECT plan(357);

-- fixtures, as the superuser running the suite
INSERT INTO globalsync.facilities (facility_id, name, timezone, location) VALUES
    ('FAC_TAPPRIV1', 'TAP Privileges Clinic', 'Asia/Kolkata', 'Pune'),
    ('FAC_TAPPRIV2', 'TAP Privileges Annex', 'America/New_York', 'Albany');
INSERT INTO globalsync.targets (target_id, name, kind, endpoint) VALUES
    ('TGT_TAPPRIV1', 'tap privileges target', 'file', '/tmp/tap-privileges');
INSERT INTO globalsync.sync_log (source_facility_id, target_id, operation_type, status)
    VALUES ('FAC_TAPPRIV1', 'TGT_TAPPRIV1', 'MANUAL_SYNC', 'running');
-- a target made through the API (with its state and consumer), a queued
-- sync and two dead letters; nothing here commits, so the worker never
-- sees them
SELECT globalsync.add_target('tap privileges file target', 'file', 'tap/privileges',
                             '{"schedule": "manual"}') AS tap_tgt \gset
SELECT globalsync.start_sync(:'tap_tgt') AS tap_sync \gset
INSERT INTO globalsync.dead_letters (target_id, sync_id, batch_id, events, event_count, attempts, error)
    VALUES (:'tap_tgt', :'tap_sync', 'tap-priv-batch-1', '[{"op": "I"}]', 1, 5, 'tap: refused')
    RETURNING dead_letter_id AS tap_dl1 \gset
INSERT INTO globalsync.dead_letters (target_id, sync_id, batch_id, events, event_count, attempts, error)
    VALUES (:'tap_tgt', :'tap_sync', 'tap-priv-batch-2', '[{"op": "U"}]', 1, 5, 'tap: refused')
    RETURNING dead_letter_id AS tap_dl2 \gset

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

-- sync engine: admins read the delivery state and the dead letters (which
-- hold patient data); deliveries, full_sync_state and target_secrets are
-- the owner's
SELECT table_privs_are('globalsync', 'target_state', 'globalsync_reader', ARRAY[]::name[], 'reader has no privilege on target_state');
SELECT table_privs_are('globalsync', 'target_state', 'globalsync_operator', ARRAY[]::name[], 'operator has no privilege on target_state');
SELECT table_privs_are('globalsync', 'target_state', 'globalsync_admin', ARRAY['SELECT'], 'admin has only SELECT on target_state');
SELECT table_privs_are('globalsync', 'target_state', 'public', ARRAY[]::name[], 'PUBLIC has no privilege on target_state');
SELECT table_privs_are('globalsync', 'dead_letters', 'globalsync_reader', ARRAY[]::name[], 'reader has no privilege on dead_letters');
SELECT table_privs_are('globalsync', 'dead_letters', 'globalsync_operator', ARRAY[]::name[], 'operator has no privilege on dead_letters');
SELECT table_privs_are('globalsync', 'dead_letters', 'globalsync_admin', ARRAY['SELECT'], 'admin has only SELECT on dead_letters');
SELECT table_privs_are('globalsync', 'dead_letters', 'public', ARRAY[]::name[], 'PUBLIC has no privilege on dead_letters');
SELECT table_privs_are('globalsync', 'deliveries', 'globalsync_reader', ARRAY[]::name[], 'reader has no privilege on deliveries');
SELECT table_privs_are('globalsync', 'deliveries', 'globalsync_operator', ARRAY[]::name[], 'operator has no privilege on deliveries');
SELECT table_privs_are('globalsync', 'deliveries', 'globalsync_admin', ARRAY[]::name[], 'admin has no privilege on deliveries');
SELECT table_privs_are('globalsync', 'deliveries', 'public', ARRAY[]::name[], 'PUBLIC has no privilege on deliveries');
SELECT table_privs_are('globalsync', 'full_sync_state', 'globalsync_reader', ARRAY[]::name[], 'reader has no privilege on full_sync_state');
SELECT table_privs_are('globalsync', 'full_sync_state', 'globalsync_operator', ARRAY[]::name[], 'operator has no privilege on full_sync_state');
SELECT table_privs_are('globalsync', 'full_sync_state', 'globalsync_admin', ARRAY[]::name[], 'admin has no privilege on full_sync_state');
SELECT table_privs_are('globalsync', 'full_sync_state', 'public', ARRAY[]::name[], 'PUBLIC has no privilege on full_sync_state');
SELECT table_privs_are('globalsync', 'target_secrets', 'globalsync_reader', ARRAY[]::name[], 'reader has no privilege on target_secrets');
SELECT table_privs_are('globalsync', 'target_secrets', 'globalsync_operator', ARRAY[]::name[], 'operator has no privilege on target_secrets');
SELECT table_privs_are('globalsync', 'target_secrets', 'globalsync_admin', ARRAY[]::name[], 'admin has no privilege on target_secrets (set_target_secret() writes it)');
SELECT table_privs_are('globalsync', 'target_secrets', 'public', ARRAY[]::name[], 'PUBLIC has no privilege on target_secrets');
SELECT sequence_privs_are('globalsync', 'dead_letters_dead_letter_id_seq', 'globalsync_reader', ARRAY[]::name[], 'reader has no privilege on dead_letters_dead_letter_id_seq');
SELECT sequence_privs_are('globalsync', 'dead_letters_dead_letter_id_seq', 'globalsync_operator', ARRAY[]::name[], 'operator has no privilege on dead_letters_dead_letter_id_seq');
SELECT sequence_privs_are('globalsync', 'dead_letters_dead_letter_id_seq', 'globalsync_admin', ARRAY[]::name[], 'admin has no privilege on dead_letters_dead_letter_id_seq');
SELECT sequence_privs_are('globalsync', 'dead_letters_dead_letter_id_seq', 'public', ARRAY[]::name[], 'PUBLIC has no privilege on dead_letters_dead_letter_id_seq');
SELECT is_empty(
    $$SELECT c.oid::regclass::text, a.grantee::regrole::text, a.privilege_type
        FROM pg_catalog.pg_class c
        CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) a
       WHERE c.oid IN ('globalsync.deliveries'::regclass, 'globalsync.full_sync_state'::regclass,
                       'globalsync.target_secrets'::regclass,
                       'globalsync.dead_letters_dead_letter_id_seq'::regclass)
         AND a.grantee <> c.relowner$$,
    'nobody but the owner holds a privilege on deliveries, full_sync_state, target_secrets and the dead letter id sequence');
-- every privilege on a table, view or sequence of the schema held by
-- someone other than the owner: exactly these
SELECT set_eq(
    $$SELECT c.oid::regclass::text, CASE WHEN a.grantee = 0 THEN 'public' ELSE a.grantee::regrole::text END, a.privilege_type
        FROM pg_catalog.pg_class c
        CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) a
       WHERE c.relnamespace = 'globalsync'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
         AND a.grantee <> c.relowner$$,
    $$VALUES ('globalsync.facilities', 'globalsync_admin', 'SELECT'), ('globalsync.facilities', 'globalsync_admin', 'INSERT'),
             ('globalsync.facilities', 'globalsync_admin', 'UPDATE'), ('globalsync.facilities', 'globalsync_admin', 'DELETE'),
             ('globalsync.targets', 'globalsync_admin', 'SELECT'), ('globalsync.targets', 'globalsync_admin', 'INSERT'),
             ('globalsync.targets', 'globalsync_admin', 'UPDATE'), ('globalsync.targets', 'globalsync_admin', 'DELETE'),
             ('globalsync.patient_registrations', 'globalsync_admin', 'SELECT'),
             ('globalsync.sync_log', 'globalsync_admin', 'SELECT'),
             ('globalsync.target_state', 'globalsync_admin', 'SELECT'),
             ('globalsync.dead_letters', 'globalsync_admin', 'SELECT'),
             ('globalsync.time_zones', 'globalsync_reader', 'SELECT'),
             ('globalsync.facility_stats', 'globalsync_reader', 'SELECT'),
             ('globalsync.registration_calendar', 'globalsync_reader', 'SELECT'),
             ('globalsync.tracked_tables', 'globalsync_reader', 'SELECT'),
             ('globalsync.capture_stats', 'globalsync_reader', 'SELECT'),
             ('globalsync.sync_progress', 'globalsync_reader', 'SELECT'),
             ('globalsync.sync_history', 'globalsync_reader', 'SELECT'),
             ('globalsync.dashboard_overview', 'globalsync_reader', 'SELECT'),
             ('globalsync.lag_stats', 'globalsync_reader', 'SELECT'),
             ('globalsync.target_health', 'globalsync_reader', 'SELECT')$$,
    'the schema''s tables, views and sequences grant exactly these privileges to anyone but their owner');

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
SELECT table_privs_are('globalsync', 'sync_progress', 'globalsync_reader', ARRAY['SELECT'], 'reader may SELECT sync_progress');
SELECT table_privs_are('globalsync', 'sync_progress', 'globalsync_operator', ARRAY['SELECT'], 'operator may SELECT sync_progress');
SELECT table_privs_are('globalsync', 'sync_progress', 'globalsync_admin', ARRAY['SELECT'], 'admin may SELECT sync_progress');
SELECT table_privs_are('globalsync', 'sync_progress', 'public', ARRAY[]::name[], 'PUBLIC may not SELECT sync_progress');
SELECT table_privs_are('globalsync', 'sync_history', 'globalsync_reader', ARRAY['SELECT'], 'reader may SELECT sync_history');
SELECT table_privs_are('globalsync', 'sync_history', 'globalsync_operator', ARRAY['SELECT'], 'operator may SELECT sync_history');
SELECT table_privs_are('globalsync', 'sync_history', 'globalsync_admin', ARRAY['SELECT'], 'admin may SELECT sync_history');
SELECT table_privs_are('globalsync', 'sync_history', 'public', ARRAY[]::name[], 'PUBLIC may not SELECT sync_history');
SELECT table_privs_are('globalsync', 'dashboard_overview', 'globalsync_reader', ARRAY['SELECT'], 'reader may SELECT dashboard_overview');
SELECT table_privs_are('globalsync', 'dashboard_overview', 'globalsync_operator', ARRAY['SELECT'], 'operator may SELECT dashboard_overview');
SELECT table_privs_are('globalsync', 'dashboard_overview', 'globalsync_admin', ARRAY['SELECT'], 'admin may SELECT dashboard_overview');
SELECT table_privs_are('globalsync', 'dashboard_overview', 'public', ARRAY[]::name[], 'PUBLIC may not SELECT dashboard_overview');
SELECT table_privs_are('globalsync', 'lag_stats', 'globalsync_reader', ARRAY['SELECT'], 'reader may SELECT lag_stats');
SELECT table_privs_are('globalsync', 'lag_stats', 'globalsync_operator', ARRAY['SELECT'], 'operator may SELECT lag_stats');
SELECT table_privs_are('globalsync', 'lag_stats', 'globalsync_admin', ARRAY['SELECT'], 'admin may SELECT lag_stats');
SELECT table_privs_are('globalsync', 'lag_stats', 'public', ARRAY[]::name[], 'PUBLIC may not SELECT lag_stats');
SELECT table_privs_are('globalsync', 'target_health', 'globalsync_reader', ARRAY['SELECT'], 'reader may SELECT target_health');
SELECT table_privs_are('globalsync', 'target_health', 'globalsync_operator', ARRAY['SELECT'], 'operator may SELECT target_health');
SELECT table_privs_are('globalsync', 'target_health', 'globalsync_admin', ARRAY['SELECT'], 'admin may SELECT target_health');
SELECT table_privs_are('globalsync', 'target_health', 'public', ARRAY[]::name[], 'PUBLIC may not SELECT target_health');

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
          'globalsync.next_batch(text,bigint)',
          'globalsync.batch_events(bigint,bigint,integer)',
          'globalsync.finish_batch(bigint)',
          'globalsync.maintain_log()',
          'globalsync.add_target(text,text,text,jsonb)',
          'globalsync.alter_target(text,text,text,jsonb,boolean)',
          'globalsync.remove_target(text)',
          'globalsync.start_sync(text,text,text)',
          'globalsync.cancel_sync(text)',
          'globalsync.replay_dead_letter(bigint)',
          'globalsync.discard_dead_letter(bigint)',
          'globalsync.snapshot_row(regclass,record)',
          'globalsync.snapshot_chunk(regclass,text[],integer,text[])',
          'globalsync._check_target_options(jsonb)',
          'globalsync._resolve_tracked(text)',
          'globalsync._check_target_secret(text,text)',
          'globalsync.set_target_secret(text,text)',
          'globalsync._wake_worker()',
          'globalsync._request_cancel(text)',
          'globalsync._worker_targets()',
          'globalsync._log_row(text,text)',
          'globalsync._run_begin(text,text,text,text,bigint)',
          'globalsync._run_end(text,text,text)',
          'globalsync._advance(text,bigint,bigint,boolean)',
          'globalsync._ack(text,text,bigint,bigint,boolean,integer,bigint,text[],integer[],timestamp with time zone[],bigint)',
          'globalsync._ack_snapshot(text,text,text,text[],integer,boolean,bigint)',
          'globalsync._dead_letter(text,text,text,text[],bigint,bigint,integer,text,bigint,bigint,boolean,text[])',
          'globalsync._dead_letter_snapshot(text,text,text,text[],integer,text,text,text[],boolean,bigint,bigint,bigint)',
          'globalsync._failure(text,text,text,timestamp with time zone)',
          'globalsync._disable_target(text,text)',
          'globalsync._purge_history(interval)'],
    'reader may execute every function except new_id, add_facility, set_facility_active, register_patient, the capture functions other than capture_pending, and the sync functions that change targets, syncs, secrets or dead letters or are internal');

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

-- sync engine: the API, role by role
SELECT function_privs_are('globalsync', 'add_target', ARRAY['text', 'text', 'text', 'jsonb'], 'globalsync_reader', ARRAY[]::name[], 'reader may not execute add_target()');
SELECT function_privs_are('globalsync', 'add_target', ARRAY['text', 'text', 'text', 'jsonb'], 'globalsync_operator', ARRAY[]::name[], 'operator may not execute add_target()');
SELECT function_privs_are('globalsync', 'add_target', ARRAY['text', 'text', 'text', 'jsonb'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute add_target()');
SELECT function_privs_are('globalsync', 'add_target', ARRAY['text', 'text', 'text', 'jsonb'], 'public', ARRAY[]::name[], 'PUBLIC may not execute add_target()');
SELECT function_privs_are('globalsync', 'alter_target', ARRAY['text', 'text', 'text', 'jsonb', 'boolean'], 'globalsync_reader', ARRAY[]::name[], 'reader may not execute alter_target()');
SELECT function_privs_are('globalsync', 'alter_target', ARRAY['text', 'text', 'text', 'jsonb', 'boolean'], 'globalsync_operator', ARRAY[]::name[], 'operator may not execute alter_target()');
SELECT function_privs_are('globalsync', 'alter_target', ARRAY['text', 'text', 'text', 'jsonb', 'boolean'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute alter_target()');
SELECT function_privs_are('globalsync', 'alter_target', ARRAY['text', 'text', 'text', 'jsonb', 'boolean'], 'public', ARRAY[]::name[], 'PUBLIC may not execute alter_target()');
SELECT function_privs_are('globalsync', 'remove_target', ARRAY['text'], 'globalsync_reader', ARRAY[]::name[], 'reader may not execute remove_target()');
SELECT function_privs_are('globalsync', 'remove_target', ARRAY['text'], 'globalsync_operator', ARRAY[]::name[], 'operator may not execute remove_target()');
SELECT function_privs_are('globalsync', 'remove_target', ARRAY['text'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute remove_target()');
SELECT function_privs_are('globalsync', 'remove_target', ARRAY['text'], 'public', ARRAY[]::name[], 'PUBLIC may not execute remove_target()');
SELECT function_privs_are('globalsync', 'replay_dead_letter', ARRAY['bigint'], 'globalsync_reader', ARRAY[]::name[], 'reader may not execute replay_dead_letter()');
SELECT function_privs_are('globalsync', 'replay_dead_letter', ARRAY['bigint'], 'globalsync_operator', ARRAY[]::name[], 'operator may not execute replay_dead_letter()');
SELECT function_privs_are('globalsync', 'replay_dead_letter', ARRAY['bigint'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute replay_dead_letter()');
SELECT function_privs_are('globalsync', 'replay_dead_letter', ARRAY['bigint'], 'public', ARRAY[]::name[], 'PUBLIC may not execute replay_dead_letter()');
SELECT function_privs_are('globalsync', 'discard_dead_letter', ARRAY['bigint'], 'globalsync_reader', ARRAY[]::name[], 'reader may not execute discard_dead_letter()');
SELECT function_privs_are('globalsync', 'discard_dead_letter', ARRAY['bigint'], 'globalsync_operator', ARRAY[]::name[], 'operator may not execute discard_dead_letter()');
SELECT function_privs_are('globalsync', 'discard_dead_letter', ARRAY['bigint'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute discard_dead_letter()');
SELECT function_privs_are('globalsync', 'discard_dead_letter', ARRAY['bigint'], 'public', ARRAY[]::name[], 'PUBLIC may not execute discard_dead_letter()');
SELECT function_privs_are('globalsync', 'start_sync', ARRAY['text', 'text', 'text'], 'globalsync_reader', ARRAY[]::name[], 'reader may not execute start_sync()');
SELECT function_privs_are('globalsync', 'start_sync', ARRAY['text', 'text', 'text'], 'globalsync_operator', ARRAY['EXECUTE'], 'operator may execute start_sync()');
SELECT function_privs_are('globalsync', 'start_sync', ARRAY['text', 'text', 'text'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute start_sync()');
SELECT function_privs_are('globalsync', 'start_sync', ARRAY['text', 'text', 'text'], 'public', ARRAY[]::name[], 'PUBLIC may not execute start_sync()');
SELECT function_privs_are('globalsync', 'cancel_sync', ARRAY['text'], 'globalsync_reader', ARRAY[]::name[], 'reader may not execute cancel_sync()');
SELECT function_privs_are('globalsync', 'cancel_sync', ARRAY['text'], 'globalsync_operator', ARRAY['EXECUTE'], 'operator may execute cancel_sync()');
SELECT function_privs_are('globalsync', 'cancel_sync', ARRAY['text'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute cancel_sync()');
SELECT function_privs_are('globalsync', 'cancel_sync', ARRAY['text'], 'public', ARRAY[]::name[], 'PUBLIC may not execute cancel_sync()');
SELECT function_privs_are('globalsync', 'sync_status', ARRAY['text'], 'globalsync_reader', ARRAY['EXECUTE'], 'reader may execute sync_status()');
SELECT function_privs_are('globalsync', 'sync_status', ARRAY['text'], 'globalsync_operator', ARRAY['EXECUTE'], 'operator may execute sync_status()');
SELECT function_privs_are('globalsync', 'sync_status', ARRAY['text'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute sync_status()');
SELECT function_privs_are('globalsync', 'sync_status', ARRAY['text'], 'public', ARRAY[]::name[], 'PUBLIC may not execute sync_status()');
SELECT function_privs_are('globalsync', 'wait_sync', ARRAY['text', 'interval'], 'globalsync_reader', ARRAY['EXECUTE'], 'reader may execute wait_sync()');
SELECT function_privs_are('globalsync', 'wait_sync', ARRAY['text', 'interval'], 'globalsync_operator', ARRAY['EXECUTE'], 'operator may execute wait_sync()');
SELECT function_privs_are('globalsync', 'wait_sync', ARRAY['text', 'interval'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute wait_sync()');
SELECT function_privs_are('globalsync', 'wait_sync', ARRAY['text', 'interval'], 'public', ARRAY[]::name[], 'PUBLIC may not execute wait_sync()');
SELECT function_privs_are('globalsync', 'set_target_secret', ARRAY['text', 'text'], 'globalsync_reader', ARRAY[]::name[], 'reader may not execute set_target_secret()');
SELECT function_privs_are('globalsync', 'set_target_secret', ARRAY['text', 'text'], 'globalsync_operator', ARRAY[]::name[], 'operator may not execute set_target_secret()');
SELECT function_privs_are('globalsync', 'set_target_secret', ARRAY['text', 'text'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute set_target_secret()');
SELECT function_privs_are('globalsync', 'set_target_secret', ARRAY['text', 'text'], 'public', ARRAY[]::name[], 'PUBLIC may not execute set_target_secret()');
SELECT function_privs_are('globalsync', 'webhook_signature', ARRAY['text', 'text', 'bigint', 'text'], 'globalsync_reader', ARRAY['EXECUTE'], 'reader may execute webhook_signature()');
SELECT function_privs_are('globalsync', 'webhook_signature', ARRAY['text', 'text', 'bigint', 'text'], 'globalsync_operator', ARRAY['EXECUTE'], 'operator may execute webhook_signature()');
SELECT function_privs_are('globalsync', 'webhook_signature', ARRAY['text', 'text', 'bigint', 'text'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute webhook_signature()');
SELECT function_privs_are('globalsync', 'webhook_signature', ARRAY['text', 'text', 'bigint', 'text'], 'public', ARRAY[]::name[], 'PUBLIC may not execute webhook_signature()');
SELECT function_privs_are('globalsync', '_check_target_secret', ARRAY['text', 'text'], 'globalsync_reader', ARRAY[]::name[], 'reader may not execute _check_target_secret()');
SELECT function_privs_are('globalsync', '_check_target_secret', ARRAY['text', 'text'], 'globalsync_operator', ARRAY[]::name[], 'operator may not execute _check_target_secret()');
SELECT function_privs_are('globalsync', '_check_target_secret', ARRAY['text', 'text'], 'globalsync_admin', ARRAY[]::name[], 'admin may not execute _check_target_secret() (internal)');
SELECT function_privs_are('globalsync', '_check_target_secret', ARRAY['text', 'text'], 'public', ARRAY[]::name[], 'PUBLIC may not execute _check_target_secret()');
-- the FHIR R4 converters: pure functions of what the caller passes, for every
-- role (to_fhir_patient() and to_fhir_organization() are SQL functions that
-- call _fhir_resource() with the caller's rights, so it is granted too)
SELECT function_privs_are('globalsync', '_fhir_resource', ARRAY['text', 'jsonb', 'text', 'text'], 'globalsync_reader', ARRAY['EXECUTE'], 'reader may execute _fhir_resource()');
SELECT function_privs_are('globalsync', '_fhir_resource', ARRAY['text', 'jsonb', 'text', 'text'], 'globalsync_operator', ARRAY['EXECUTE'], 'operator may execute _fhir_resource()');
SELECT function_privs_are('globalsync', '_fhir_resource', ARRAY['text', 'jsonb', 'text', 'text'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute _fhir_resource()');
SELECT function_privs_are('globalsync', '_fhir_resource', ARRAY['text', 'jsonb', 'text', 'text'], 'public', ARRAY[]::name[], 'PUBLIC may not execute _fhir_resource()');
SELECT function_privs_are('globalsync', 'to_fhir_patient', ARRAY['globalsync.patient_registrations', 'text', 'text'], 'globalsync_reader', ARRAY['EXECUTE'], 'reader may execute to_fhir_patient()');
SELECT function_privs_are('globalsync', 'to_fhir_patient', ARRAY['globalsync.patient_registrations', 'text', 'text'], 'globalsync_operator', ARRAY['EXECUTE'], 'operator may execute to_fhir_patient()');
SELECT function_privs_are('globalsync', 'to_fhir_patient', ARRAY['globalsync.patient_registrations', 'text', 'text'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute to_fhir_patient()');
SELECT function_privs_are('globalsync', 'to_fhir_patient', ARRAY['globalsync.patient_registrations', 'text', 'text'], 'public', ARRAY[]::name[], 'PUBLIC may not execute to_fhir_patient()');
SELECT function_privs_are('globalsync', 'to_fhir_organization', ARRAY['globalsync.facilities', 'text'], 'globalsync_reader', ARRAY['EXECUTE'], 'reader may execute to_fhir_organization()');
SELECT function_privs_are('globalsync', 'to_fhir_organization', ARRAY['globalsync.facilities', 'text'], 'globalsync_operator', ARRAY['EXECUTE'], 'operator may execute to_fhir_organization()');
SELECT function_privs_are('globalsync', 'to_fhir_organization', ARRAY['globalsync.facilities', 'text'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute to_fhir_organization()');
SELECT function_privs_are('globalsync', 'to_fhir_organization', ARRAY['globalsync.facilities', 'text'], 'public', ARRAY[]::name[], 'PUBLIC may not execute to_fhir_organization()');
SELECT function_privs_are('globalsync', 'to_fhir_bundle', ARRAY['text', 'text', 'text'], 'globalsync_reader', ARRAY['EXECUTE'], 'reader may execute to_fhir_bundle()');
SELECT function_privs_are('globalsync', 'to_fhir_bundle', ARRAY['text', 'text', 'text'], 'globalsync_operator', ARRAY['EXECUTE'], 'operator may execute to_fhir_bundle()');
SELECT function_privs_are('globalsync', 'to_fhir_bundle', ARRAY['text', 'text', 'text'], 'globalsync_admin', ARRAY['EXECUTE'], 'admin may execute to_fhir_bundle()');
SELECT function_privs_are('globalsync', 'to_fhir_bundle', ARRAY['text', 'text', 'text'], 'public', ARRAY[]::name[], 'PUBLIC may not execute to_fhir_bundle()');

-- sync engine functions, per role: exactly these may be executed
CREATE TEMP TABLE tap_sync_functions (f regprocedure PRIMARY KEY);
INSERT INTO tap_sync_functions VALUES
    ('globalsync.validate_target_kind(text, text, jsonb)'), ('globalsync._wake_worker()'),
    ('globalsync._request_cancel(text)'), ('globalsync.sync_progress_raw()'), ('globalsync.worker_info()'),
    ('globalsync.snapshot_row(regclass, record)'), ('globalsync._check_target_options(jsonb)'),
    ('globalsync._resolve_tracked(text)'),
    ('globalsync.add_target(text, text, text, jsonb)'), ('globalsync.alter_target(text, text, text, jsonb, boolean)'),
    ('globalsync.remove_target(text)'), ('globalsync.start_sync(text, text, text)'), ('globalsync.sync_status(text)'),
    ('globalsync.cancel_sync(text)'), ('globalsync.wait_sync(text, interval)'), ('globalsync.replay_dead_letter(bigint)'),
    ('globalsync.discard_dead_letter(bigint)'), ('globalsync.snapshot_chunk(regclass, text[], integer, text[])'),
    ('globalsync._worker_targets()'), ('globalsync._log_row(text, text)'),
    ('globalsync._run_begin(text, text, text, text, bigint)'),
    ('globalsync._run_end(text, text, text)'), ('globalsync._advance(text, bigint, bigint, boolean)'),
    ('globalsync._ack(text, text, bigint, bigint, boolean, integer, bigint, text[], integer[], timestamptz[], bigint)'),
    ('globalsync._ack_snapshot(text, text, text, text[], integer, boolean, bigint)'),
    ('globalsync._dead_letter(text, text, text, text[], bigint, bigint, integer, text, bigint, bigint, boolean, text[])'),
    ('globalsync._dead_letter_snapshot(text, text, text, text[], integer, text, text, text[], boolean, bigint, bigint, bigint)'),
    ('globalsync._failure(text, text, text, timestamptz)'), ('globalsync._disable_target(text, text)'),
    ('globalsync._purge_history(interval)'), ('globalsync._pending_events(text)'), ('globalsync.health()'),
    ('globalsync.set_target_secret(text, text)'), ('globalsync.webhook_signature(text, text, bigint, text)'),
    ('globalsync._check_target_secret(text, text)'), ('globalsync._fhir_resource(text, jsonb, text, text)'),
    ('globalsync.to_fhir_patient(globalsync.patient_registrations, text, text)'),
    ('globalsync.to_fhir_organization(globalsync.facilities, text)'), ('globalsync.to_fhir_bundle(text, text, text)');
SELECT set_eq(
    $$SELECT f::text FROM tap_sync_functions WHERE pg_catalog.has_function_privilege('globalsync_reader', f, 'EXECUTE')$$,
    ARRAY['globalsync.validate_target_kind(text,text,jsonb)', 'globalsync.sync_progress_raw()', 'globalsync.worker_info()',
          'globalsync.sync_status(text)', 'globalsync.wait_sync(text,interval)', 'globalsync._pending_events(text)',
          'globalsync.health()', 'globalsync.webhook_signature(text,text,bigint,text)',
          'globalsync._fhir_resource(text,jsonb,text,text)', 'globalsync.to_fhir_patient(globalsync.patient_registrations,text,text)',
          'globalsync.to_fhir_organization(globalsync.facilities,text)', 'globalsync.to_fhir_bundle(text,text,text)'],
    'of the sync functions, reader may execute validate_target_kind(), sync_progress_raw(), worker_info(), sync_status(), wait_sync(), _pending_events(), health(), webhook_signature() and the FHIR converters (_fhir_resource(), to_fhir_patient(), to_fhir_organization(), to_fhir_bundle()) only');
SELECT set_eq(
    $$SELECT f::text FROM tap_sync_functions WHERE pg_catalog.has_function_privilege('globalsync_operator', f, 'EXECUTE')$$,
    ARRAY['globalsync.validate_target_kind(text,text,jsonb)', 'globalsync.sync_progress_raw()', 'globalsync.worker_info()',
          'globalsync.sync_status(text)', 'globalsync.wait_sync(text,interval)', 'globalsync._pending_events(text)',
          'globalsync.health()', 'globalsync.webhook_signature(text,text,bigint,text)',
          'globalsync._fhir_resource(text,jsonb,text,text)', 'globalsync.to_fhir_patient(globalsync.patient_registrations,text,text)',
          'globalsync.to_fhir_organization(globalsync.facilities,text)', 'globalsync.to_fhir_bundle(text,text,text)',
          'globalsync.start_sync(text,text,text)', 'globalsync.cancel_sync(text)'],
    'of the sync functions, operator may execute what reader may, start_sync() and cancel_sync()');
SELECT set_eq(
    $$SELECT f::text FROM tap_sync_functions WHERE pg_catalog.has_function_privilege('globalsync_admin', f, 'EXECUTE')$$,
    ARRAY['globalsync.validate_target_kind(text,text,jsonb)', 'globalsync.sync_progress_raw()', 'globalsync.worker_info()',
          'globalsync.sync_status(text)', 'globalsync.wait_sync(text,interval)', 'globalsync._pending_events(text)',
          'globalsync.health()', 'globalsync.webhook_signature(text,text,bigint,text)',
          'globalsync._fhir_resource(text,jsonb,text,text)', 'globalsync.to_fhir_patient(globalsync.patient_registrations,text,text)',
          'globalsync.to_fhir_organization(globalsync.facilities,text)', 'globalsync.to_fhir_bundle(text,text,text)',
          'globalsync.start_sync(text,text,text)', 'globalsync.cancel_sync(text)',
          'globalsync.add_target(text,text,text,jsonb)', 'globalsync.alter_target(text,text,text,jsonb,boolean)',
          'globalsync.remove_target(text)', 'globalsync.replay_dead_letter(bigint)', 'globalsync.discard_dead_letter(bigint)',
          'globalsync.set_target_secret(text,text)'],
    'of the sync functions, admin may execute what operator may and the target, secret and dead letter API (not snapshot_row(), snapshot_chunk(), _check_target_secret() or the worker''s internal functions)');
SELECT is_empty(
    $$SELECT f::text FROM tap_sync_functions WHERE pg_catalog.has_function_privilege('public', f, 'EXECUTE')$$,
    'PUBLIC may execute no sync function');

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
SELECT throws_ok(format('SELECT globalsync.sync_status(%L)', :'tap_sync'), '42501', NULL, 'plain role: sync_status() is denied');
SELECT throws_ok($$SELECT * FROM globalsync.sync_history$$, '42501', NULL, 'plain role: sync_history is denied');
SELECT throws_ok($$SELECT * FROM globalsync.dashboard_overview$$, '42501', NULL, 'plain role: dashboard_overview is denied');
SELECT throws_ok(format('SELECT globalsync.start_sync(%L)', :'tap_tgt'), '42501', NULL, 'plain role: start_sync() is denied');
SELECT throws_ok($$SELECT globalsync.add_target('tap nobody target', 'file', 'tap/nobody')$$, '42501', NULL, 'plain role: add_target() is denied');
SELECT throws_ok($$SELECT globalsync.webhook_signature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_1', 1, 'x')$$, '42501', NULL,
    'plain role: webhook_signature() is denied');
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
-- the sync engine: watch, never act
SELECT lives_ok($$SELECT * FROM globalsync.sync_progress$$, 'reader: SELECT sync_progress works');
SELECT lives_ok($$SELECT * FROM globalsync.sync_history$$, 'reader: SELECT sync_history works');
SELECT lives_ok($$SELECT * FROM globalsync.dashboard_overview$$, 'reader: SELECT dashboard_overview works');
SELECT lives_ok($$SELECT * FROM globalsync.lag_stats$$, 'reader: SELECT lag_stats works (pending events through _pending_events())');
SELECT lives_ok($$SELECT * FROM globalsync.target_health$$, 'reader: SELECT target_health works (pending events through _pending_events())');
SELECT is(
    (SELECT ARRAY[name, state, breaker, schedule] FROM globalsync.target_health WHERE target_id = :'tap_tgt'),
    ARRAY['tap privileges file target', 'idle', 'closed', 'manual'],
    'reader: target_health shows the target');
SELECT is(
    (SELECT ARRAY[target_name, operation_type, status] FROM globalsync.sync_history WHERE sync_id = :'tap_sync'),
    ARRAY['tap privileges file target', 'MANUAL_SYNC', 'queued'],
    'reader: sync_history shows the queued sync');
SELECT is(globalsync.sync_status(:'tap_sync') ->> 'status', 'queued', 'reader: sync_status() works');
SELECT is(globalsync.wait_sync(:'tap_sync', '0'), 'queued', 'reader: wait_sync() works');
SELECT lives_ok($$SELECT globalsync.validate_target_kind('file', 'tap/reader', '{}')$$, 'reader: validate_target_kind() works');
SELECT lives_ok($$SELECT globalsync.worker_info(), globalsync.sync_progress_raw()$$, 'reader: worker_info() and sync_progress_raw() work');
SELECT throws_ok(format('SELECT globalsync.start_sync(%L)', :'tap_tgt'), '42501', NULL, 'reader: start_sync() is denied');
SELECT throws_ok(format('SELECT globalsync.cancel_sync(%L)', :'tap_sync'), '42501', NULL, 'reader: cancel_sync() is denied');
SELECT throws_ok($$SELECT globalsync.add_target('tap reader target', 'file', 'tap/reader')$$, '42501', NULL, 'reader: add_target() is denied');
SELECT throws_ok(format('SELECT globalsync.alter_target(%L, is_active => false)', :'tap_tgt'), '42501', NULL, 'reader: alter_target() is denied');
SELECT throws_ok(format('SELECT globalsync.remove_target(%L)', :'tap_tgt'), '42501', NULL, 'reader: remove_target() is denied');
SELECT throws_ok(format('SELECT globalsync.replay_dead_letter(%s)', :tap_dl1), '42501', NULL, 'reader: replay_dead_letter() is denied');
SELECT throws_ok(format('SELECT globalsync.discard_dead_letter(%s)', :tap_dl1), '42501', NULL, 'reader: discard_dead_letter() is denied');
SELECT throws_ok($$SELECT * FROM globalsync.dead_letters$$, '42501', NULL, 'reader: no SELECT on dead_letters');
SELECT throws_ok($$SELECT * FROM globalsync.target_state$$, '42501', NULL, 'reader: no SELECT on target_state');
SELECT throws_ok($$SELECT * FROM globalsync.deliveries$$, '42501', NULL, 'reader: no SELECT on deliveries');
SELECT throws_ok($$SELECT globalsync.snapshot_row('globalsync.patient_registrations', r) FROM globalsync.patient_registrations r$$,
    '42501', NULL, 'reader: snapshot_row() is denied');
SELECT throws_ok($$SELECT * FROM globalsync.snapshot_chunk('globalsync.patient_registrations', NULL, 10)$$,
    '42501', NULL, 'reader: snapshot_chunk() is denied');
SELECT is(
    globalsync.webhook_signature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330,
                                 '{"test": 2432232314}'),
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    'reader: webhook_signature() works');
SELECT throws_ok(format('SELECT globalsync.set_target_secret(%L, %L)', :'tap_tgt', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'),
    '42501', NULL, 'reader: set_target_secret() is denied');
SELECT throws_ok($$SELECT * FROM globalsync.target_secrets$$, '42501', NULL, 'reader: no SELECT on target_secrets');
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
-- the sync engine: start and cancel syncs
SELECT globalsync.start_sync(:'tap_tgt', 'FAC_TAPPRIV1') AS tap_op_sync \gset
SELECT matches(:'tap_op_sync'::text, '^SYN_[A-Z0-9]{12}$', 'operator: start_sync() works');
SELECT is(globalsync.cancel_sync(:'tap_op_sync'), true, 'operator: cancel_sync() works');
SELECT is(globalsync.sync_status(:'tap_op_sync') ->> 'status', 'cancelled', 'operator: sync_status() shows the cancelled sync');
SELECT lives_ok(
    $$SELECT * FROM globalsync.sync_progress, globalsync.sync_history, globalsync.dashboard_overview,
                    globalsync.lag_stats, globalsync.target_health LIMIT 1$$,
    'operator: the sync views work');
SELECT throws_ok($$SELECT globalsync.add_target('tap operator target', 'file', 'tap/operator')$$, '42501', NULL, 'operator: add_target() is denied');
SELECT throws_ok(format('SELECT globalsync.alter_target(%L, is_active => false)', :'tap_tgt'), '42501', NULL, 'operator: alter_target() is denied');
SELECT throws_ok(format('SELECT globalsync.remove_target(%L)', :'tap_tgt'), '42501', NULL, 'operator: remove_target() is denied');
SELECT throws_ok(format('SELECT globalsync.replay_dead_letter(%s)', :tap_dl1), '42501', NULL, 'operator: replay_dead_letter() is denied');
SELECT throws_ok(format('SELECT globalsync.discard_dead_letter(%s)', :tap_dl1), '42501', NULL, 'operator: discard_dead_letter() is denied');
SELECT throws_ok($$SELECT * FROM globalsync.dead_letters$$, '42501', NULL, 'operator: no SELECT on dead_letters');
SELECT throws_ok($$SELECT * FROM globalsync.target_state$$, '42501', NULL, 'operator: no SELECT on target_state');
SELECT throws_ok(format('SELECT globalsync.set_target_secret(%L, %L)', :'tap_tgt', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'),
    '42501', NULL, 'operator: set_target_secret() is denied');
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
-- the sync engine: manage targets and dead letters
SELECT matches(globalsync.add_target('tap admin file target', 'file', 'tap/admin', '{"schedule": "manual"}'),
    '^TGT_[A-Z0-9]{8}$', 'admin: add_target() works');
SELECT lives_ok(format('SELECT globalsync.alter_target(%L, options => %L)', :'tap_tgt', '{"schedule": "1 hour"}'),
    'admin: alter_target() works');
SELECT lives_ok($$SELECT * FROM globalsync.target_state$$, 'admin: SELECT on target_state works');
SELECT is(
    (SELECT events FROM globalsync.dead_letters WHERE dead_letter_id = :tap_dl1),
    '[{"op": "I"}]'::jsonb,
    'admin: SELECT on dead_letters works');
SELECT matches(globalsync.replay_dead_letter(:tap_dl1), '^SYN_[A-Z0-9]{12}$', 'admin: replay_dead_letter() works');
SELECT is(globalsync.discard_dead_letter(:tap_dl2), true, 'admin: discard_dead_letter() works');
SELECT throws_ok(
    format('INSERT INTO globalsync.dead_letters (target_id, batch_id, events, event_count) VALUES (%L, %L, %L, 0)',
           :'tap_tgt', 'tap-admin-batch', '[]'),
    '42501', NULL, 'admin: no INSERT on dead_letters');
SELECT throws_ok($$UPDATE globalsync.dead_letters SET status = 'dead'$$, '42501', NULL, 'admin: no UPDATE on dead_letters');
SELECT throws_ok($$DELETE FROM globalsync.dead_letters$$, '42501', NULL, 'admin: no DELETE on dead_letters');
SELECT throws_ok($$UPDATE globalsync.target_state SET consecutive_failures = 0$$, '42501', NULL, 'admin: no UPDATE on target_state');
SELECT throws_ok($$SELECT * FROM globalsync.deliveries$$, '42501', NULL, 'admin: no SELECT on deliveries');
SELECT throws_ok($$SELECT * FROM globalsync.full_sync_state$$, '42501', NULL, 'admin: no SELECT on full_sync_state');
SELECT throws_ok($$SELECT * FROM globalsync.snapshot_chunk('globalsync.patient_registrations', NULL, 10)$$,
    '42501', NULL, 'admin: snapshot_chunk() is denied (it reads every row of a table as the owner would)');
SELECT throws_ok(format('SELECT globalsync._run_begin(%L, %L, %L, NULL, NULL)', 'SYN_TAPADMIN0001', :'tap_tgt', 'MANUAL_SYNC'),
    '42501', NULL, 'admin: the worker''s internal functions are denied (_run_begin)');
SELECT throws_ok($$SELECT globalsync._purge_history('0')$$, '42501', NULL, 'admin: the worker''s internal functions are denied (_purge_history)');
SELECT lives_ok(format('SELECT globalsync.set_target_secret(%L, %L)', 'TGT_TAPADMN1', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'),
    'admin: set_target_secret() of an http target works');
SELECT throws_ok(format('SELECT globalsync.set_target_secret(%L, %L)', :'tap_tgt', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'),
    '22023', 'targets of kind "file" take no secret',
    'admin: set_target_secret() checks the secret with _check_target_secret() (a file target takes none) though admin may not call it');
SELECT throws_ok($$SELECT * FROM globalsync.target_secrets$$, '42501', NULL,
    'admin: no SELECT on target_secrets (a secret set cannot be read back)');
SELECT throws_ok(format('UPDATE globalsync.target_secrets SET secret = %L', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'), '42501', NULL,
    'admin: no UPDATE on target_secrets');
SELECT throws_ok($$SELECT globalsync._check_target_secret('http', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')$$, '42501', NULL,
    'admin: _check_target_secret() is denied (internal)');
SELECT is(globalsync.remove_target(:'tap_tgt'), true, 'admin: remove_target() works');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
