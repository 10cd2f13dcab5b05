-- 001_schema.sql: the objects CREATE EXTENSION globalsync leaves behind.
--
-- Tables, columns, keys, checks, indexes, views, types, functions,
-- operators and the min/max aggregates (in pg_catalog), operator classes,
-- casts, comments and pg_dump registration:
-- the seed data model and the change capture objects (log, ticks,
-- consumers, their partitions and sequences, the capture triggers on
-- patient_registrations).
-- Run by pg_prove in a database where pgtap and globalsync are installed;
-- it changes nothing (ROLLBACK at the end).

\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SELECT plan(370);

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
          'ticks', 'ticks_0', 'ticks_1', 'ticks_2'],
    'schema globalsync has exactly the four data tables and the change capture tables with their partitions');
SELECT has_table('globalsync', 'facilities', 'table facilities exists');
SELECT has_table('globalsync', 'targets', 'table targets exists');
SELECT has_table('globalsync', 'patient_registrations', 'table patient_registrations exists');
SELECT has_table('globalsync', 'sync_log', 'table sync_log exists');
SELECT has_table('globalsync', 'capture_state', 'table capture_state exists');
SELECT has_table('globalsync', 'capture_secrets', 'table capture_secrets exists');
SELECT has_table('globalsync', 'change_log', 'table change_log exists');
SELECT has_table('globalsync', 'ticks', 'table ticks exists');
SELECT has_table('globalsync', 'consumers', 'table consumers exists');

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
    ARRAY['log_id', 'source_facility_id', 'target_id', 'operation_type', 'record_count', 'lag_seconds',
          'status', 'sync_started_at', 'sync_completed_at', 'duration_seconds', 'error_message',
          'created_by_user'],
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
SELECT col_has_default('globalsync', 'sync_log', 'record_count', 'sync_log.record_count has a default');
SELECT col_default_is('globalsync', 'sync_log', 'record_count', '0', 'sync_log.record_count defaults to 0');
SELECT col_has_default('globalsync', 'sync_log', 'sync_started_at', 'sync_log.sync_started_at has a default');
SELECT col_has_default('globalsync', 'sync_log', 'created_by_user', 'sync_log.created_by_user has a default');
SELECT col_is_pk('globalsync', 'sync_log', 'log_id', 'sync_log.log_id is the primary key');
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

-- sequences
SELECT sequences_are('globalsync',
    ARRAY['sync_log_log_id_seq', 'change_log_event_id_seq', 'ticks_tick_id_seq', 'batch_id_seq'],
    'schema globalsync has exactly the four sequences');
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
             ('globalsync.ticks_tick_id_seq', 'globalsync.ticks.tick_id')$$,
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
SELECT set_eq(
    $$SELECT conrelid::regclass::text, confrelid::regclass::text, confdeltype::text, confupdtype::text
        FROM pg_catalog.pg_constraint
       WHERE contype = 'f' AND connamespace = 'globalsync'::regnamespace$$,
    $$VALUES ('globalsync.patient_registrations', 'globalsync.facilities', 'r', 'c'),
             ('globalsync.sync_log', 'globalsync.facilities', 'n', 'c'),
             ('globalsync.sync_log', 'globalsync.targets', 'c', 'c')$$,
    'foreign keys: patients RESTRICT facility deletes, sync_log SET NULL on facility and CASCADE on target; all cascade updates');

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
SELECT col_has_check('globalsync', 'facilities', 'facility_id', 'facilities.facility_id has a check');
SELECT col_has_check('globalsync', 'facilities', 'timezone', 'facilities.timezone has a check');
SELECT col_has_check('globalsync', 'targets', 'kind', 'targets.kind has a check');
SELECT col_has_check('globalsync', 'targets', 'options', 'targets.options has a check');
SELECT col_has_check('globalsync', 'patient_registrations', 'contact_number', 'patient_registrations.contact_number has a check');
SELECT col_has_check('globalsync', 'patient_registrations', 'email', 'patient_registrations.email has a check');
SELECT col_has_check('globalsync', 'sync_log', 'operation_type', 'sync_log.operation_type has a check');
SELECT col_has_check('globalsync', 'sync_log', 'status', 'sync_log.status has a check');
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
    ARRAY['operation_type_known', 'record_count_nonnegative', 'lag_nonnegative', 'status_known',
          'duration_nonnegative', 'completed_after_started', 'finished_has_completion'],
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
    ARRAY['sync_log_pkey', 'sync_log_target_idx', 'sync_log_started_idx'],
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
    ARRAY['time_zones', 'facility_stats', 'registration_calendar', 'tracked_tables', 'capture_stats'],
    'schema globalsync has exactly the five views');
SELECT has_view('globalsync', 'time_zones', 'view time_zones exists');
SELECT has_view('globalsync', 'facility_stats', 'view facility_stats exists');
SELECT has_view('globalsync', 'registration_calendar', 'view registration_calendar exists');
SELECT has_view('globalsync', 'tracked_tables', 'view tracked_tables exists');
SELECT has_view('globalsync', 'capture_stats', 'view capture_stats exists');
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
          'globalsync.next_batch(text, bigint)',
          'globalsync.batch_events(bigint,bigint,integer)',
          'globalsync.finish_batch(bigint)',
          'globalsync.maintain_log()'],
    'exactly the seed API functions and the tick, consumer, batch and rotation functions are SECURITY DEFINER');
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
          'globalsync.consumers', 'globalsync.capture_secrets'],
    'the tables registered with pg_extension_config_dump are exactly the four data tables, consumers and capture_secrets (not the log, ticks or capture_state)');
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
