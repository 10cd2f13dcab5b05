-- 001_schema.sql: the objects CREATE EXTENSION globalsync leaves behind.
--
-- Tables, columns, keys, checks, indexes, views, types, functions,
-- operators and the min/max aggregates (in pg_catalog), operator classes,
-- casts, comments and pg_dump registration:
-- the seed data model, the change capture objects (log, ticks,
-- consumers, their partitions and sequences, the capture triggers on
-- patient_registrations) and the sync engine's (target_state,
-- dead_letters, deliveries, full_sync_state, target_secrets, the new
-- sync_log columns, the five monitoring views, the target, sync and worker
-- functions, set_target_secret(), webhook_signature(), _check_target_secret(),
-- the FHIR R4 converters _fhir_resource(), to_fhir_patient(),
-- to_fhir_organization() and to_fhir_bundle()).
-- Run by pg_prove in a database where pgtap and globalsync are installed;
-- it changes nothing (ROLLBACK at the end).

\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SELECT plan(511);

-- -------------------------------------------------------------------
-- schema and extension
-- -------------------------------------------------------------------
SELECT has_schema('globalsync', 'schema globalsync exists');
SELECT has_extension('globalsync', 'globalsync', 'extension globalsync is installed in schema globalsync');
SELECT ok((SELECT NOT extrelocatable FROM pg_catalog.pg_extension WHERE extname = 'globalsync'),
          'extension globalsync is not relocatable');

-- -------------------------------------------------------------------
-- tables and columns
-- -------------------------------------------------------------------
SELECT tables_are('globalsync',
    ARRAY['facilities', 'targets', 'patient_registrations', 'sync_log',
          'capture_state', 'capture_secrets', 'consumers',
          'change_log', 'change_log_0', 'change_log_1', 'change_log_2',
          'ticks', 'ticks_0', 'ticks_1', 'ticks_2',
          'target_state', 'dead_letters', 'deliveries', 'full_sync_state', 'target_secrets'],
    'schema globalsync has exactly the four data tables, the change capture tables with their partitions and the five sync engine tables');
SELECT has_table('globalsync', 'facilities', 'table facilities exists');
SELECT has_table('globalsync', 'targets', 'table targets exists');
SELECT has_table('globalsync', 'patient_registrations', 'table patient_registrations exists');
SELECT has_table('globalsync', 'sync_log', 'table sync_log exists');
SELECT has_table('globalsync', 'capture_state', 'table capture_state exists');
SELECT has_table('globalsync', 'capture_secrets', 'table capture_secrets exists');
SELECT has_table('globalsync', 'change_log', 'table change_log exists');
SELECT has_table('globalsync', 'ticks', 'table ticks exists');
SELECT has_table('globalsync', 'consumers', 'table consumers exists');
SELECT has_table('globalsync', 'target_state', 'table target_state exists');
SELECT has_table('globalsync', 'dead_letters', 'table dead_letters exists');
SELECT has_table('globalsync', 'deliveries', 'table deliveries exists');
SELECT has_table('globalsync', 'full_sync_state', 'table full_sync_state exists');
SELECT has_table('globalsync', 'target_secrets', 'table target_secrets exists');

-- facilities
SELECT columns_are('globalsync', 'facilities',
    ARRAY['facility_id', 'name', 'timezone', 'location', 'is_active', 'last_sync_time', 'created_at'],
    'facilities has exactly the expected columns');
SELECT col_type_is('globalsync', 'facilities', 'facility_id', 'text', 'facilities.facility_id is text');
SELECT col_type_is('globalsync', 'facilities', 'name', 'text', 'facilities.name is text');
SELECT col_type_is('globalsync', 'facilities', 'timezone', 'globalsync', 'zone_name', 'facilities.timezone is globalsync.zone_name');
SELECT col_type_is('globalsync', 'facilities', 'location', 'text', 'facilities.location is text');
SELECT col_type_is('globalsync', 'facilities', 'is_active', 'boolean', 'facilities.is_active is boolean');
SELECT col_type_is('globalsync', 'facilities', 'last_sync_time', 'globalsync', 'ist_timestamp', 'facilities.last_sync_time is globalsync.ist_timestamp');
SELECT col_type_is('globalsync', 'facilities', 'created_at', 'globalsync', 'ist_timestamp', 'facilities.created_at is globalsync.ist_timestamp');
SELECT col_not_null('globalsync', 'facilities', 'facility_id', 'facilities.facility_id is NOT NULL');
SELECT col_not_null('globalsync', 'facilities', 'name', 'facilities.name is NOT NULL');
SELECT col_not_null('globalsync', 'facilities', 'timezone', 'facilities.timezone is NOT NULL');
SELECT col_is_null('globalsync', 'facilities', 'location', 'facilities.location is nullable');
SELECT col_not_null('globalsync', 'facilities', 'is_active', 'facilities.is_active is NOT NULL');
SELECT col_is_null('globalsync', 'facilities', 'last_sync_time', 'facilities.last_sync_time is nullable');
SELECT col_not_null('globalsync', 'facilities', 'created_at', 'facilities.created_at is NOT NULL');
SELECT col_has_default('globalsync', 'facilities', 'facility_id', 'facilities.facility_id has a default');
SELECT col_hasnt_default('globalsync', 'facilities', 'name', 'facilities.name has no default');
SELECT col_hasnt_default('globalsync', 'facilities', 'timezone', 'facilities.timezone has no default');
SELECT col_has_default('globalsync', 'facilities', 'is_active', 'facilities.is_active has a default');
SELECT col_default_is('globalsync', 'facilities', 'is_active', 'true', 'facilities.is_active defaults to true');
SELECT col_has_default('globalsync', 'facilities', 'created_at', 'facilities.created_at has a default');
SELECT col_is_pk('globalsync', 'facilities', 'facility_id', 'facilities.facility_id is the primary key');

-- targets
SELECT columns_are('globalsync', 'targets',
    ARRAY['target_id', 'name', 'kind', 'endpoint', 'options', 'is_active', 'last_sync_time', 'created_at'],
    'targets has exactly the expected columns (no secrets)');
SELECT col_type_is('globalsync', 'targets', 'target_id', 'text', 'targets.target_id is text');
SELECT col_type_is('globalsync', 'targets', 'name', 'text', 'targets.name is text');
SELECT col_type_is('globalsync', 'targets', 'kind', 'text', 'targets.kind is text');
SELECT col_type_is('globalsync', 'targets', 'endpoint', 'text', 'targets.endpoint is text');
SELECT col_type_is('globalsync', 'targets', 'options', 'jsonb', 'targets.options is jsonb');
SELECT col_type_is('globalsync', 'targets', 'is_active', 'boolean', 'targets.is_active is boolean');
SELECT col_type_is('globalsync', 'targets', 'last_sync_time', 'globalsync', 'ist_timestamp', 'targets.last_sync_time is globalsync.ist_timestamp');
SELECT col_type_is('globalsync', 'targets', 'created_at', 'globalsync', 'ist_timestamp', 'targets.created_at is globalsync.ist_timestamp');
SELECT col_not_null('globalsync', 'targets', 'target_id', 'targets.target_id is NOT NULL');
SELECT col_not_null('globalsync', 'targets', 'name', 'targets.name is NOT NULL');
SELECT col_not_null('globalsync', 'targets', 'kind', 'targets.kind is NOT NULL');
SELECT col_not_null('globalsync', 'targets', 'endpoint', 'targets.endpoint is NOT NULL');
SELECT col_not_null('globalsync', 'targets', 'options', 'targets.options is NOT NULL');
SELECT col_not_null('globalsync', 'targets', 'is_active', 'targets.is_active is NOT NULL');
SELECT col_is_null('globalsync', 'targets', 'last_sync_time', 'targets.last_sync_time is nullable');
SELECT col_not_null('globalsync', 'targets', 'created_at', 'targets.created_at is NOT NULL');
SELECT col_has_default('globalsync', 'targets', 'target_id', 'targets.target_id has a default');
SELECT col_has_default('globalsync', 'targets', 'options', 'targets.options has a default');
SELECT col_default_is('globalsync', 'targets', 'options', '{}'::jsonb, 'targets.options defaults to an empty object');
SELECT col_has_default('globalsync', 'targets', 'is_active', 'targets.is_active has a default');
SELECT col_has_default('globalsync', 'targets', 'created_at', 'targets.created_at has a default');
SELECT col_is_pk('globalsync', 'targets', 'target_id', 'targets.target_id is the primary key');
SELECT col_is_unique('globalsync', 'targets', 'name', 'targets.name is unique');

-- patient_registrations
SELECT columns_are('globalsync', 'patient_registrations',
    ARRAY['patient_id', 'registration_id', 'patient_name', 'date_of_birth', 'contact_number', 'email',
          'facility_id', 'registered_at', 'registration_timezone', 'registered_at_ist', 'created_at'],
    'patient_registrations has exactly the expected columns');
SELECT col_type_is('globalsync', 'patient_registrations', 'patient_id', 'text', 'patient_registrations.patient_id is text');
SELECT col_type_is('globalsync', 'patient_registrations', 'registration_id', 'text', 'patient_registrations.registration_id is text');
SELECT col_type_is('globalsync', 'patient_registrations', 'patient_name', 'text', 'patient_registrations.patient_name is text');
SELECT col_type_is('globalsync', 'patient_registrations', 'date_of_birth', 'date', 'patient_registrations.date_of_birth is date');
SELECT col_type_is('globalsync', 'patient_registrations', 'contact_number', 'text', 'patient_registrations.contact_number is text');
SELECT col_type_is('globalsync', 'patient_registrations', 'email', 'text', 'patient_registrations.email is text');
SELECT col_type_is('globalsync', 'patient_registrations', 'facility_id', 'text', 'patient_registrations.facility_id is text');
SELECT col_type_is('globalsync', 'patient_registrations', 'registered_at', 'globalsync', 'zoned_timestamp', 'patient_registrations.registered_at is globalsync.zoned_timestamp');
SELECT col_type_is('globalsync', 'patient_registrations', 'registration_timezone', 'text', 'patient_registrations.registration_timezone is text');
SELECT col_type_is('globalsync', 'patient_registrations', 'registered_at_ist', 'globalsync', 'ist_timestamp', 'patient_registrations.registered_at_ist is globalsync.ist_timestamp');
SELECT col_type_is('globalsync', 'patient_registrations', 'created_at', 'globalsync', 'ist_timestamp', 'patient_registrations.created_at is globalsync.ist_timestamp');
SELECT col_not_null('globalsync', 'patient_registrations', 'patient_id', 'patient_registrations.patient_id is NOT NULL');
SELECT col_not_null('globalsync', 'patient_registrations', 'registration_id', 'patient_registrations.registration_id is NOT NULL');
SELECT col_not_null('globalsync', 'patient_registrations', 'patient_name', 'patient_registrations.patient_name is NOT NULL');
SELECT col_not_null('globalsync', 'patient_registrations', 'date_of_birth', 'patient_registrations.date_of_birth is NOT NULL');
SELECT col_not_null('globalsync', 'patient_registrations', 'contact_number', 'patient_registrations.contact_number is NOT NULL');
SELECT col_is_null('globalsync', 'patient_registrations', 'email', 'patient_registrations.email is nullable');
SELECT col_not_null('globalsync', 'patient_registrations', 'facility_id', 'patient_registrations.facility_id is NOT NULL');
SELECT col_not_null('globalsync', 'patient_registrations', 'registered_at', 'patient_registrations.registered_at is NOT NULL');
SELECT col_not_null('globalsync', 'patient_registrations', 'registration_timezone', 'patient_registrations.registration_timezone is NOT NULL');
SELECT col_not_null('globalsync', 'patient_registrations', 'registered_at_ist', 'patient_registrations.registered_at_ist is NOT NULL');
SELECT col_not_null('globalsync', 'patient_registrations', 'created_at', 'patient_registrations.created_at is NOT NULL');
SELECT col_has_default('globalsync', 'patient_registrations', 'patient_id', 'patient_registrations.patient_id has a default');
SELECT col_has_default('globalsync', 'patient_registrations', 'registration_id', 'patient_registrations.registration_id has a default');
SELECT col_has_default('globalsync', 'patient_registrations', 'created_at', 'patient_registrations.created_at has a default');
SELECT col_hasnt_default('globalsync', 'patient_registrations', 'registered_at', 'patient_registrations.registered_at has no default');
SELECT col_is_pk('globalsync', 'patient_registrations', 'patient_id', 'patient_registrations.patient_id is the primary key');
SELECT col_is_unique('globalsync', 'patient_registrations', 'registration_id', 'patient_registrations.registration_id is unique');
SELECT set_eq(
    $$SELECT attname::text FROM pg_catalog.pg_attribute
       WHERE attrelid = 'globalsync.patient_registrations'::regclass AND attgenerated = 's'$$,
    ARRAY['registration_timezone', 'registered_at_ist'],
    'registration_timezone and registered_at_ist are the generated (stored) columns of patient_registrations');
SELECT is(
    (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid)
       FROM pg_catalog.pg_attrdef d
       JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
      WHERE d.adrelid = 'globalsync.patient_registrations'::regclass AND a.attname = 'registered_at_ist'),
    'globalsync.to_ist(registered_at)',
    'registered_at_ist is generated as globalsync.to_ist(registered_at)');
SELECT is(
    (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid)
       FROM pg_catalog.pg_attrdef d
       JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
      WHERE d.adrelid = 'globalsync.patient_registrations'::regclass AND a.attname = 'registration_timezone'),
    'globalsync.zone_name(registered_at)',
    'registration_timezone is generated as globalsync.zone_name(registered_at)');

-- sync_log
SELECT columns_are('globalsync', 'sync_log',
    ARRAY['log_id', 'sync_id', 'source_facility_id', 'target_id', 'operation_type', 'record_count', 'lag_seconds',
          'status', 'sync_started_at', 'sync_completed_at', 'duration_seconds', 'error_message',
          'created_by_user', 'records_failed', 'bytes_sent', 'dead_letter_id'],
    'sync_log has exactly the expected columns');
SELECT col_type_is('globalsync', 'sync_log', 'log_id', 'bigint', 'sync_log.log_id is bigint');
SELECT col_type_is('globalsync', 'sync_log', 'source_facility_id', 'text', 'sync_log.source_facility_id is text');
SELECT col_type_is('globalsync', 'sync_log', 'target_id', 'text', 'sync_log.target_id is text');
SELECT col_type_is('globalsync', 'sync_log', 'operation_type', 'text', 'sync_log.operation_type is text');
SELECT col_type_is('globalsync', 'sync_log', 'record_count', 'integer', 'sync_log.record_count is integer');
SELECT col_type_is('globalsync', 'sync_log', 'lag_seconds', 'double precision', 'sync_log.lag_seconds is double precision');
SELECT col_type_is('globalsync', 'sync_log', 'status', 'text', 'sync_log.status is text');
SELECT col_type_is('globalsync', 'sync_log', 'sync_started_at', 'globalsync', 'ist_timestamp', 'sync_log.sync_started_at is globalsync.ist_timestamp');
SELECT col_type_is('globalsync', 'sync_log', 'sync_completed_at', 'globalsync', 'ist_timestamp', 'sync_log.sync_completed_at is globalsync.ist_timestamp');
SELECT col_type_is('globalsync', 'sync_log', 'duration_seconds', 'double precision', 'sync_log.duration_seconds is double precision');
SELECT col_type_is('globalsync', 'sync_log', 'error_message', 'text', 'sync_log.error_message is text');
SELECT col_type_is('globalsync', 'sync_log', 'created_by_user', 'text', 'sync_log.created_by_user is text');
SELECT col_type_is('globalsync', 'sync_log', 'sync_id', 'text', 'sync_log.sync_id is text');
SELECT col_type_is('globalsync', 'sync_log', 'records_failed', 'integer', 'sync_log.records_failed is integer');
SELECT col_type_is('globalsync', 'sync_log', 'bytes_sent', 'bigint', 'sync_log.bytes_sent is bigint');
SELECT col_type_is('globalsync', 'sync_log', 'dead_letter_id', 'bigint', 'sync_log.dead_letter_id is bigint');
SELECT col_not_null('globalsync', 'sync_log', 'log_id', 'sync_log.log_id is NOT NULL');
SELECT col_is_null('globalsync', 'sync_log', 'source_facility_id', 'sync_log.source_facility_id is nullable');
SELECT col_not_null('globalsync', 'sync_log', 'target_id', 'sync_log.target_id is NOT NULL');
SELECT col_not_null('globalsync', 'sync_log', 'operation_type', 'sync_log.operation_type is NOT NULL');
SELECT col_not_null('globalsync', 'sync_log', 'record_count', 'sync_log.record_count is NOT NULL');
SELECT col_is_null('globalsync', 'sync_log', 'lag_seconds', 'sync_log.lag_seconds is nullable');
SELECT col_not_null('globalsync', 'sync_log', 'status', 'sync_log.status is NOT NULL');
SELECT col_not_null('globalsync', 'sync_log', 'sync_started_at', 'sync_log.sync_started_at is NOT NULL');
SELECT col_is_null('globalsync', 'sync_log', 'sync_completed_at', 'sync_log.sync_completed_at is nullable');
SELECT col_is_null('globalsync', 'sync_log', 'duration_seconds', 'sync_log.duration_seconds is nullable');
SELECT col_is_null('globalsync', 'sync_log', 'error_message', 'sync_log.error_message is nullable');
SELECT col_not_null('globalsync', 'sync_log', 'created_by_user', 'sync_log.created_by_user is NOT NULL');
SELECT col_not_null('globalsync', 'sync_log', 'sync_id', 'sync_log.sync_id is NOT NULL');
SELECT col_not_null('globalsync', 'sync_log', 'records_failed', 'sync_log.records_failed is NOT NULL');
SELECT col_not_null('globalsync', 'sync_log', 'bytes_sent', 'sync_log.bytes_sent is NOT NULL');
SELECT col_is_null('globalsync', 'sync_log', 'dead_letter_id', 'sync_log.dead_letter_id is nullable');
SELECT col_has_default('globalsync', 'sync_log', 'record_count', 'sync_log.record_count has a default');
SELECT col_default_is('globalsync', 'sync_log', 'record_count', '0', 'sync_log.record_count defaults to 0');
SELECT col_has_default('globalsync', 'sync_log', 'sync_started_at', 'sync_log.sync_started_at has a default');
SELECT col_has_default('globalsync', 'sync_log', 'created_by_user', 'sync_log.created_by_user has a default');
SELECT col_has_default('globalsync', 'sync_log', 'sync_id', 'sync_log.sync_id has a default');
SELECT col_has_default('globalsync', 'sync_log', 'records_failed', 'sync_log.records_failed has a default');
SELECT col_default_is('globalsync', 'sync_log', 'records_failed', '0', 'sync_log.records_failed defaults to 0');
SELECT col_has_default('globalsync', 'sync_log', 'bytes_sent', 'sync_log.bytes_sent has a default');
SELECT col_default_is('globalsync', 'sync_log', 'bytes_sent', '0', 'sync_log.bytes_sent defaults to 0');
SELECT col_hasnt_default('globalsync', 'sync_log', 'dead_letter_id', 'sync_log.dead_letter_id has no default');
SELECT is(
    (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid)
       FROM pg_catalog.pg_attrdef d
       JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
      WHERE d.adrelid = 'globalsync.sync_log'::regclass AND a.attname = 'sync_id'),
    'globalsync.new_id(''SYN_''::text, 12)',
    'sync_log.sync_id defaults to globalsync.new_id(''SYN_'', 12)');
SELECT col_is_pk('globalsync', 'sync_log', 'log_id', 'sync_log.log_id is the primary key');
SELECT col_is_unique('globalsync', 'sync_log', 'sync_id', 'sync_log.sync_id is unique (what start_sync() returns)');
SELECT is(
    (SELECT attidentity::text FROM pg_catalog.pg_attribute
      WHERE attrelid = 'globalsync.sync_log'::regclass AND attname = 'log_id'),
    'a',
    'sync_log.log_id is GENERATED ALWAYS AS IDENTITY');

-- capture_state: one row, the log's generation and rotation settings
SELECT columns_are('globalsync', 'capture_state',
    ARRAY['singleton', 'generation', 'switch_xid', 'switch_done_xid', 'switched_at', 'rotate_interval', 'rotate_bytes'],
    'capture_state has exactly the expected columns');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'globalsync.capture_state'::regclass AND a.attnum > 0 AND NOT a.attisdropped$$,
    $$VALUES ('singleton', 'boolean', true), ('generation', 'bigint', true), ('switch_xid', 'xid8', false),
             ('switch_done_xid', 'xid8', false), ('switched_at', 'timestamp with time zone', true),
             ('rotate_interval', 'interval', true), ('rotate_bytes', 'bigint', true)$$,
    'capture_state columns have the expected types and nullability');
SELECT col_is_pk('globalsync', 'capture_state', 'singleton', 'capture_state.singleton is the primary key');
SELECT is((SELECT count(*)::int FROM globalsync.capture_state), 1, 'capture_state holds its one row');

-- capture_secrets: the keys of the masking HMAC, the oldest in use
SELECT columns_are('globalsync', 'capture_secrets', ARRAY['created_at', 'mask_key'],
    'capture_secrets has exactly the expected columns');
SELECT col_type_is('globalsync', 'capture_secrets', 'mask_key', 'bytea', 'capture_secrets.mask_key is bytea');
SELECT col_not_null('globalsync', 'capture_secrets', 'mask_key', 'capture_secrets.mask_key is NOT NULL');
SELECT col_is_pk('globalsync', 'capture_secrets', 'created_at', 'capture_secrets.created_at is the primary key');
SELECT ok((SELECT count(*) = 1 AND bool_and(octet_length(mask_key) >= 32) FROM globalsync.capture_secrets),
    'capture_secrets holds one key of at least 256 bits');

-- change_log: the events, partitioned by slot
SELECT columns_are('globalsync', 'change_log',
    ARRAY['event_id', 'slot', 'xid', 'table_oid', 'table_name', 'op', 'pk', 'row_data', 'changed_columns',
          'old_values', 'facility_id', 'captured_at'],
    'change_log has exactly the expected columns');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'globalsync.change_log'::regclass AND a.attnum > 0 AND NOT a.attisdropped$$,
    $$VALUES ('event_id', 'bigint', true), ('slot', 'smallint', true), ('xid', 'xid8', true),
             ('table_oid', 'oid', true), ('table_name', 'text', true), ('op', '"char"', true),
             ('pk', 'jsonb', false), ('row_data', 'jsonb', false), ('changed_columns', 'text[]', false),
             ('old_values', 'jsonb', false), ('facility_id', 'text', false),
             ('captured_at', 'timestamp with time zone', true)$$,
    'change_log columns have the expected types and nullability (64-bit event id, xid8, jsonb key and row)');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.pg_get_expr(d.adbin, d.adrelid)
        FROM pg_catalog.pg_attrdef d
        JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
       WHERE d.adrelid = 'globalsync.change_log'::regclass$$,
    $$VALUES ('event_id', 'nextval(''globalsync.change_log_event_id_seq''::regclass)'),
             ('xid', 'pg_current_xact_id()'),
             ('captured_at', 'clock_timestamp()')$$,
    'change_log defaults: event_id from change_log_event_id_seq, xid of the current transaction, captured_at clock time');
SELECT hasnt_pk('globalsync', 'change_log', 'change_log has no primary key (append only, rotated by TRUNCATE)');
SELECT is_partitioned('globalsync', 'change_log', 'change_log is partitioned');
SELECT is(pg_catalog.pg_get_partkeydef('globalsync.change_log'::regclass), 'LIST (slot)',
    'change_log is partitioned by LIST (slot)');
SELECT partitions_are('globalsync', 'change_log',
    ARRAY['globalsync.change_log_0', 'globalsync.change_log_1', 'globalsync.change_log_2'],
    'change_log has exactly the partitions change_log_0, change_log_1, change_log_2');
SELECT set_eq(
    $$SELECT c.oid::regclass::text, pg_catalog.pg_get_expr(c.relpartbound, c.oid)
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid
       WHERE i.inhparent = 'globalsync.change_log'::regclass$$,
    $$VALUES ('globalsync.change_log_0', 'FOR VALUES IN (''0'')'), ('globalsync.change_log_1', 'FOR VALUES IN (''1'')'),
             ('globalsync.change_log_2', 'FOR VALUES IN (''2'')')$$,
    'change_log_N holds slot N');

-- ticks: snapshots, partitioned by slot like the log
SELECT columns_are('globalsync', 'ticks', ARRAY['tick_id', 'slot', 'snapshot', 'created_at'],
    'ticks has exactly the expected columns');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'globalsync.ticks'::regclass AND a.attnum > 0 AND NOT a.attisdropped$$,
    $$VALUES ('tick_id', 'bigint', true), ('slot', 'smallint', true), ('snapshot', 'pg_snapshot', true),
             ('created_at', 'timestamp with time zone', true)$$,
    'ticks columns have the expected types and are all NOT NULL');
SELECT is(
    (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid)
       FROM pg_catalog.pg_attrdef d
       JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
      WHERE d.adrelid = 'globalsync.ticks'::regclass AND a.attname = 'tick_id'),
    'nextval(''globalsync.ticks_tick_id_seq''::regclass)',
    'ticks.tick_id defaults to nextval(ticks_tick_id_seq)');
SELECT is_partitioned('globalsync', 'ticks', 'ticks is partitioned');
SELECT is(pg_catalog.pg_get_partkeydef('globalsync.ticks'::regclass), 'LIST (slot)',
    'ticks is partitioned by LIST (slot)');
SELECT partitions_are('globalsync', 'ticks',
    ARRAY['globalsync.ticks_0', 'globalsync.ticks_1', 'globalsync.ticks_2'],
    'ticks has exactly the partitions ticks_0, ticks_1, ticks_2');
SELECT set_eq(
    $$SELECT c.oid::regclass::text, pg_catalog.pg_get_expr(c.relpartbound, c.oid)
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid
       WHERE i.inhparent = 'globalsync.ticks'::regclass$$,
    $$VALUES ('globalsync.ticks_0', 'FOR VALUES IN (''0'')'), ('globalsync.ticks_1', 'FOR VALUES IN (''1'')'),
             ('globalsync.ticks_2', 'FOR VALUES IN (''2'')')$$,
    'ticks_N holds slot N');

-- consumers
SELECT columns_are('globalsync', 'consumers',
    ARRAY['consumer', 'last_tick', 'last_snapshot', 'batch_id', 'batch_tick', 'batch_snapshot',
          'registered_at', 'last_finished_at'],
    'consumers has exactly the expected columns');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'globalsync.consumers'::regclass AND a.attnum > 0 AND NOT a.attisdropped$$,
    $$VALUES ('consumer', 'text', true), ('last_tick', 'bigint', true), ('last_snapshot', 'pg_snapshot', true),
             ('batch_id', 'bigint', false), ('batch_tick', 'bigint', false), ('batch_snapshot', 'pg_snapshot', false),
             ('registered_at', 'timestamp with time zone', true), ('last_finished_at', 'timestamp with time zone', false)$$,
    'consumers columns have the expected types and nullability');
SELECT col_is_pk('globalsync', 'consumers', 'consumer', 'consumers.consumer is the primary key');

-- target_state: one row per target, the worker's cursor, breaker and last outcome
SELECT columns_are('globalsync', 'target_state',
    ARRAY['target_id', 'consumer', 'position_batch', 'position', 'consecutive_failures', 'breaker_until',
          'last_scheduled_at', 'last_success_at', 'last_failure_at', 'last_error'],
    'target_state has exactly the expected columns');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'globalsync.target_state'::regclass AND a.attnum > 0 AND NOT a.attisdropped$$,
    $$VALUES ('target_id', 'text', true), ('consumer', 'text', true), ('position_batch', 'bigint', false),
             ('position', 'bigint', true), ('consecutive_failures', 'integer', true),
             ('breaker_until', 'timestamp with time zone', false), ('last_scheduled_at', 'timestamp with time zone', false),
             ('last_success_at', 'timestamp with time zone', false), ('last_failure_at', 'timestamp with time zone', false),
             ('last_error', 'text', false)$$,
    'target_state columns have the expected types and nullability');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.pg_get_expr(d.adbin, d.adrelid)
        FROM pg_catalog.pg_attrdef d
        JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
       WHERE d.adrelid = 'globalsync.target_state'::regclass$$,
    $$VALUES ('position', '0'), ('consecutive_failures', '0')$$,
    'target_state defaults: position 0, consecutive_failures 0, nothing else');
SELECT col_is_pk('globalsync', 'target_state', 'target_id', 'target_state.target_id is the primary key');
SELECT col_is_unique('globalsync', 'target_state', 'consumer', 'target_state.consumer is unique (one consumer per target)');

-- dead_letters: batches that failed for good, with their events
SELECT columns_are('globalsync', 'dead_letters',
    ARRAY['dead_letter_id', 'target_id', 'sync_id', 'batch_id', 'events', 'event_count', 'first_event_id',
          'last_event_id', 'attempts', 'error', 'status', 'failed_at', 'settled_at', 'replay_sync_id'],
    'dead_letters has exactly the expected columns');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'globalsync.dead_letters'::regclass AND a.attnum > 0 AND NOT a.attisdropped$$,
    $$VALUES ('dead_letter_id', 'bigint', true), ('target_id', 'text', true), ('sync_id', 'text', false),
             ('batch_id', 'text', true), ('events', 'jsonb', true), ('event_count', 'integer', true),
             ('first_event_id', 'bigint', false), ('last_event_id', 'bigint', false), ('attempts', 'integer', true),
             ('error', 'text', false), ('status', 'text', true), ('failed_at', 'timestamp with time zone', true),
             ('settled_at', 'timestamp with time zone', false), ('replay_sync_id', 'text', false)$$,
    'dead_letters columns have the expected types and nullability');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.pg_get_expr(d.adbin, d.adrelid)
        FROM pg_catalog.pg_attrdef d
        JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
       WHERE d.adrelid = 'globalsync.dead_letters'::regclass$$,
    $$VALUES ('attempts', '0'), ('status', '''dead''::text'), ('failed_at', 'now()')$$,
    'dead_letters defaults: attempts 0, status dead, failed_at now(), nothing else');
SELECT col_is_pk('globalsync', 'dead_letters', 'dead_letter_id', 'dead_letters.dead_letter_id is the primary key');
SELECT is(
    (SELECT attidentity::text FROM pg_catalog.pg_attribute
      WHERE attrelid = 'globalsync.dead_letters'::regclass AND attname = 'dead_letter_id'),
    'a',
    'dead_letters.dead_letter_id is GENERATED ALWAYS AS IDENTITY');

-- deliveries: per acknowledged batch and facility, for the lag statistics
SELECT columns_are('globalsync', 'deliveries',
    ARRAY['target_id', 'sync_id', 'facility_id', 'events', 'lag_seconds', 'acked_at'],
    'deliveries has exactly the expected columns');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'globalsync.deliveries'::regclass AND a.attnum > 0 AND NOT a.attisdropped$$,
    $$VALUES ('target_id', 'text', true), ('sync_id', 'text', true), ('facility_id', 'text', false),
             ('events', 'integer', true), ('lag_seconds', 'double precision', true),
             ('acked_at', 'timestamp with time zone', true)$$,
    'deliveries columns have the expected types and nullability');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.pg_get_expr(d.adbin, d.adrelid)
        FROM pg_catalog.pg_attrdef d
        JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
       WHERE d.adrelid = 'globalsync.deliveries'::regclass$$,
    $$VALUES ('acked_at', 'now()')$$,
    'deliveries defaults: acked_at now(), nothing else');
SELECT hasnt_pk('globalsync', 'deliveries', 'deliveries has no primary key (append only, purged by age)');

-- full_sync_state: the snapshot phase of full syncs, per table
SELECT columns_are('globalsync', 'full_sync_state',
    ARRAY['sync_id', 'table_name', 'after_pk', 'chunks', 'rows_sent', 'done'],
    'full_sync_state has exactly the expected columns');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'globalsync.full_sync_state'::regclass AND a.attnum > 0 AND NOT a.attisdropped$$,
    $$VALUES ('sync_id', 'text', true), ('table_name', 'text', true), ('after_pk', 'text[]', false),
             ('chunks', 'bigint', true), ('rows_sent', 'bigint', true), ('done', 'boolean', true)$$,
    'full_sync_state columns have the expected types and nullability');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.pg_get_expr(d.adbin, d.adrelid)
        FROM pg_catalog.pg_attrdef d
        JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
       WHERE d.adrelid = 'globalsync.full_sync_state'::regclass$$,
    $$VALUES ('chunks', '0'), ('rows_sent', '0'), ('done', 'false')$$,
    'full_sync_state defaults: chunks 0, rows_sent 0, done false, nothing else');
SELECT col_is_pk('globalsync', 'full_sync_state', ARRAY['sync_id', 'table_name'],
    'full_sync_state''s primary key is (sync_id, table_name)');

-- target_secrets: the signing secret of a target, one at most
SELECT columns_are('globalsync', 'target_secrets', ARRAY['target_id', 'secret', 'set_at', 'set_by'],
    'target_secrets has exactly the expected columns');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'globalsync.target_secrets'::regclass AND a.attnum > 0 AND NOT a.attisdropped$$,
    $$VALUES ('target_id', 'text', true), ('secret', 'text', true), ('set_at', 'timestamp with time zone', true),
             ('set_by', 'text', true)$$,
    'target_secrets columns have the expected types, none nullable');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.pg_get_expr(d.adbin, d.adrelid)
        FROM pg_catalog.pg_attrdef d
        JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
       WHERE d.adrelid = 'globalsync.target_secrets'::regclass$$,
    $$VALUES ('set_at', 'now()'), ('set_by', 'SESSION_USER')$$,
    'target_secrets defaults: set_at now(), set_by session_user, nothing else');
SELECT col_is_pk('globalsync', 'target_secrets', 'target_id', 'target_secrets.target_id is the primary key (one secret per target)');

-- sequences
SELECT sequences_are('globalsync',
    ARRAY['sync_log_log_id_seq', 'change_log_event_id_seq', 'ticks_tick_id_seq', 'batch_id_seq',
          'dead_letters_dead_letter_id_seq'],
    'schema globalsync has exactly the five sequences');
SELECT is_empty(
    $$SELECT s.seqrelid::regclass::text FROM pg_catalog.pg_sequence s
        JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
       WHERE c.relnamespace = 'globalsync'::regnamespace AND s.seqtypid <> 'bigint'::regtype$$,
    'every sequence of the extension is bigint');
SELECT set_eq(
    $$SELECT d.objid::regclass::text, d.refobjid::regclass::text || '.' || a.attname
        FROM pg_catalog.pg_depend d
        JOIN pg_catalog.pg_class c ON c.oid = d.objid AND c.relkind = 'S'
        JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
       WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
         AND d.deptype IN ('a', 'i') AND c.relnamespace = 'globalsync'::regnamespace$$,
    $$VALUES ('globalsync.sync_log_log_id_seq', 'globalsync.sync_log.log_id'),
             ('globalsync.change_log_event_id_seq', 'globalsync.change_log.event_id'),
             ('globalsync.ticks_tick_id_seq', 'globalsync.ticks.tick_id'),
             ('globalsync.dead_letters_dead_letter_id_seq', 'globalsync.dead_letters.dead_letter_id')$$,
    'the id sequences belong to their columns; batch_id_seq belongs to no column');

-- -------------------------------------------------------------------
-- foreign keys and their actions
-- -------------------------------------------------------------------
SELECT fk_ok('globalsync', 'patient_registrations', 'facility_id', 'globalsync', 'facilities', 'facility_id',
    'patient_registrations.facility_id references facilities.facility_id');
SELECT fk_ok('globalsync', 'sync_log', 'source_facility_id', 'globalsync', 'facilities', 'facility_id',
    'sync_log.source_facility_id references facilities.facility_id');
SELECT fk_ok('globalsync', 'sync_log', 'target_id', 'globalsync', 'targets', 'target_id',
    'sync_log.target_id references targets.target_id');
SELECT fk_ok('globalsync', 'target_state', 'target_id', 'globalsync', 'targets', 'target_id',
    'target_state.target_id references targets.target_id');
SELECT fk_ok('globalsync', 'dead_letters', 'target_id', 'globalsync', 'targets', 'target_id',
    'dead_letters.target_id references targets.target_id');
SELECT fk_ok('globalsync', 'deliveries', 'target_id', 'globalsync', 'targets', 'target_id',
    'deliveries.target_id references targets.target_id');
SELECT fk_ok('globalsync', 'target_secrets', 'target_id', 'globalsync', 'targets', 'target_id',
    'target_secrets.target_id references targets.target_id');
SELECT set_eq(
    $$SELECT conrelid::regclass::text, confrelid::regclass::text, confdeltype::text, confupdtype::text
        FROM pg_catalog.pg_constraint
       WHERE contype = 'f' AND connamespace = 'globalsync'::regnamespace$$,
    $$VALUES ('globalsync.patient_registrations', 'globalsync.facilities', 'r', 'c'),
             ('globalsync.sync_log', 'globalsync.facilities', 'n', 'c'),
             ('globalsync.sync_log', 'globalsync.targets', 'c', 'c'),
             ('globalsync.target_state', 'globalsync.targets', 'c', 'c'),
             ('globalsync.dead_letters', 'globalsync.targets', 'c', 'c'),
             ('globalsync.deliveries', 'globalsync.targets', 'c', 'c'),
             ('globalsync.target_secrets', 'globalsync.targets', 'c', 'c')$$,
    'foreign keys: patients RESTRICT facility deletes, sync_log SET NULL on facility; sync_log, target_state, dead_letters, deliveries and target_secrets CASCADE on target; all cascade updates (no other foreign key: not full_sync_state, not sync_log.dead_letter_id)');
SELECT is_empty(
    $$SELECT c.conrelid::regclass::text FROM pg_catalog.pg_constraint c
       WHERE c.contype = 'f' AND c.confrelid = 'globalsync.targets'::regclass
         AND NOT EXISTS (SELECT FROM pg_catalog.pg_index i
                          WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1] AND i.indpred IS NULL)$$,
    'every foreign key to targets leads an index (remove_target() cascades cheaply)');


-- -------------------------------------------------------------------
-- check constraints
-- -------------------------------------------------------------------
SELECT has_check('globalsync', 'facilities', 'facilities has check constraints');
SELECT has_check('globalsync', 'targets', 'targets has check constraints');
SELECT has_check('globalsync', 'patient_registrations', 'patient_registrations has check constraints');
SELECT has_check('globalsync', 'sync_log', 'sync_log has check constraints');
SELECT has_check('globalsync', 'capture_state', 'capture_state has check constraints');
SELECT has_check('globalsync', 'capture_secrets', 'capture_secrets has check constraints');
SELECT has_check('globalsync', 'change_log', 'change_log has check constraints');
SELECT has_check('globalsync', 'consumers', 'consumers has check constraints');
SELECT has_check('globalsync', 'dead_letters', 'dead_letters has check constraints');
SELECT col_has_check('globalsync', 'facilities', 'facility_id', 'facilities.facility_id has a check');
SELECT col_has_check('globalsync', 'facilities', 'timezone', 'facilities.timezone has a check');
SELECT col_has_check('globalsync', 'targets', 'kind', 'targets.kind has a check');
SELECT col_has_check('globalsync', 'targets', 'options', 'targets.options has a check');
SELECT col_has_check('globalsync', 'patient_registrations', 'contact_number', 'patient_registrations.contact_number has a check');
SELECT col_has_check('globalsync', 'patient_registrations', 'email', 'patient_registrations.email has a check');
SELECT col_has_check('globalsync', 'sync_log', 'operation_type', 'sync_log.operation_type has a check');
SELECT col_has_check('globalsync', 'sync_log', 'status', 'sync_log.status has a check');
SELECT col_has_check('globalsync', 'sync_log', 'sync_id', 'sync_log.sync_id has a check');
SELECT col_has_check('globalsync', 'dead_letters', 'status', 'dead_letters.status has a check');
SELECT col_has_check('globalsync', 'dead_letters', 'events', 'dead_letters.events has a check');
SELECT set_eq(
    $$SELECT conname::text FROM pg_catalog.pg_constraint
       WHERE conrelid = 'globalsync.facilities'::regclass AND contype = 'c'$$,
    ARRAY['facility_id_format', 'facility_name_length', 'facility_timezone_canonical', 'facility_location_length'],
    'facilities has the named check constraints');
SELECT set_eq(
    $$SELECT conname::text FROM pg_catalog.pg_constraint
       WHERE conrelid = 'globalsync.targets'::regclass AND contype = 'c'$$,
    ARRAY['target_id_format', 'target_name_length', 'target_kind_known', 'target_endpoint_nonempty', 'target_options_object'],
    'targets has the named check constraints');
SELECT set_eq(
    $$SELECT conname::text FROM pg_catalog.pg_constraint
       WHERE conrelid = 'globalsync.patient_registrations'::regclass AND contype = 'c'$$,
    ARRAY['patient_id_format', 'registration_id_format', 'patient_name_length', 'contact_number_format',
          'email_format', 'born_before_registration'],
    'patient_registrations has the named check constraints');
SELECT set_eq(
    $$SELECT conname::text FROM pg_catalog.pg_constraint
       WHERE conrelid = 'globalsync.sync_log'::regclass AND contype = 'c'$$,
    ARRAY['sync_id_format', 'operation_type_known', 'record_count_nonnegative', 'lag_nonnegative', 'status_known',
          'duration_nonnegative', 'completed_after_started', 'finished_has_completion',
          'records_failed_nonnegative', 'bytes_sent_nonnegative'],
    'sync_log has the named check constraints');
SELECT set_eq(
    $$SELECT conname::text FROM pg_catalog.pg_constraint
       WHERE conrelid = 'globalsync.capture_state'::regclass AND contype = 'c'$$,
    ARRAY['capture_state_one_row', 'rotate_interval_positive', 'rotate_bytes_positive'],
    'capture_state has the named check constraints');
SELECT set_eq(
    $$SELECT conname::text FROM pg_catalog.pg_constraint
       WHERE conrelid = 'globalsync.capture_secrets'::regclass AND contype = 'c'$$,
    ARRAY['mask_key_length'],
    'capture_secrets has the named check constraints');
SELECT set_eq(
    $$SELECT conname::text FROM pg_catalog.pg_constraint
       WHERE conrelid = 'globalsync.change_log'::regclass AND contype = 'c'$$,
    ARRAY['op_known'],
    'change_log has the named check constraint op_known');
SELECT set_eq(
    $$SELECT conname::text FROM pg_catalog.pg_constraint
       WHERE conrelid = 'globalsync.consumers'::regclass AND contype = 'c'$$,
    ARRAY['consumer_name', 'batch_complete'],
    'consumers has the named check constraints');
SELECT set_eq(
    $$SELECT conname::text FROM pg_catalog.pg_constraint
       WHERE conrelid = 'globalsync.dead_letters'::regclass AND contype = 'c'$$,
    ARRAY['events_array', 'dead_letter_status'],
    'dead_letters has the named check constraints');
SELECT is_empty(
    $$SELECT conrelid::regclass::text, conname::text FROM pg_catalog.pg_constraint
       WHERE conrelid IN ('globalsync.target_state'::regclass, 'globalsync.deliveries'::regclass,
                          'globalsync.full_sync_state'::regclass, 'globalsync.target_secrets'::regclass) AND contype = 'c'$$,
    'target_state, deliveries, full_sync_state and target_secrets have no check constraints (secrets are checked by set_target_secret())');
SELECT set_eq(
    $$SELECT conrelid::regclass::text, conname::text, pg_catalog.pg_get_constraintdef(oid)
        FROM pg_catalog.pg_constraint
       WHERE contype = 'c'
         AND (conrelid, conname) IN (('globalsync.sync_log'::regclass, 'sync_id_format'),
                                     ('globalsync.sync_log'::regclass, 'status_known'),
                                     ('globalsync.sync_log'::regclass, 'operation_type_known'),
                                     ('globalsync.sync_log'::regclass, 'finished_has_completion'),
                                     ('globalsync.sync_log'::regclass, 'records_failed_nonnegative'),
                                     ('globalsync.sync_log'::regclass, 'bytes_sent_nonnegative'),
                                     ('globalsync.dead_letters'::regclass, 'events_array'),
                                     ('globalsync.dead_letters'::regclass, 'dead_letter_status'))$$,
    $$VALUES ('globalsync.sync_log', 'sync_id_format', 'CHECK ((sync_id ~ ''^SYN_[A-Z0-9]{12}$''::text))'),
             ('globalsync.sync_log', 'status_known',
              'CHECK ((status = ANY (ARRAY[''queued''::text, ''running''::text, ''completed''::text, ''failed''::text, ''cancelled''::text])))'),
             ('globalsync.sync_log', 'operation_type_known',
              'CHECK ((operation_type = ANY (ARRAY[''MANUAL_SYNC''::text, ''SCHEDULED_SYNC''::text, ''REALTIME_SYNC''::text, ''FULL_SYNC''::text, ''RETRY''::text])))'),
             ('globalsync.sync_log', 'finished_has_completion',
              'CHECK (((status = ANY (ARRAY[''queued''::text, ''running''::text])) = (sync_completed_at IS NULL)))'),
             ('globalsync.sync_log', 'records_failed_nonnegative', 'CHECK ((records_failed >= 0))'),
             ('globalsync.sync_log', 'bytes_sent_nonnegative', 'CHECK ((bytes_sent >= 0))'),
             ('globalsync.dead_letters', 'events_array', 'CHECK ((jsonb_typeof(events) = ''array''::text))'),
             ('globalsync.dead_letters', 'dead_letter_status',
              'CHECK ((status = ANY (ARRAY[''dead''::text, ''queued''::text, ''replayed''::text, ''discarded''::text])))')$$,
    'the sync engine''s check constraints: sync ids SYN_ + 12, statuses queued/running/completed/failed/cancelled (only queued and running unfinished), the five operation types, non-negative counters, dead letters hold an array of events in status dead/queued/replayed/discarded');
SELECT ok(
    (SELECT pg_catalog.bool_and(convalidated) FROM pg_catalog.pg_constraint
      WHERE connamespace = 'globalsync'::regnamespace),
    'every constraint of the extension is validated');

-- -------------------------------------------------------------------
-- indexes
-- -------------------------------------------------------------------
SELECT indexes_are('globalsync', 'facilities',
    ARRAY['facilities_pkey', 'facilities_name_location_key', 'facilities_timezone_idx'],
    'facilities has exactly the expected indexes');
SELECT indexes_are('globalsync', 'targets',
    ARRAY['targets_pkey', 'targets_name_key'],
    'targets has exactly the expected indexes');
SELECT indexes_are('globalsync', 'patient_registrations',
    ARRAY['patient_registrations_pkey', 'patient_registrations_registration_id_key',
          'patient_registrations_facility_idx', 'patient_registrations_ist_idx'],
    'patient_registrations has exactly the expected indexes');
SELECT indexes_are('globalsync', 'sync_log',
    ARRAY['sync_log_pkey', 'sync_log_sync_id_key', 'sync_log_target_idx', 'sync_log_started_idx',
          'sync_log_unfinished_idx'],
    'sync_log has exactly the expected indexes');
SELECT indexes_are('globalsync', 'capture_state', ARRAY['capture_state_pkey'],
    'capture_state has exactly its primary key index');
SELECT indexes_are('globalsync', 'capture_secrets', ARRAY['capture_secrets_pkey'],
    'capture_secrets has exactly its primary key index');
SELECT indexes_are('globalsync', 'change_log', ARRAY['change_log_xid'],
    'change_log has exactly the index change_log_xid');
SELECT indexes_are('globalsync', 'ticks', ARRAY['ticks_tick_id'],
    'ticks has exactly the index ticks_tick_id');
SELECT indexes_are('globalsync', 'consumers', ARRAY['consumers_pkey'],
    'consumers has exactly its primary key index');
SELECT indexes_are('globalsync', 'target_state', ARRAY['target_state_pkey', 'target_state_consumer_key'],
    'target_state has exactly its primary key and the unique index on consumer');
SELECT indexes_are('globalsync', 'dead_letters', ARRAY['dead_letters_pkey', 'dead_letters_target_idx'],
    'dead_letters has exactly the expected indexes');
SELECT indexes_are('globalsync', 'deliveries', ARRAY['deliveries_acked_idx', 'deliveries_target_idx'],
    'deliveries has exactly the expected indexes');
SELECT indexes_are('globalsync', 'full_sync_state', ARRAY['full_sync_state_pkey'],
    'full_sync_state has exactly its primary key index');
SELECT indexes_are('globalsync', 'target_secrets', ARRAY['target_secrets_pkey'],
    'target_secrets has exactly its primary key index');
SELECT has_index('globalsync', 'facilities', 'facilities_name_location_key',
    ARRAY['lower(name)', 'lower(COALESCE(location, ''''::text))'],
    'facilities_name_location_key indexes lower(name), lower(coalesce(location, ''''))');
SELECT index_is_unique('globalsync', 'facilities', 'facilities_name_location_key',
    'facilities_name_location_key is unique (a name once per location, case-insensitive)');
SELECT has_index('globalsync', 'facilities', 'facilities_timezone_idx', 'timezone',
    'facilities_timezone_idx indexes timezone');
SELECT has_index('globalsync', 'patient_registrations', 'patient_registrations_facility_idx',
    ARRAY['facility_id', 'registered_at_ist'],
    'patient_registrations_facility_idx indexes (facility_id, registered_at_ist)');
SELECT has_index('globalsync', 'patient_registrations', 'patient_registrations_ist_idx', 'registered_at_ist',
    'patient_registrations_ist_idx indexes registered_at_ist');
SELECT has_index('globalsync', 'sync_log', 'sync_log_target_idx', ARRAY['target_id', 'sync_started_at'],
    'sync_log_target_idx indexes (target_id, sync_started_at)');
SELECT has_index('globalsync', 'sync_log', 'sync_log_started_idx', 'sync_started_at',
    'sync_log_started_idx indexes sync_started_at');
SELECT index_is_unique('globalsync', 'sync_log', 'sync_log_sync_id_key', 'sync_log_sync_id_key is unique');
SELECT is(
    (SELECT pg_catalog.pg_get_indexdef(i.indexrelid)
       FROM pg_catalog.pg_index i WHERE i.indexrelid = 'globalsync.sync_log_unfinished_idx'::regclass),
    'CREATE INDEX sync_log_unfinished_idx ON globalsync.sync_log USING btree (log_id) WHERE (status = ANY (ARRAY[''queued''::text, ''running''::text]))',
    'sync_log_unfinished_idx indexes log_id of the queued and running syncs only');
SELECT index_is_unique('globalsync', 'target_state', 'target_state_consumer_key', 'target_state_consumer_key is unique');
SELECT has_index('globalsync', 'dead_letters', 'dead_letters_target_idx', ARRAY['target_id', 'status'],
    'dead_letters_target_idx indexes (target_id, status)');
SELECT has_index('globalsync', 'deliveries', 'deliveries_acked_idx', 'acked_at',
    'deliveries_acked_idx indexes acked_at');
SELECT has_index('globalsync', 'deliveries', 'deliveries_target_idx', ARRAY['target_id', 'acked_at'],
    'deliveries_target_idx indexes (target_id, acked_at)');
SELECT ok(
    (SELECT EXISTS (SELECT FROM pg_catalog.pg_index i
                     WHERE i.indrelid = 'globalsync.patient_registrations'::regclass
                       AND i.indkey[0] = (SELECT attnum FROM pg_catalog.pg_attribute
                                           WHERE attrelid = 'globalsync.patient_registrations'::regclass
                                             AND attname = 'facility_id'))),
    'the foreign key patient_registrations.facility_id leads an index (deletes on facilities stay cheap)');
SELECT has_index('globalsync', 'change_log', 'change_log_xid', 'xid', 'change_log_xid indexes xid (batches are cut by xid)');
SELECT has_index('globalsync', 'ticks', 'ticks_tick_id', ARRAY['tick_id', 'slot'], 'ticks_tick_id indexes (tick_id, slot)');
SELECT index_is_unique('globalsync', 'ticks', 'ticks_tick_id', 'ticks_tick_id is unique');
SELECT set_eq(
    $$SELECT i.indrelid::regclass::text, pg_catalog.pg_get_indexdef(i.indexrelid, 1, true)
        FROM pg_catalog.pg_index i JOIN pg_catalog.pg_inherits h ON h.inhrelid = i.indrelid
       WHERE h.inhparent = 'globalsync.change_log'::regclass$$,
    $$VALUES ('globalsync.change_log_0', 'xid'), ('globalsync.change_log_1', 'xid'), ('globalsync.change_log_2', 'xid')$$,
    'each change_log partition has exactly one index, on xid');
SELECT is_empty(
    $$SELECT i.indexrelid::regclass::text
        FROM pg_catalog.pg_index i JOIN pg_catalog.pg_inherits h ON h.inhrelid = i.indrelid
       WHERE h.inhparent = 'globalsync.change_log'::regclass
         AND (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL)$$,
    'every index of the change_log partitions is a plain column index (the capture trigger maintains only those)');

-- -------------------------------------------------------------------
-- capture triggers: patient_registrations is tracked from CREATE EXTENSION on
-- -------------------------------------------------------------------
SELECT triggers_are('globalsync', 'patient_registrations',
    ARRAY['globalsync_capture', 'globalsync_capture_truncate'],
    'patient_registrations has exactly the two capture triggers');
SELECT trigger_is('globalsync', 'patient_registrations', 'globalsync_capture', 'globalsync', 'capture_trigger',
    'trigger globalsync_capture calls globalsync.capture_trigger()');
SELECT trigger_is('globalsync', 'patient_registrations', 'globalsync_capture_truncate', 'globalsync', 'capture_trigger',
    'trigger globalsync_capture_truncate calls globalsync.capture_trigger()');
SELECT set_eq(
    $$SELECT tgname::text, pg_catalog.pg_get_triggerdef(oid)
        FROM pg_catalog.pg_trigger WHERE tgrelid = 'globalsync.patient_registrations'::regclass AND NOT tgisinternal$$,
    $$VALUES ('globalsync_capture', 'CREATE TRIGGER globalsync_capture AFTER INSERT OR DELETE OR UPDATE ON globalsync.patient_registrations FOR EACH ROW EXECUTE FUNCTION globalsync.capture_trigger(''exclude='', ''mask='')'),
             ('globalsync_capture_truncate', 'CREATE TRIGGER globalsync_capture_truncate AFTER TRUNCATE ON globalsync.patient_registrations FOR EACH STATEMENT EXECUTE FUNCTION globalsync.capture_trigger(''exclude='', ''mask='')')$$,
    'patient_registrations: AFTER ROW INSERT/UPDATE/DELETE and AFTER STATEMENT TRUNCATE, nothing excluded or masked');
SELECT set_eq(
    $$SELECT t.tgrelid::regclass::text, t.tgname::text
        FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
       WHERE c.relnamespace = 'globalsync'::regnamespace AND NOT t.tgisinternal$$,
    $$VALUES ('globalsync.patient_registrations', 'globalsync_capture'),
             ('globalsync.patient_registrations', 'globalsync_capture_truncate')$$,
    'no other table of schema globalsync has a user trigger');

-- -------------------------------------------------------------------
-- views
-- -------------------------------------------------------------------
SELECT views_are('globalsync',
    ARRAY['time_zones', 'facility_stats', 'registration_calendar', 'tracked_tables', 'capture_stats',
          'sync_progress', 'sync_history', 'dashboard_overview', 'lag_stats', 'target_health'],
    'schema globalsync has exactly the ten views');
SELECT has_view('globalsync', 'time_zones', 'view time_zones exists');
SELECT has_view('globalsync', 'facility_stats', 'view facility_stats exists');
SELECT has_view('globalsync', 'registration_calendar', 'view registration_calendar exists');
SELECT has_view('globalsync', 'tracked_tables', 'view tracked_tables exists');
SELECT has_view('globalsync', 'capture_stats', 'view capture_stats exists');
SELECT has_view('globalsync', 'sync_progress', 'view sync_progress exists');
SELECT has_view('globalsync', 'sync_history', 'view sync_history exists');
SELECT has_view('globalsync', 'dashboard_overview', 'view dashboard_overview exists');
SELECT has_view('globalsync', 'lag_stats', 'view lag_stats exists');
SELECT has_view('globalsync', 'target_health', 'view target_health exists');
SELECT columns_are('globalsync', 'time_zones',
    ARRAY['zone', 'kind', 'utc_offset', 'ist_offset', 'is_dst', 'observes_dst', 'description', 'facilities'],
    'time_zones has the expected columns');
SELECT columns_are('globalsync', 'facility_stats',
    ARRAY['timezone', 'location', 'utc_offset', 'ist_offset', 'facilities', 'active_facilities', 'patients',
          'last_registration_ist'],
    'facility_stats has the expected columns');
SELECT columns_are('globalsync', 'registration_calendar',
    ARRAY['ist_day', 'facility_id', 'facility_name', 'facility_timezone', 'registrations',
          'first_registration_ist', 'last_registration_ist'],
    'registration_calendar has the expected columns');
SELECT col_type_is('globalsync', 'time_zones', 'ist_offset', 'interval', 'time_zones.ist_offset is interval');
SELECT col_type_is('globalsync', 'facility_stats', 'last_registration_ist', 'globalsync', 'ist_timestamp',
    'facility_stats.last_registration_ist is globalsync.ist_timestamp');
SELECT col_type_is('globalsync', 'registration_calendar', 'ist_day', 'date', 'registration_calendar.ist_day is date');
SELECT columns_are('globalsync', 'tracked_tables',
    ARRAY['table_name', 'schema_name', 'relation_name', 'exclude_columns', 'mask_columns', 'primary_key',
          'has_facility_id', 'enabled'],
    'tracked_tables has the expected columns');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod)
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'globalsync.tracked_tables'::regclass AND a.attnum > 0$$,
    $$VALUES ('table_name', 'regclass'), ('schema_name', 'text'), ('relation_name', 'text'),
             ('exclude_columns', 'text[]'), ('mask_columns', 'text[]'), ('primary_key', 'text[]'),
             ('has_facility_id', 'boolean'), ('enabled', 'boolean')$$,
    'tracked_tables columns have the expected types');
SELECT columns_are('globalsync', 'capture_stats',
    ARRAY['kind', 'table_name', 'op', 'consumer', 'events', 'oldest_pending_age', 'bytes'],
    'capture_stats has the expected columns');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod)
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'globalsync.capture_stats'::regclass AND a.attnum > 0$$,
    $$VALUES ('kind', 'text'), ('table_name', 'text'), ('op', 'text'), ('consumer', 'text'),
             ('events', 'bigint'), ('oldest_pending_age', 'interval'), ('bytes', 'bigint')$$,
    'capture_stats columns have the expected types');

-- the sync engine's views
SELECT columns_are('globalsync', 'sync_progress',
    ARRAY['sync_id', 'target_id', 'target_name', 'facility_id', 'operation_type', 'status', 'step', 'total_steps',
          'progress_percentage', 'step_name', 'current_step', 'records_found', 'records_sent',
          'records_acknowledged', 'records_failed', 'bytes_sent', 'started_at', 'last_updated', 'pid',
          'last_error', 'progress_bar'],
    'sync_progress has the expected columns');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod)
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'globalsync.sync_progress'::regclass AND a.attnum > 0$$,
    $$VALUES ('sync_id', 'text'), ('target_id', 'text'), ('target_name', 'text'), ('facility_id', 'text'),
             ('operation_type', 'text'), ('status', 'text'), ('step', 'integer'), ('total_steps', 'integer'),
             ('progress_percentage', 'integer'), ('step_name', 'text'), ('current_step', 'text'),
             ('records_found', 'bigint'), ('records_sent', 'bigint'), ('records_acknowledged', 'bigint'),
             ('records_failed', 'bigint'), ('bytes_sent', 'bigint'),
             ('started_at', 'globalsync.ist_timestamp'), ('last_updated', 'globalsync.ist_timestamp'),
             ('pid', 'integer'), ('last_error', 'text'), ('progress_bar', 'text')$$,
    'sync_progress columns have the expected types (times in IST)');
SELECT columns_are('globalsync', 'sync_history',
    ARRAY['sync_id', 'log_id', 'target_id', 'target_name', 'target_kind', 'facility_id', 'facility_name',
          'operation_type', 'status', 'record_count', 'records_failed', 'bytes_sent', 'lag_seconds',
          'sync_started_at', 'sync_completed_at', 'duration_seconds', 'error_message', 'created_by_user',
          'dead_letter_id'],
    'sync_history has the expected columns');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod)
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'globalsync.sync_history'::regclass AND a.attnum > 0$$,
    $$VALUES ('sync_id', 'text'), ('log_id', 'bigint'), ('target_id', 'text'), ('target_name', 'text'),
             ('target_kind', 'text'), ('facility_id', 'text'), ('facility_name', 'text'),
             ('operation_type', 'text'), ('status', 'text'), ('record_count', 'integer'),
             ('records_failed', 'integer'), ('bytes_sent', 'bigint'), ('lag_seconds', 'double precision'),
             ('sync_started_at', 'globalsync.ist_timestamp'), ('sync_completed_at', 'globalsync.ist_timestamp'),
             ('duration_seconds', 'double precision'), ('error_message', 'text'), ('created_by_user', 'text'),
             ('dead_letter_id', 'bigint')$$,
    'sync_history columns have the expected types (times in IST)');
SELECT columns_are('globalsync', 'dashboard_overview',
    ARRAY['facilities', 'active_facilities', 'patients', 'registrations_today_ist', 'syncs_today_ist',
          'success_rate_24h', 'avg_lag_seconds_24h', 'p95_lag_seconds_24h', 'running_syncs', 'queued_syncs',
          'dead_letters', 'breakers_open', 'last_sync_completed_at'],
    'dashboard_overview has the expected columns');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod)
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'globalsync.dashboard_overview'::regclass AND a.attnum > 0$$,
    $$VALUES ('facilities', 'bigint'), ('active_facilities', 'bigint'), ('patients', 'bigint'),
             ('registrations_today_ist', 'bigint'), ('syncs_today_ist', 'bigint'), ('success_rate_24h', 'numeric'),
             ('avg_lag_seconds_24h', 'numeric'), ('p95_lag_seconds_24h', 'numeric'), ('running_syncs', 'bigint'),
             ('queued_syncs', 'bigint'), ('dead_letters', 'bigint'), ('breakers_open', 'bigint'),
             ('last_sync_completed_at', 'globalsync.ist_timestamp')$$,
    'dashboard_overview columns have the expected types');
SELECT columns_are('globalsync', 'lag_stats',
    ARRAY['scope', 'target_id', 'target_name', 'timezone', 'deliveries', 'events_delivered', 'p50_lag_seconds',
          'p95_lag_seconds', 'p99_lag_seconds', 'max_lag_seconds', 'pending_events'],
    'lag_stats has the expected columns');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod)
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'globalsync.lag_stats'::regclass AND a.attnum > 0$$,
    $$VALUES ('scope', 'text'), ('target_id', 'text'), ('target_name', 'text'), ('timezone', 'text'),
             ('deliveries', 'bigint'), ('events_delivered', 'bigint'), ('p50_lag_seconds', 'double precision'),
             ('p95_lag_seconds', 'double precision'), ('p99_lag_seconds', 'double precision'),
             ('max_lag_seconds', 'double precision'), ('pending_events', 'bigint')$$,
    'lag_stats columns have the expected types');
SELECT columns_are('globalsync', 'target_health',
    ARRAY['target_id', 'name', 'kind', 'is_active', 'schedule', 'state', 'breaker', 'consecutive_failures',
          'last_success_at', 'last_failure_at', 'last_error', 'pending_events', 'oldest_pending_age',
          'dead_letters', 'last_sync_time'],
    'target_health has the expected columns');
SELECT set_eq(
    $$SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod)
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'globalsync.target_health'::regclass AND a.attnum > 0$$,
    $$VALUES ('target_id', 'text'), ('name', 'text'), ('kind', 'text'), ('is_active', 'boolean'),
             ('schedule', 'text'), ('state', 'text'), ('breaker', 'text'), ('consecutive_failures', 'integer'),
             ('last_success_at', 'globalsync.ist_timestamp'), ('last_failure_at', 'globalsync.ist_timestamp'),
             ('last_error', 'text'), ('pending_events', 'bigint'), ('oldest_pending_age', 'interval'),
             ('dead_letters', 'bigint'), ('last_sync_time', 'globalsync.ist_timestamp')$$,
    'target_health columns have the expected types');

-- -------------------------------------------------------------------
-- types and domain
-- -------------------------------------------------------------------
SELECT types_are('globalsync', ARRAY['ist_timestamp', 'zoned_timestamp', 'zone_name'],
    'schema globalsync has exactly the types ist_timestamp, zoned_timestamp and the domain zone_name');
SELECT has_type('globalsync', 'ist_timestamp', 'type ist_timestamp exists');
SELECT has_type('globalsync', 'zoned_timestamp', 'type zoned_timestamp exists');
SELECT has_domain('globalsync', 'zone_name', 'domain zone_name exists');
SELECT domain_type_is('globalsync', 'zone_name', 'text', 'domain zone_name is over text');
SELECT is(
    (SELECT ARRAY[typlen::int, typbyval::int]
       FROM pg_catalog.pg_type WHERE oid = 'globalsync.ist_timestamp'::regtype),
    ARRAY[8, 1],
    'ist_timestamp is 8 bytes, passed by value');
SELECT is(
    (SELECT typlen::int FROM pg_catalog.pg_type WHERE oid = 'globalsync.zoned_timestamp'::regtype),
    -1,
    'zoned_timestamp is variable length');
SELECT is(
    (SELECT array_agg(typsend::oid <> 0 AND typreceive::oid <> 0 ORDER BY typname)
       FROM pg_catalog.pg_type WHERE oid IN ('globalsync.ist_timestamp'::regtype, 'globalsync.zoned_timestamp'::regtype)),
    ARRAY[true, true],
    'both types have binary send and receive functions');
SELECT set_eq(
    $$SELECT conname::text FROM pg_catalog.pg_constraint WHERE contypid = 'globalsync.zone_name'::regtype$$,
    ARRAY['zone_name_known'],
    'domain zone_name has the check constraint zone_name_known');

-- -------------------------------------------------------------------
-- functions: signatures and return types
-- -------------------------------------------------------------------
SELECT has_function('globalsync', 'to_ist', ARRAY['timestamp without time zone', 'text'], 'to_ist(timestamp, text) exists');
SELECT function_returns('globalsync', 'to_ist', ARRAY['timestamp without time zone', 'text'], 'globalsync.ist_timestamp', 'to_ist(timestamp, text) returns ist_timestamp');
SELECT has_function('globalsync', 'to_ist', ARRAY['globalsync.zoned_timestamp'], 'to_ist(zoned_timestamp) exists');
SELECT function_returns('globalsync', 'to_ist', ARRAY['globalsync.zoned_timestamp'], 'globalsync.ist_timestamp', 'to_ist(zoned_timestamp) returns ist_timestamp');
SELECT has_function('globalsync', 'ist_offset', ARRAY['text', 'timestamp with time zone'], 'ist_offset(text, timestamptz) exists');
SELECT function_returns('globalsync', 'ist_offset', ARRAY['text', 'timestamp with time zone'], 'interval', 'ist_offset(text, timestamptz) returns interval');
SELECT has_function('globalsync', 'ist_date', ARRAY['globalsync.ist_timestamp'], 'ist_date(ist_timestamp) exists');
SELECT function_returns('globalsync', 'ist_date', ARRAY['globalsync.ist_timestamp'], 'date', 'ist_date(ist_timestamp) returns date');
SELECT has_function('globalsync', 'ist_timestamp', ARRAY['timestamp without time zone'], 'ist_timestamp(timestamp) exists');
SELECT function_returns('globalsync', 'ist_timestamp', ARRAY['timestamp without time zone'], 'globalsync.ist_timestamp', 'ist_timestamp(timestamp) returns ist_timestamp');
SELECT has_function('globalsync', 'ist_wall_time', ARRAY['globalsync.ist_timestamp'], 'ist_wall_time(ist_timestamp) exists');
SELECT function_returns('globalsync', 'ist_wall_time', ARRAY['globalsync.ist_timestamp'], 'timestamp without time zone', 'ist_wall_time(ist_timestamp) returns timestamp');
SELECT has_function('globalsync', 'local_time', ARRAY['globalsync.zoned_timestamp'], 'local_time(zoned_timestamp) exists');
SELECT function_returns('globalsync', 'local_time', ARRAY['globalsync.zoned_timestamp'], 'timestamp without time zone', 'local_time(zoned_timestamp) returns timestamp');
SELECT has_function('globalsync', 'zone_name', ARRAY['globalsync.zoned_timestamp'], 'zone_name(zoned_timestamp) exists');
SELECT function_returns('globalsync', 'zone_name', ARRAY['globalsync.zoned_timestamp'], 'text', 'zone_name(zoned_timestamp) returns text');
SELECT has_function('globalsync', 'utc_offset', ARRAY['globalsync.zoned_timestamp'], 'utc_offset(zoned_timestamp) exists');
SELECT function_returns('globalsync', 'utc_offset', ARRAY['globalsync.zoned_timestamp'], 'interval', 'utc_offset(zoned_timestamp) returns interval');
SELECT has_function('globalsync', 'make_zoned', ARRAY['timestamp without time zone', 'text'], 'make_zoned(timestamp, text) exists');
SELECT function_returns('globalsync', 'make_zoned', ARRAY['timestamp without time zone', 'text'], 'globalsync.zoned_timestamp', 'make_zoned(timestamp, text) returns zoned_timestamp');
SELECT has_function('globalsync', 'to_zoned', ARRAY['timestamp with time zone', 'text'], 'to_zoned(timestamptz, text) exists');
SELECT function_returns('globalsync', 'to_zoned', ARRAY['timestamp with time zone', 'text'], 'globalsync.zoned_timestamp', 'to_zoned(timestamptz, text) returns zoned_timestamp');
SELECT has_function('globalsync', 'zoned_instant', ARRAY['globalsync.zoned_timestamp'], 'zoned_instant(zoned_timestamp) exists');
SELECT function_returns('globalsync', 'zoned_instant', ARRAY['globalsync.zoned_timestamp'], 'timestamp with time zone', 'zoned_instant(zoned_timestamp) returns timestamptz');
SELECT has_function('globalsync', 'is_valid_zone', ARRAY['text'], 'is_valid_zone(text) exists');
SELECT function_returns('globalsync', 'is_valid_zone', ARRAY['text'], 'boolean', 'is_valid_zone(text) returns boolean');
SELECT has_function('globalsync', 'canonical_zone', ARRAY['text'], 'canonical_zone(text) exists');
SELECT function_returns('globalsync', 'canonical_zone', ARRAY['text'], 'text', 'canonical_zone(text) returns text');
SELECT has_function('globalsync', 'zone_abbreviations', ARRAY[]::name[], 'zone_abbreviations() exists');
SELECT function_returns('globalsync', 'zone_abbreviations', ARRAY[]::name[], 'setof record', 'zone_abbreviations() returns setof record');
SELECT has_function('globalsync', 'zone_info', ARRAY['text', 'timestamp with time zone'], 'zone_info(text, timestamptz) exists');
SELECT function_returns('globalsync', 'zone_info', ARRAY['text', 'timestamp with time zone'], 'record', 'zone_info(text, timestamptz) returns record');
SELECT has_function('globalsync', 'library_preloaded', ARRAY[]::name[], 'library_preloaded() exists');
SELECT function_returns('globalsync', 'library_preloaded', ARRAY[]::name[], 'boolean', 'library_preloaded() returns boolean');
SELECT has_function('globalsync', 'new_id', ARRAY['text', 'integer'], 'new_id(text, integer) exists');
SELECT function_returns('globalsync', 'new_id', ARRAY['text', 'integer'], 'text', 'new_id(text, integer) returns text');
SELECT has_function('globalsync', 'add_facility', ARRAY['text', 'text', 'text'], 'add_facility(text, text, text) exists');
SELECT function_returns('globalsync', 'add_facility', ARRAY['text', 'text', 'text'], 'text', 'add_facility(text, text, text) returns text');
SELECT has_function('globalsync', 'set_facility_active', ARRAY['text', 'boolean'], 'set_facility_active(text, boolean) exists');
SELECT function_returns('globalsync', 'set_facility_active', ARRAY['text', 'boolean'], 'void', 'set_facility_active(text, boolean) returns void');
SELECT has_function('globalsync', 'list_facilities', ARRAY['text', 'boolean'], 'list_facilities(text, boolean) exists');
SELECT function_returns('globalsync', 'list_facilities', ARRAY['text', 'boolean'], 'setof record', 'list_facilities(text, boolean) returns setof record (a table)');
SELECT has_function('globalsync', 'register_patient',
    ARRAY['text', 'date', 'text', 'text', 'text', 'text', 'timestamp without time zone'],
    'register_patient(text, date, text, text, text, text, timestamp) exists');
SELECT function_returns('globalsync', 'register_patient',
    ARRAY['text', 'date', 'text', 'text', 'text', 'text', 'timestamp without time zone'],
    'globalsync.patient_registrations',
    'register_patient(...) returns a patient_registrations row');
SELECT has_function('globalsync', 'health', ARRAY[]::name[], 'health() exists');
SELECT function_returns('globalsync', 'health', ARRAY[]::name[], 'jsonb', 'health() returns jsonb');
SELECT has_function('pg_catalog', 'min', ARRAY['globalsync.ist_timestamp'], 'pg_catalog.min(ist_timestamp) exists');
SELECT is_aggregate('pg_catalog', 'min', ARRAY['globalsync.ist_timestamp'], 'pg_catalog.min(ist_timestamp) is an aggregate');
SELECT function_returns('pg_catalog', 'min', ARRAY['globalsync.ist_timestamp'], 'globalsync.ist_timestamp', 'pg_catalog.min(ist_timestamp) returns ist_timestamp');
SELECT has_function('pg_catalog', 'max', ARRAY['globalsync.ist_timestamp'], 'pg_catalog.max(ist_timestamp) exists');
SELECT is_aggregate('pg_catalog', 'max', ARRAY['globalsync.ist_timestamp'], 'pg_catalog.max(ist_timestamp) is an aggregate');
SELECT function_returns('pg_catalog', 'max', ARRAY['globalsync.ist_timestamp'], 'globalsync.ist_timestamp', 'pg_catalog.max(ist_timestamp) returns ist_timestamp');

-- change capture
SELECT has_function('globalsync', 'capture_trigger', ARRAY[]::name[], 'capture_trigger() exists');
SELECT function_returns('globalsync', 'capture_trigger', ARRAY[]::name[], 'trigger', 'capture_trigger() returns trigger');
SELECT function_lang_is('globalsync', 'capture_trigger', ARRAY[]::name[], 'c', 'capture_trigger() is written in C');
SELECT has_function('globalsync', 'track', ARRAY['regclass', 'text[]', 'text[]'], 'track(regclass, text[], text[]) exists');
SELECT function_returns('globalsync', 'track', ARRAY['regclass', 'text[]', 'text[]'], 'void', 'track(regclass, text[], text[]) returns void');
SELECT has_function('globalsync', 'untrack', ARRAY['regclass'], 'untrack(regclass) exists');
SELECT function_returns('globalsync', 'untrack', ARRAY['regclass'], 'boolean', 'untrack(regclass) returns boolean');
SELECT has_function('globalsync', 'tick', ARRAY[]::name[], 'tick() exists');
SELECT function_returns('globalsync', 'tick', ARRAY[]::name[], 'bigint', 'tick() returns bigint');
SELECT has_function('globalsync', 'register_consumer', ARRAY['text'], 'register_consumer(text) exists');
SELECT function_returns('globalsync', 'register_consumer', ARRAY['text'], 'bigint', 'register_consumer(text) returns bigint');
SELECT has_function('globalsync', 'unregister_consumer', ARRAY['text'], 'unregister_consumer(text) exists');
SELECT function_returns('globalsync', 'unregister_consumer', ARRAY['text'], 'boolean', 'unregister_consumer(text) returns boolean');
SELECT has_function('globalsync', 'next_batch', ARRAY['text', 'bigint'], 'next_batch(text, bigint) exists');
SELECT function_returns('globalsync', 'next_batch', ARRAY['text', 'bigint'], 'record', 'next_batch(text, bigint) returns record');
SELECT has_function('globalsync', 'batch_events', ARRAY['bigint', 'bigint', 'integer'], 'batch_events(bigint, bigint, integer) exists');
SELECT function_returns('globalsync', 'batch_events', ARRAY['bigint', 'bigint', 'integer'], 'setof globalsync.change_log',
    'batch_events(bigint, bigint, integer) returns setof change_log');
SELECT volatility_is('globalsync', 'batch_events', ARRAY['bigint', 'bigint', 'integer'], 'volatile',
    'batch_events() is VOLATILE (it sees a batch opened earlier in the same statement)');
SELECT has_function('globalsync', 'finish_batch', ARRAY['bigint'], 'finish_batch(bigint) exists');
SELECT function_returns('globalsync', 'finish_batch', ARRAY['bigint'], 'boolean', 'finish_batch(bigint) returns boolean');
SELECT has_function('globalsync', 'maintain_log', ARRAY[]::name[], 'maintain_log() exists');
SELECT function_returns('globalsync', 'maintain_log', ARRAY[]::name[], 'text', 'maintain_log() returns text');
SELECT has_function('globalsync', 'capture_pending', ARRAY[]::name[], 'capture_pending() exists');
SELECT function_returns('globalsync', 'capture_pending', ARRAY[]::name[], 'record', 'capture_pending() returns record');
SELECT function_lang_is('globalsync', 'capture_pending', ARRAY[]::name[], 'c', 'capture_pending() is written in C');

-- sync engine: targets, syncs, dead letters, worker and progress
SELECT has_function('globalsync', 'add_target', ARRAY['text', 'text', 'text', 'jsonb'], 'add_target(text, text, text, jsonb) exists');
SELECT function_returns('globalsync', 'add_target', ARRAY['text', 'text', 'text', 'jsonb'], 'text', 'add_target(text, text, text, jsonb) returns text');
SELECT has_function('globalsync', 'alter_target', ARRAY['text', 'text', 'text', 'jsonb', 'boolean'], 'alter_target(text, text, text, jsonb, boolean) exists');
SELECT function_returns('globalsync', 'alter_target', ARRAY['text', 'text', 'text', 'jsonb', 'boolean'], 'void', 'alter_target(text, text, text, jsonb, boolean) returns void');
SELECT has_function('globalsync', 'remove_target', ARRAY['text'], 'remove_target(text) exists');
SELECT function_returns('globalsync', 'remove_target', ARRAY['text'], 'boolean', 'remove_target(text) returns boolean');
SELECT has_function('globalsync', 'validate_target_kind', ARRAY['text', 'text', 'jsonb'], 'validate_target_kind(text, text, jsonb) exists');
SELECT function_returns('globalsync', 'validate_target_kind', ARRAY['text', 'text', 'jsonb'], 'void', 'validate_target_kind(text, text, jsonb) returns void');
SELECT has_function('globalsync', 'start_sync', ARRAY['text', 'text', 'text'], 'start_sync(text, text, text) exists');
SELECT function_returns('globalsync', 'start_sync', ARRAY['text', 'text', 'text'], 'text', 'start_sync(text, text, text) returns text');
SELECT has_function('globalsync', 'sync_status', ARRAY['text'], 'sync_status(text) exists');
SELECT function_returns('globalsync', 'sync_status', ARRAY['text'], 'jsonb', 'sync_status(text) returns jsonb');
SELECT has_function('globalsync', 'cancel_sync', ARRAY['text'], 'cancel_sync(text) exists');
SELECT function_returns('globalsync', 'cancel_sync', ARRAY['text'], 'boolean', 'cancel_sync(text) returns boolean');
SELECT has_function('globalsync', 'wait_sync', ARRAY['text', 'interval'], 'wait_sync(text, interval) exists');
SELECT function_returns('globalsync', 'wait_sync', ARRAY['text', 'interval'], 'text', 'wait_sync(text, interval) returns text');
SELECT has_function('globalsync', 'replay_dead_letter', ARRAY['bigint'], 'replay_dead_letter(bigint) exists');
SELECT function_returns('globalsync', 'replay_dead_letter', ARRAY['bigint'], 'text', 'replay_dead_letter(bigint) returns text');
SELECT has_function('globalsync', 'discard_dead_letter', ARRAY['bigint'], 'discard_dead_letter(bigint) exists');
SELECT function_returns('globalsync', 'discard_dead_letter', ARRAY['bigint'], 'boolean', 'discard_dead_letter(bigint) returns boolean');
SELECT has_function('globalsync', 'sync_progress_raw', ARRAY[]::name[], 'sync_progress_raw() exists');
SELECT function_returns('globalsync', 'sync_progress_raw', ARRAY[]::name[], 'setof record', 'sync_progress_raw() returns setof record');
SELECT has_function('globalsync', 'worker_info', ARRAY[]::name[], 'worker_info() exists');
SELECT function_returns('globalsync', 'worker_info', ARRAY[]::name[], 'record', 'worker_info() returns record');
SELECT has_function('globalsync', 'snapshot_row', ARRAY['regclass', 'record'], 'snapshot_row(regclass, record) exists');
SELECT function_returns('globalsync', 'snapshot_row', ARRAY['regclass', 'record'], 'jsonb', 'snapshot_row(regclass, record) returns jsonb');
SELECT has_function('globalsync', 'snapshot_chunk', ARRAY['regclass', 'text[]', 'integer', 'text[]'], 'snapshot_chunk(regclass, text[], integer, text[]) exists');
SELECT function_returns('globalsync', 'snapshot_chunk', ARRAY['regclass', 'text[]', 'integer', 'text[]'], 'setof record', 'snapshot_chunk(regclass, text[], integer, text[]) returns setof record (a table)');
SELECT has_function('globalsync', 'set_target_secret', ARRAY['text', 'text'], 'set_target_secret(text, text) exists');
SELECT function_returns('globalsync', 'set_target_secret', ARRAY['text', 'text'], 'void', 'set_target_secret(text, text) returns void');
SELECT has_function('globalsync', 'webhook_signature', ARRAY['text', 'text', 'bigint', 'text'], 'webhook_signature(text, text, bigint, text) exists');
SELECT function_returns('globalsync', 'webhook_signature', ARRAY['text', 'text', 'bigint', 'text'], 'text', 'webhook_signature(text, text, bigint, text) returns text');
SELECT has_function('globalsync', '_check_target_secret', ARRAY['text', 'text'], '_check_target_secret(text, text) exists');
SELECT function_returns('globalsync', '_check_target_secret', ARRAY['text', 'text'], 'void', '_check_target_secret(text, text) returns void');
SELECT hasnt_function('globalsync', '_check_webhook_secret', ARRAY['text'],
    '_check_webhook_secret(text) is gone (secrets are checked per target kind by _check_target_secret())');
SELECT has_function('globalsync', '_fhir_resource', ARRAY['text', 'jsonb', 'text', 'text'], '_fhir_resource(text, jsonb, text, text) exists');
SELECT function_returns('globalsync', '_fhir_resource', ARRAY['text', 'jsonb', 'text', 'text'], 'jsonb', '_fhir_resource(text, jsonb, text, text) returns jsonb');
SELECT has_function('globalsync', 'to_fhir_patient', ARRAY['globalsync.patient_registrations', 'text', 'text'],
    'to_fhir_patient(patient_registrations, text, text) exists');
SELECT function_returns('globalsync', 'to_fhir_patient', ARRAY['globalsync.patient_registrations', 'text', 'text'], 'jsonb',
    'to_fhir_patient(patient_registrations, text, text) returns jsonb');
SELECT has_function('globalsync', 'to_fhir_organization', ARRAY['globalsync.facilities', 'text'],
    'to_fhir_organization(facilities, text) exists');
SELECT function_returns('globalsync', 'to_fhir_organization', ARRAY['globalsync.facilities', 'text'], 'jsonb',
    'to_fhir_organization(facilities, text) returns jsonb');
SELECT has_function('globalsync', 'to_fhir_bundle', ARRAY['text', 'text', 'text'], 'to_fhir_bundle(text, text, text) exists');
SELECT function_returns('globalsync', 'to_fhir_bundle', ARRAY['text', 'text', 'text'], 'jsonb', 'to_fhir_bundle(text, text, text) returns jsonb');
-- every function of the sync engine, internal ones included: signature,
-- result, language, volatility, strictness (none is overloaded)
SELECT set_eq(
    $$SELECT p.oid::regprocedure::text, pg_catalog.pg_get_function_result(p.oid), l.lanname::text,
             p.provolatile::text, p.proisstrict
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
       WHERE p.pronamespace = 'globalsync'::regnamespace
         AND p.proname IN ('validate_target_kind', '_wake_worker', '_request_cancel', 'sync_progress_raw', 'worker_info',
                           'snapshot_row', '_check_target_options', 'add_target', 'alter_target', 'remove_target',
                           'start_sync', 'sync_status', 'cancel_sync', 'wait_sync', 'replay_dead_letter',
                           'discard_dead_letter', 'snapshot_chunk', '_worker_targets', '_log_row', '_run_begin',
                           '_run_end', '_advance', '_ack', '_ack_snapshot', '_dead_letter', '_dead_letter_snapshot', '_failure',
                           '_disable_target', '_purge_history', '_pending_events', 'set_target_secret', 'webhook_signature',
                           '_check_target_secret', '_fhir_resource', 'to_fhir_patient', 'to_fhir_organization',
                           'to_fhir_bundle')$$,
    $$VALUES
        ('globalsync.validate_target_kind(text,text,jsonb)', 'void', 'c', 'v', true),
        ('globalsync._wake_worker()', 'void', 'c', 'v', false),
        ('globalsync._request_cancel(text)', 'boolean', 'c', 'v', true),
        ('globalsync.sync_progress_raw()', 'SETOF record', 'c', 'v', false),
        ('globalsync.worker_info()', 'record', 'c', 'v', false),
        ('globalsync.snapshot_row(regclass,record)', 'jsonb', 'c', 's', true),
        ('globalsync._check_target_options(jsonb)', 'jsonb', 'plpgsql', 's', false),
        ('globalsync.add_target(text,text,text,jsonb)', 'text', 'plpgsql', 'v', false),
        ('globalsync.alter_target(text,text,text,jsonb,boolean)', 'void', 'plpgsql', 'v', false),
        ('globalsync.remove_target(text)', 'boolean', 'plpgsql', 'v', false),
        ('globalsync.start_sync(text,text,text)', 'text', 'plpgsql', 'v', false),
        ('globalsync.sync_status(text)', 'jsonb', 'plpgsql', 's', false),
        ('globalsync.cancel_sync(text)', 'boolean', 'plpgsql', 'v', false),
        ('globalsync.wait_sync(text,interval)', 'text', 'plpgsql', 'v', false),
        ('globalsync.replay_dead_letter(bigint)', 'text', 'plpgsql', 'v', false),
        ('globalsync.discard_dead_letter(bigint)', 'boolean', 'plpgsql', 'v', false),
        ('globalsync.snapshot_chunk(regclass,text[],integer,text[])', 'TABLE(pk_values text[], line text)', 'plpgsql', 's', false),
        ('globalsync._worker_targets()',
         'TABLE(target_id text, name text, kind text, endpoint text, options jsonb, is_active boolean, schedule text, schedule_ms bigint, tables text[], facilities text[], max_events bigint, max_bytes bigint, consumer text, last_tick bigint, consecutive_failures bigint, breaker_until timestamp with time zone, last_scheduled_at timestamp with time zone, secret text)',
         'plpgsql', 'v', false),
        ('globalsync._log_row(text,text)', 'void', 'sql', 'v', false),
        ('globalsync._run_begin(text,text,text,text,bigint)', 'bigint', 'plpgsql', 'v', false),
        ('globalsync._run_end(text,text,text)', 'void', 'plpgsql', 'v', false),
        ('globalsync._advance(text,bigint,bigint,boolean)', 'void', 'plpgsql', 'v', false),
        ('globalsync._ack(text,text,bigint,bigint,boolean,integer,bigint,text[],integer[],timestamp with time zone[],bigint)', 'void', 'plpgsql', 'v', false),
        ('globalsync._ack_snapshot(text,text,text,text[],integer,boolean,bigint)', 'void', 'plpgsql', 'v', false),
        ('globalsync._dead_letter(text,text,text,text[],bigint,bigint,integer,text,bigint,bigint,boolean,text[])', 'void', 'plpgsql', 'v', false),
        ('globalsync._dead_letter_snapshot(text,text,text,text[],integer,text,text,text[],boolean,bigint,bigint,bigint)', 'void', 'plpgsql', 'v', false),
        ('globalsync._failure(text,text,text,timestamp with time zone)', 'void', 'plpgsql', 'v', false),
        ('globalsync._disable_target(text,text)', 'void', 'sql', 'v', false),
        ('globalsync._purge_history(interval)', 'bigint', 'plpgsql', 'v', false),
        ('globalsync._pending_events(text)', 'TABLE(facility_id text, events bigint, oldest timestamp with time zone)', 'sql', 's', false),
        ('globalsync.set_target_secret(text,text)', 'void', 'plpgsql', 'v', false),
        ('globalsync.webhook_signature(text,text,bigint,text)', 'text', 'c', 'i', true),
        ('globalsync._check_target_secret(text,text)', 'void', 'c', 'v', true),
        ('globalsync._fhir_resource(text,jsonb,text,text)', 'jsonb', 'c', 'i', true),
        ('globalsync.to_fhir_patient(globalsync.patient_registrations,text,text)', 'jsonb', 'sql', 's', true),
        ('globalsync.to_fhir_organization(globalsync.facilities,text)', 'jsonb', 'sql', 's', true),
        ('globalsync.to_fhir_bundle(text,text,text)', 'jsonb', 'c', 'i', true)$$,
    'the sync engine''s functions: signatures, results, language, volatility and strictness (wait_sync() is VOLATILE: it must see the worker''s commits; webhook_signature(), _fhir_resource() and to_fhir_bundle() are IMMUTABLE and STRICT; to_fhir_patient() and to_fhir_organization() are STRICT SQL functions, STABLE as to_jsonb() of a row is)');
-- parallel safety of the secret check and the FHIR converters
SELECT set_eq(
    $$SELECT p.oid::regprocedure::text, p.proparallel::text
        FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'globalsync'::regnamespace
         AND p.proname IN ('_check_target_secret', '_fhir_resource', 'to_fhir_patient', 'to_fhir_organization', 'to_fhir_bundle')$$,
    $$VALUES ('globalsync._check_target_secret(text,text)', 'u'),
             ('globalsync._fhir_resource(text,jsonb,text,text)', 's'),
             ('globalsync.to_fhir_patient(globalsync.patient_registrations,text,text)', 's'),
             ('globalsync.to_fhir_organization(globalsync.facilities,text)', 's'),
             ('globalsync.to_fhir_bundle(text,text,text)', 's')$$,
    'the FHIR converters are PARALLEL SAFE; _check_target_secret() keeps the default (PARALLEL UNSAFE)');
-- and no function in the schema beyond these names
SELECT functions_are('globalsync',
    ARRAY['_ack', '_ack_snapshot', '_advance', '_check_target_options', '_check_target_secret', '_dead_letter', '_dead_letter_snapshot',
          '_disable_target', '_failure', '_fhir_resource', '_log_row', '_pending_events', '_purge_history', '_request_cancel', '_resolve_tracked',
          '_run_begin', '_run_end', '_wake_worker', '_worker_targets', 'add_facility', 'add_target', 'alter_target', 'batch_events',
          'cancel_sync', 'canonical_zone', 'capture_pending', 'capture_trigger', 'discard_dead_letter', 'finish_batch',
          'health', 'interval_pl_ist_timestamp', 'is_valid_zone', 'ist_date', 'ist_offset', 'ist_timestamp',
          'ist_timestamp_cmp', 'ist_timestamp_eq', 'ist_timestamp_ge', 'ist_timestamp_gt', 'ist_timestamp_hash',
          'ist_timestamp_hash_extended', 'ist_timestamp_in', 'ist_timestamp_larger', 'ist_timestamp_le',
          'ist_timestamp_lt', 'ist_timestamp_mi', 'ist_timestamp_mi_interval', 'ist_timestamp_ne', 'ist_timestamp_out',
          'ist_timestamp_pl_interval', 'ist_timestamp_recv', 'ist_timestamp_send', 'ist_timestamp_smaller',
          'ist_timestamp_sortsupport', 'ist_wall_time', 'library_preloaded', 'list_facilities', 'local_time',
          'maintain_log', 'make_zoned', 'new_id', 'next_batch', 'register_consumer', 'register_patient',
          'remove_target', 'replay_dead_letter', 'set_facility_active', 'set_target_secret', 'snapshot_chunk', 'snapshot_row', 'start_sync',
          'sync_progress_raw', 'sync_status', 'tick', 'to_fhir_bundle', 'to_fhir_organization', 'to_fhir_patient',
          'to_ist', 'to_zoned', 'track', 'unregister_consumer', 'untrack',
          'utc_offset', 'validate_target_kind', 'wait_sync', 'webhook_signature', 'worker_info', 'zone_abbreviations', 'zone_info',
          'zone_name', 'zoned_instant', 'zoned_timestamp_cmp', 'zoned_timestamp_eq', 'zoned_timestamp_ge',
          'zoned_timestamp_gt', 'zoned_timestamp_hash', 'zoned_timestamp_hash_extended', 'zoned_timestamp_in',
          'zoned_timestamp_le', 'zoned_timestamp_lt', 'zoned_timestamp_ne', 'zoned_timestamp_out',
          'zoned_timestamp_recv', 'zoned_timestamp_send', 'zoned_timestamp_sortsupport'],
    'schema globalsync has exactly the expected functions (by name)');

-- argument names and defaults that callers rely on (named notation)
SELECT is(
    (SELECT pg_catalog.pg_get_function_arguments('globalsync.register_patient(text, date, text, text, text, text, timestamp)'::regprocedure)),
    'full_name text, date_of_birth date, contact_number text, email text, registration_facility text, local_time_zone text DEFAULT NULL::text, local_registration_time timestamp without time zone DEFAULT NULL::timestamp without time zone',
    'register_patient has named arguments with local_time_zone and local_registration_time defaulting to NULL');
SELECT is(
    (SELECT pg_catalog.pg_get_function_arguments('globalsync.add_facility(text, text, text)'::regprocedure)),
    'name text, timezone text, location text DEFAULT NULL::text',
    'add_facility(name, timezone, location DEFAULT NULL)');
SELECT is(
    (SELECT pg_catalog.pg_get_function_arguments('globalsync.list_facilities(text, boolean)'::regprocedure)),
    'timezone text DEFAULT NULL::text, active_only boolean DEFAULT false',
    'list_facilities(timezone DEFAULT NULL, active_only DEFAULT false)');
SELECT is(
    (SELECT pg_catalog.pg_get_function_arguments('globalsync.ist_offset(text, timestamptz)'::regprocedure)),
    'zone text, at timestamp with time zone DEFAULT now()',
    'ist_offset(zone, at DEFAULT now())');
SELECT is(
    (SELECT pg_catalog.pg_get_function_arguments('globalsync.track(regclass, text[], text[])'::regprocedure)),
    'tbl regclass, exclude_columns text[] DEFAULT ''{}''::text[], mask_columns text[] DEFAULT ''{}''::text[]',
    'track(tbl, exclude_columns DEFAULT ''{}'', mask_columns DEFAULT ''{}'')');
SELECT is(
    (SELECT pg_catalog.pg_get_function_arguments('globalsync.batch_events(bigint, bigint, integer)'::regprocedure)),
    'batch_id bigint, after_event_id bigint DEFAULT 0, max_events integer DEFAULT 1000',
    'batch_events(batch_id, after_event_id DEFAULT 0, max_events DEFAULT 1000)');
SELECT is(
    (SELECT pg_catalog.pg_get_function_arguments('globalsync.next_batch(text, bigint)'::regprocedure)),
    'consumer text, max_tick bigint DEFAULT NULL::bigint, OUT batch_id bigint, OUT prev_tick bigint, OUT tick bigint, OUT prev_snapshot pg_snapshot, OUT snapshot pg_snapshot',
    'next_batch(consumer) returns batch_id, prev_tick, tick, prev_snapshot, snapshot');
SELECT is(
    (SELECT pg_catalog.pg_get_function_arguments('globalsync.capture_pending()'::regprocedure)),
    'OUT pending_commits bigint, OUT last_commit_at timestamp with time zone',
    'capture_pending() returns pending_commits, last_commit_at');
SELECT is(
    (SELECT pg_catalog.pg_get_function_arguments('globalsync.add_target(text, text, text, jsonb)'::regprocedure)),
    'name text, kind text, endpoint text, options jsonb DEFAULT ''{}''::jsonb',
    'add_target(name, kind, endpoint, options DEFAULT ''{}'')');
SELECT is(
    (SELECT pg_catalog.pg_get_function_arguments('globalsync.alter_target(text, text, text, jsonb, boolean)'::regprocedure)),
    'target_id text, name text DEFAULT NULL::text, endpoint text DEFAULT NULL::text, options jsonb DEFAULT NULL::jsonb, is_active boolean DEFAULT NULL::boolean',
    'alter_target(target_id, name, endpoint, options, is_active, all but target_id DEFAULT NULL)');
SELECT is(
    (SELECT pg_catalog.pg_get_function_arguments('globalsync.start_sync(text, text, text)'::regprocedure)),
    'target_id text, facility_id text DEFAULT NULL::text, mode text DEFAULT ''incremental''::text',
    'start_sync(target_id, facility_id DEFAULT NULL, mode DEFAULT ''incremental'')');
SELECT is(
    (SELECT pg_catalog.pg_get_function_arguments('globalsync.wait_sync(text, interval)'::regprocedure)),
    'sync_id text, timeout interval DEFAULT ''00:01:00''::interval',
    'wait_sync(sync_id, timeout DEFAULT ''1 minute'')');
SELECT is(
    (SELECT pg_catalog.pg_get_function_arguments('globalsync.snapshot_chunk(regclass, text[], integer, text[])'::regprocedure)),
    'tbl regclass, after_pk text[], max_rows integer, facilities text[] DEFAULT NULL::text[]',
    'snapshot_chunk(tbl, after_pk, max_rows, facilities DEFAULT NULL)');
SELECT set_eq(
    $$SELECT p.oid::regprocedure::text, pg_catalog.pg_get_function_arguments(p.oid)
        FROM pg_catalog.pg_proc p
       WHERE p.oid IN ('globalsync.remove_target(text)'::regprocedure, 'globalsync.sync_status(text)'::regprocedure,
                       'globalsync.cancel_sync(text)'::regprocedure, 'globalsync.replay_dead_letter(bigint)'::regprocedure,
                       'globalsync.discard_dead_letter(bigint)'::regprocedure,
                       'globalsync.validate_target_kind(text, text, jsonb)'::regprocedure,
                       'globalsync.snapshot_row(regclass, record)'::regprocedure,
                       'globalsync.set_target_secret(text, text)'::regprocedure,
                       'globalsync.webhook_signature(text, text, bigint, text)'::regprocedure,
                       'globalsync._check_target_secret(text, text)'::regprocedure,
                       'globalsync._fhir_resource(text, jsonb, text, text)'::regprocedure)$$,
    $$VALUES ('globalsync.remove_target(text)', 'target_id text'),
             ('globalsync.sync_status(text)', 'sync_id text'),
             ('globalsync.cancel_sync(text)', 'sync_id text'),
             ('globalsync.replay_dead_letter(bigint)', 'dead_letter_id bigint'),
             ('globalsync.discard_dead_letter(bigint)', 'dead_letter_id bigint'),
             ('globalsync.validate_target_kind(text,text,jsonb)', 'kind text, endpoint text, options jsonb'),
             ('globalsync.snapshot_row(regclass,record)', 'tbl regclass, r record'),
             ('globalsync.set_target_secret(text,text)', 'target_id text, secret text'),
             ('globalsync.webhook_signature(text,text,bigint,text)', 'secret text, msg_id text, msg_timestamp bigint, body text'),
             ('globalsync._check_target_secret(text,text)', 'kind text, secret text'),
             ('globalsync._fhir_resource(text,jsonb,text,text)', 'resource_type text, row_data jsonb, identifier_system text, organization_system text')$$,
    'the other sync functions'' argument names (named notation)');
SELECT is(
    (SELECT pg_catalog.pg_get_function_arguments('globalsync.sync_progress_raw()'::regprocedure)),
    'OUT sync_id text, OUT target_id text, OUT facility_id text, OUT operation_type text, OUT status text, OUT step integer, OUT total_steps integer, OUT progress_percentage integer, OUT step_name text, OUT current_step text, OUT records_found bigint, OUT records_sent bigint, OUT records_acknowledged bigint, OUT records_failed bigint, OUT bytes_sent bigint, OUT started_at timestamp with time zone, OUT last_updated timestamp with time zone, OUT pid integer, OUT last_error text',
    'sync_progress_raw() returns the progress slot''s columns');
SELECT is(
    (SELECT pg_catalog.pg_get_function_arguments('globalsync.worker_info()'::regprocedure)),
    'OUT launcher_pid integer, OUT worker_pid integer',
    'worker_info() returns launcher_pid, worker_pid');
SELECT is(
    (SELECT pg_catalog.pg_get_function_arguments('globalsync.to_fhir_patient(globalsync.patient_registrations, text, text)'::regprocedure)),
    'patient globalsync.patient_registrations, identifier_system text DEFAULT ''urn:globalsync:patient-id''::text, organization_system text DEFAULT ''urn:globalsync:facility-id''::text',
    'to_fhir_patient(patient, identifier_system DEFAULT ''urn:globalsync:patient-id'', organization_system DEFAULT ''urn:globalsync:facility-id'')');
SELECT is(
    (SELECT pg_catalog.pg_get_function_arguments('globalsync.to_fhir_organization(globalsync.facilities, text)'::regprocedure)),
    'facility globalsync.facilities, identifier_system text DEFAULT ''urn:globalsync:facility-id''::text',
    'to_fhir_organization(facility, identifier_system DEFAULT ''urn:globalsync:facility-id'')');
SELECT is(
    (SELECT pg_catalog.pg_get_function_arguments('globalsync.to_fhir_bundle(text, text, text)'::regprocedure)),
    'events text, identifier_system text DEFAULT ''urn:globalsync:patient-id''::text, organization_system text DEFAULT ''urn:globalsync:facility-id''::text',
    'to_fhir_bundle(events, identifier_system DEFAULT ''urn:globalsync:patient-id'', organization_system DEFAULT ''urn:globalsync:facility-id'')');

SELECT set_eq(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'globalsync'::regnamespace AND p.prosecdef$$,
    ARRAY['globalsync.add_facility(text,text,text)',
          'globalsync.set_facility_active(text,boolean)',
          'globalsync.list_facilities(text,boolean)',
          'globalsync.register_patient(text,date,text,text,text,text,timestamp without time zone)',
          'globalsync.health()',
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
          'globalsync.sync_status(text)',
          'globalsync.cancel_sync(text)',
          'globalsync.wait_sync(text,interval)',
          'globalsync.replay_dead_letter(bigint)',
          'globalsync.discard_dead_letter(bigint)',
          'globalsync.set_target_secret(text,text)',
          'globalsync._pending_events(text)'],
    'exactly the seed API functions, the tick, consumer, batch and rotation functions, the target, sync, dead letter and secret API and _pending_events() are SECURITY DEFINER (not webhook_signature(), _check_target_secret() or the FHIR converters)');
SELECT ok(
    (SELECT count(*) = 5 AND NOT bool_or(prosecdef) FROM pg_catalog.pg_proc
      WHERE oid IN ('globalsync._check_target_secret(text, text)'::regprocedure,
                    'globalsync._fhir_resource(text, jsonb, text, text)'::regprocedure,
                    'globalsync.to_fhir_patient(globalsync.patient_registrations, text, text)'::regprocedure,
                    'globalsync.to_fhir_organization(globalsync.facilities, text)'::regprocedure,
                    'globalsync.to_fhir_bundle(text, text, text)'::regprocedure)),
    '_check_target_secret(), _fhir_resource(), to_fhir_patient(), to_fhir_organization() and to_fhir_bundle() run with the caller''s rights (not SECURITY DEFINER)');
SELECT ok(
    (SELECT NOT bool_or(prosecdef) FROM pg_catalog.pg_proc
      WHERE oid IN ('globalsync.snapshot_row(regclass, record)'::regprocedure,
                    'globalsync.snapshot_chunk(regclass, text[], integer, text[])'::regprocedure,
                    'globalsync.validate_target_kind(text, text, jsonb)'::regprocedure,
                    'globalsync._check_target_options(jsonb)'::regprocedure)),
    'snapshot_row(), snapshot_chunk(), validate_target_kind() and _check_target_options() run with the caller''s rights');
SELECT ok(
    (SELECT NOT bool_or(prosecdef) FROM pg_catalog.pg_proc
      WHERE oid IN ('globalsync.track(regclass, text[], text[])'::regprocedure, 'globalsync.untrack(regclass)'::regprocedure)),
    'track() and untrack() run with the caller''s rights (only a table''s owner can change what is captured)');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'globalsync'::regnamespace
         AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                          WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
                            AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
                            AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'globalsync'))$$,
    'every function in schema globalsync belongs to the extension');

-- -------------------------------------------------------------------
-- operators
-- -------------------------------------------------------------------
SELECT has_operator('globalsync.ist_timestamp', 'pg_catalog', '=',  'globalsync.ist_timestamp', 'boolean', 'operator ist_timestamp = ist_timestamp exists');
SELECT has_operator('globalsync.ist_timestamp', 'pg_catalog', '<>', 'globalsync.ist_timestamp', 'boolean', 'operator ist_timestamp <> ist_timestamp exists');
SELECT has_operator('globalsync.ist_timestamp', 'pg_catalog', '<',  'globalsync.ist_timestamp', 'boolean', 'operator ist_timestamp < ist_timestamp exists');
SELECT has_operator('globalsync.ist_timestamp', 'pg_catalog', '<=', 'globalsync.ist_timestamp', 'boolean', 'operator ist_timestamp <= ist_timestamp exists');
SELECT has_operator('globalsync.ist_timestamp', 'pg_catalog', '>',  'globalsync.ist_timestamp', 'boolean', 'operator ist_timestamp > ist_timestamp exists');
SELECT has_operator('globalsync.ist_timestamp', 'pg_catalog', '>=', 'globalsync.ist_timestamp', 'boolean', 'operator ist_timestamp >= ist_timestamp exists');
SELECT has_operator('globalsync.ist_timestamp', 'pg_catalog', '+',  'interval', 'globalsync.ist_timestamp', 'operator ist_timestamp + interval exists');
SELECT has_operator('interval', 'pg_catalog', '+', 'globalsync.ist_timestamp', 'globalsync.ist_timestamp', 'operator interval + ist_timestamp exists');
SELECT has_operator('globalsync.ist_timestamp', 'pg_catalog', '-',  'interval', 'globalsync.ist_timestamp', 'operator ist_timestamp - interval exists');
SELECT has_operator('globalsync.ist_timestamp', 'pg_catalog', '-',  'globalsync.ist_timestamp', 'interval', 'operator ist_timestamp - ist_timestamp returns interval');
SELECT has_operator('globalsync.zoned_timestamp', 'pg_catalog', '=',  'globalsync.zoned_timestamp', 'boolean', 'operator zoned_timestamp = zoned_timestamp exists');
SELECT has_operator('globalsync.zoned_timestamp', 'pg_catalog', '<>', 'globalsync.zoned_timestamp', 'boolean', 'operator zoned_timestamp <> zoned_timestamp exists');
SELECT has_operator('globalsync.zoned_timestamp', 'pg_catalog', '<',  'globalsync.zoned_timestamp', 'boolean', 'operator zoned_timestamp < zoned_timestamp exists');
SELECT has_operator('globalsync.zoned_timestamp', 'pg_catalog', '<=', 'globalsync.zoned_timestamp', 'boolean', 'operator zoned_timestamp <= zoned_timestamp exists');
SELECT has_operator('globalsync.zoned_timestamp', 'pg_catalog', '>',  'globalsync.zoned_timestamp', 'boolean', 'operator zoned_timestamp > zoned_timestamp exists');
SELECT has_operator('globalsync.zoned_timestamp', 'pg_catalog', '>=', 'globalsync.zoned_timestamp', 'boolean', 'operator zoned_timestamp >= zoned_timestamp exists');
SELECT operators_are('globalsync', ARRAY[]::text[],
    'schema globalsync has no operators (they are in pg_catalog)');
-- the extension's operators, wherever they are
CREATE TEMP VIEW tap_ext_operators AS
    SELECT o.* FROM pg_catalog.pg_operator o
      JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_operator'::regclass AND d.objid = o.oid
     WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
       AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'globalsync');
SELECT set_eq(
    $$SELECT oid::regoperator::text || ' RETURNS ' || oprresult::regtype::text, oprnamespace::regnamespace::text
        FROM tap_ext_operators$$,
    $$SELECT o, 'pg_catalog' FROM unnest(ARRAY[
        '=(globalsync.ist_timestamp,globalsync.ist_timestamp) RETURNS boolean',
        '<>(globalsync.ist_timestamp,globalsync.ist_timestamp) RETURNS boolean',
        '<(globalsync.ist_timestamp,globalsync.ist_timestamp) RETURNS boolean',
        '<=(globalsync.ist_timestamp,globalsync.ist_timestamp) RETURNS boolean',
        '>(globalsync.ist_timestamp,globalsync.ist_timestamp) RETURNS boolean',
        '>=(globalsync.ist_timestamp,globalsync.ist_timestamp) RETURNS boolean',
        '+(globalsync.ist_timestamp,interval) RETURNS globalsync.ist_timestamp',
        '+(interval,globalsync.ist_timestamp) RETURNS globalsync.ist_timestamp',
        '-(globalsync.ist_timestamp,interval) RETURNS globalsync.ist_timestamp',
        '-(globalsync.ist_timestamp,globalsync.ist_timestamp) RETURNS interval',
        '=(globalsync.zoned_timestamp,globalsync.zoned_timestamp) RETURNS boolean',
        '<>(globalsync.zoned_timestamp,globalsync.zoned_timestamp) RETURNS boolean',
        '<(globalsync.zoned_timestamp,globalsync.zoned_timestamp) RETURNS boolean',
        '<=(globalsync.zoned_timestamp,globalsync.zoned_timestamp) RETURNS boolean',
        '>(globalsync.zoned_timestamp,globalsync.zoned_timestamp) RETURNS boolean',
        '>=(globalsync.zoned_timestamp,globalsync.zoned_timestamp) RETURNS boolean']) AS o$$,
    'the extension has exactly the expected operators, all in pg_catalog (found whatever the search_path)');
SELECT set_eq(
    $$SELECT p.oid::regprocedure::text
        FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
       WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
         AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'globalsync')
         AND p.pronamespace <> 'globalsync'::regnamespace$$,
    ARRAY['min(globalsync.ist_timestamp)', 'max(globalsync.ist_timestamp)'],
    'the extension''s only functions outside schema globalsync are the aggregates min and max in pg_catalog');
SELECT is_empty(
    $$SELECT o.oid::regoperator::text FROM tap_ext_operators o
       WHERE (SELECT p.pronamespace FROM pg_catalog.pg_proc p WHERE p.oid = o.oprcode) <> 'globalsync'::regnamespace$$,
    'every operator''s function is in schema globalsync (with its grants)');
SELECT is(
    (SELECT array_agg(oprcanhash AND oprcanmerge ORDER BY oprleft)
       FROM tap_ext_operators
      WHERE oprname = '='),
    ARRAY[true, true],
    'both = operators support hash and merge joins');
SELECT is_empty(
    $$SELECT o.oid::regoperator::text FROM tap_ext_operators o
       WHERE o.oprname IN ('=', '<>', '<', '<=', '>', '>=')
         AND (o.oprcom = 0 OR o.oprnegate = 0 OR o.oprrest = 0 OR o.oprjoin = 0)$$,
    'every comparison operator has a commutator, a negator and selectivity estimators');

-- -------------------------------------------------------------------
-- operator classes
-- -------------------------------------------------------------------
SELECT opclasses_are('globalsync',
    ARRAY['ist_timestamp_ops', 'ist_timestamp_hash_ops', 'zoned_timestamp_ops', 'zoned_timestamp_hash_ops',
          'xid8_minmax_ops'],
    'schema globalsync has exactly the five operator classes (the types'' and BRIN minmax for xid8)');
SELECT has_opclass('globalsync', 'ist_timestamp_ops', 'opclass ist_timestamp_ops exists');
SELECT has_opclass('globalsync', 'ist_timestamp_hash_ops', 'opclass ist_timestamp_hash_ops exists');
SELECT has_opclass('globalsync', 'zoned_timestamp_ops', 'opclass zoned_timestamp_ops exists');
SELECT has_opclass('globalsync', 'zoned_timestamp_hash_ops', 'opclass zoned_timestamp_hash_ops exists');
SELECT set_eq(
    $$SELECT c.opcname::text, am.amname::text, c.opcintype::regtype::text
        FROM pg_catalog.pg_opclass c JOIN pg_catalog.pg_am am ON am.oid = c.opcmethod
       WHERE c.opcnamespace = 'globalsync'::regnamespace AND c.opcdefault$$,
    $$VALUES ('ist_timestamp_ops', 'btree', 'globalsync.ist_timestamp'),
             ('ist_timestamp_hash_ops', 'hash', 'globalsync.ist_timestamp'),
             ('zoned_timestamp_ops', 'btree', 'globalsync.zoned_timestamp'),
             ('zoned_timestamp_hash_ops', 'hash', 'globalsync.zoned_timestamp')$$,
    'the operator classes are the default btree and hash classes of both types');

-- -------------------------------------------------------------------
-- casts
-- -------------------------------------------------------------------
SELECT has_cast('globalsync.ist_timestamp'::name, 'timestamp with time zone'::name,
    'cast ist_timestamp -> timestamptz exists'::text);
SELECT cast_context_is('globalsync.ist_timestamp', 'timestamp with time zone', 'implicit',
    'cast ist_timestamp -> timestamptz is implicit');
SELECT has_cast('timestamp with time zone'::name, 'globalsync.ist_timestamp'::name,
    'cast timestamptz -> ist_timestamp exists'::text);
SELECT cast_context_is('timestamp with time zone', 'globalsync.ist_timestamp', 'assignment',
    'cast timestamptz -> ist_timestamp is assignment');
SELECT has_cast('timestamp without time zone', 'globalsync.ist_timestamp', 'globalsync', 'ist_timestamp',
    'cast timestamp -> ist_timestamp uses globalsync.ist_timestamp(timestamp)');
SELECT cast_context_is('timestamp without time zone', 'globalsync.ist_timestamp', 'assignment',
    'cast timestamp -> ist_timestamp is assignment');
SELECT has_cast('globalsync.ist_timestamp', 'timestamp without time zone', 'globalsync', 'ist_wall_time',
    'cast ist_timestamp -> timestamp uses globalsync.ist_wall_time(ist_timestamp)');
SELECT cast_context_is('globalsync.ist_timestamp', 'timestamp without time zone', 'assignment',
    'cast ist_timestamp -> timestamp is assignment');
SELECT has_cast('globalsync.zoned_timestamp', 'globalsync.ist_timestamp', 'globalsync', 'to_ist',
    'cast zoned_timestamp -> ist_timestamp uses globalsync.to_ist(zoned_timestamp)');
SELECT cast_context_is('globalsync.zoned_timestamp', 'globalsync.ist_timestamp', 'assignment',
    'cast zoned_timestamp -> ist_timestamp is assignment');
SELECT has_cast('globalsync.zoned_timestamp', 'timestamp with time zone', 'globalsync', 'zoned_instant',
    'cast zoned_timestamp -> timestamptz uses globalsync.zoned_instant(zoned_timestamp)');
SELECT cast_context_is('globalsync.zoned_timestamp', 'timestamp with time zone', 'assignment',
    'cast zoned_timestamp -> timestamptz is assignment');

-- -------------------------------------------------------------------
-- comments: every table, view, type and function of the extension
-- -------------------------------------------------------------------
SELECT is_empty(
    $$SELECT c.oid::regclass::text
        FROM pg_catalog.pg_depend d
        JOIN pg_catalog.pg_class c ON c.oid = d.objid
       WHERE d.classid = 'pg_catalog.pg_class'::regclass
         AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
         AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'globalsync')
         AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
         AND pg_catalog.obj_description(c.oid, 'pg_class') IS NULL$$,
    'every table and view of the extension has a COMMENT, partitions included');
SELECT is_empty(
    $$SELECT t.oid::regtype::text
        FROM pg_catalog.pg_depend d
        JOIN pg_catalog.pg_type t ON t.oid = d.objid
       WHERE d.classid = 'pg_catalog.pg_type'::regclass
         AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
         AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'globalsync')
         AND pg_catalog.obj_description(t.oid, 'pg_type') IS NULL$$,
    'every type and domain of the extension has a COMMENT');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text
        FROM pg_catalog.pg_depend d
        JOIN pg_catalog.pg_proc p ON p.oid = d.objid
       WHERE d.classid = 'pg_catalog.pg_proc'::regclass
         AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
         AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'globalsync')
         AND pg_catalog.obj_description(p.oid, 'pg_proc') IS NULL
       ORDER BY 1$$,
    'every function of the extension has a COMMENT (STYLE.md: \df+ is documentation)');

-- -------------------------------------------------------------------
-- pg_dump: configuration tables
-- -------------------------------------------------------------------
SELECT ok(
    (SELECT extconfig @> ARRAY['globalsync.facilities'::regclass, 'globalsync.targets'::regclass,
                               'globalsync.patient_registrations'::regclass, 'globalsync.sync_log'::regclass]::oid[]
       FROM pg_catalog.pg_extension WHERE extname = 'globalsync'),
    'pg_extension.extconfig contains the four data tables, so pg_dump keeps their rows');
SELECT set_eq(
    $$SELECT c::regclass::text FROM pg_catalog.pg_extension e, unnest(e.extconfig) AS c
       WHERE e.extname = 'globalsync' AND (SELECT relkind FROM pg_catalog.pg_class WHERE oid = c) IN ('r', 'p')$$,
    ARRAY['globalsync.facilities', 'globalsync.targets', 'globalsync.patient_registrations', 'globalsync.sync_log',
          'globalsync.consumers', 'globalsync.capture_secrets', 'globalsync.target_state', 'globalsync.dead_letters',
          'globalsync.target_secrets'],
    'the tables registered with pg_extension_config_dump are exactly the four data tables, consumers, capture_secrets, target_state, dead_letters and target_secrets (not the log, ticks, capture_state, deliveries or full_sync_state)');
SELECT set_eq(
    $$SELECT c::regclass::text FROM pg_catalog.pg_extension e, unnest(e.extconfig) AS c
       WHERE e.extname = 'globalsync' AND (SELECT relkind FROM pg_catalog.pg_class WHERE oid = c) = 'S'$$,
    ARRAY['globalsync.sync_log_log_id_seq', 'globalsync.ticks_tick_id_seq', 'globalsync.batch_id_seq',
          'globalsync.dead_letters_dead_letter_id_seq', 'globalsync.change_log_event_id_seq'],
    'the sequences registered with pg_extension_config_dump are exactly those whose values dumped rows hold (sync_log, ticks, batches, dead_letters) and the event ids, which must go on after a restore');
SELECT ok(
    (SELECT 'globalsync.sync_log_log_id_seq'::regclass::oid = ANY (extconfig)
       FROM pg_catalog.pg_extension WHERE extname = 'globalsync'),
    'the sync_log identity sequence is registered too, so pg_dump keeps its position');
-- consumers is dumped, and its rows hold a tick id (last_tick, batch_tick)
-- and a batch id: if the sequences behind them restart at 1 after a
-- restore, a restored consumer waits for the new tick ids to catch up with
-- its last_tick, and a new batch can get the id of a restored open batch
-- (finish_batch() of that id then finishes both)
SELECT ok(
    (SELECT NOT ('globalsync.consumers'::regclass::oid = ANY (extconfig))
            OR extconfig @> ARRAY['globalsync.ticks_tick_id_seq'::regclass, 'globalsync.batch_id_seq'::regclass]::oid[]
       FROM pg_catalog.pg_extension WHERE extname = 'globalsync'),
    'consumers is dumped, so ticks_tick_id_seq and batch_id_seq, whose values its rows hold, are registered too');
-- CREATE EXTENSION inserts a key row; pg_restore then runs CREATE EXTENSION
-- and loads the dumped rows.  Keys are keyed by creation time and the
-- oldest is in use, so the restored (older) key loads beside the new one and
-- stays the key in use: masks are the same after a restore.
SELECT lives_ok(
    $$INSERT INTO globalsync.capture_secrets (created_at, mask_key)
      VALUES ('2001-01-01 00:00:00+00', decode(repeat('cd', 32), 'hex'))$$,
    'a restored, older key loads beside the key CREATE EXTENSION made');
SELECT is(
    (SELECT array_length(extconfig, 1) = coalesce(array_length(extcondition, 1), 0)
       FROM pg_catalog.pg_extension WHERE extname = 'globalsync'),
    true,
    'extconfig and extcondition have one entry each per registered relation');

SELECT * FROM finish();
ROLLBACK;
