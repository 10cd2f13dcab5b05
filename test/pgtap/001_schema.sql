-- 001_schema.sql: the objects CREATE EXTENSION globalsync leaves behind.
--
-- Tables, columns, keys, checks, indexes, views, types, functions,
-- operators, operator classes, casts, comments and pg_dump registration.
-- Run by pg_prove in a database where pgtap and globalsync are installed;
-- it changes nothing (ROLLBACK at the end).

\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SELECT plan(271);

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
    ARRAY['facilities', 'targets', 'patient_registrations', 'sync_log'],
    'schema globalsync has exactly the four tables');
SELECT has_table('globalsync', 'facilities', 'table facilities exists');
SELECT has_table('globalsync', 'targets', 'table targets exists');
SELECT has_table('globalsync', 'patient_registrations', 'table patient_registrations exists');
SELECT has_table('globalsync', 'sync_log', 'table sync_log exists');

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

-- -------------------------------------------------------------------
-- views
-- -------------------------------------------------------------------
SELECT views_are('globalsync', ARRAY['time_zones', 'facility_stats', 'registration_calendar'],
    'schema globalsync has exactly the three views');
SELECT has_view('globalsync', 'time_zones', 'view time_zones exists');
SELECT has_view('globalsync', 'facility_stats', 'view facility_stats exists');
SELECT has_view('globalsync', 'registration_calendar', 'view registration_calendar exists');
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
SELECT has_function('globalsync', 'min', ARRAY['globalsync.ist_timestamp'], 'min(ist_timestamp) exists');
SELECT is_aggregate('globalsync', 'min', ARRAY['globalsync.ist_timestamp'], 'min(ist_timestamp) is an aggregate');
SELECT function_returns('globalsync', 'min', ARRAY['globalsync.ist_timestamp'], 'globalsync.ist_timestamp', 'min(ist_timestamp) returns ist_timestamp');
SELECT has_function('globalsync', 'max', ARRAY['globalsync.ist_timestamp'], 'max(ist_timestamp) exists');
SELECT is_aggregate('globalsync', 'max', ARRAY['globalsync.ist_timestamp'], 'max(ist_timestamp) is an aggregate');
SELECT function_returns('globalsync', 'max', ARRAY['globalsync.ist_timestamp'], 'globalsync.ist_timestamp', 'max(ist_timestamp) returns ist_timestamp');

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

SELECT set_eq(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'globalsync'::regnamespace AND p.prosecdef$$,
    ARRAY['globalsync.add_facility(text,text,text)',
          'globalsync.set_facility_active(text,boolean)',
          'globalsync.list_facilities(text,boolean)',
          'globalsync.register_patient(text,date,text,text,text,text,timestamp without time zone)',
          'globalsync.health()'],
    'exactly the seed API functions are SECURITY DEFINER');
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
SELECT has_operator('globalsync.ist_timestamp', 'globalsync', '=',  'globalsync.ist_timestamp', 'boolean', 'operator ist_timestamp = ist_timestamp exists');
SELECT has_operator('globalsync.ist_timestamp', 'globalsync', '<>', 'globalsync.ist_timestamp', 'boolean', 'operator ist_timestamp <> ist_timestamp exists');
SELECT has_operator('globalsync.ist_timestamp', 'globalsync', '<',  'globalsync.ist_timestamp', 'boolean', 'operator ist_timestamp < ist_timestamp exists');
SELECT has_operator('globalsync.ist_timestamp', 'globalsync', '<=', 'globalsync.ist_timestamp', 'boolean', 'operator ist_timestamp <= ist_timestamp exists');
SELECT has_operator('globalsync.ist_timestamp', 'globalsync', '>',  'globalsync.ist_timestamp', 'boolean', 'operator ist_timestamp > ist_timestamp exists');
SELECT has_operator('globalsync.ist_timestamp', 'globalsync', '>=', 'globalsync.ist_timestamp', 'boolean', 'operator ist_timestamp >= ist_timestamp exists');
SELECT has_operator('globalsync.ist_timestamp', 'globalsync', '+',  'interval', 'globalsync.ist_timestamp', 'operator ist_timestamp + interval exists');
SELECT has_operator('interval', 'globalsync', '+', 'globalsync.ist_timestamp', 'globalsync.ist_timestamp', 'operator interval + ist_timestamp exists');
SELECT has_operator('globalsync.ist_timestamp', 'globalsync', '-',  'interval', 'globalsync.ist_timestamp', 'operator ist_timestamp - interval exists');
SELECT has_operator('globalsync.ist_timestamp', 'globalsync', '-',  'globalsync.ist_timestamp', 'interval', 'operator ist_timestamp - ist_timestamp returns interval');
SELECT has_operator('globalsync.zoned_timestamp', 'globalsync', '=',  'globalsync.zoned_timestamp', 'boolean', 'operator zoned_timestamp = zoned_timestamp exists');
SELECT has_operator('globalsync.zoned_timestamp', 'globalsync', '<>', 'globalsync.zoned_timestamp', 'boolean', 'operator zoned_timestamp <> zoned_timestamp exists');
SELECT has_operator('globalsync.zoned_timestamp', 'globalsync', '<',  'globalsync.zoned_timestamp', 'boolean', 'operator zoned_timestamp < zoned_timestamp exists');
SELECT has_operator('globalsync.zoned_timestamp', 'globalsync', '<=', 'globalsync.zoned_timestamp', 'boolean', 'operator zoned_timestamp <= zoned_timestamp exists');
SELECT has_operator('globalsync.zoned_timestamp', 'globalsync', '>',  'globalsync.zoned_timestamp', 'boolean', 'operator zoned_timestamp > zoned_timestamp exists');
SELECT has_operator('globalsync.zoned_timestamp', 'globalsync', '>=', 'globalsync.zoned_timestamp', 'boolean', 'operator zoned_timestamp >= zoned_timestamp exists');
SELECT operators_are('globalsync', ARRAY[
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
    '>=(globalsync.zoned_timestamp,globalsync.zoned_timestamp) RETURNS boolean'],
    'schema globalsync has exactly the expected operators');
SELECT is(
    (SELECT array_agg(oprcanhash AND oprcanmerge ORDER BY oprleft)
       FROM pg_catalog.pg_operator
      WHERE oprnamespace = 'globalsync'::regnamespace AND oprname = '='),
    ARRAY[true, true],
    'both = operators support hash and merge joins');
SELECT is_empty(
    $$SELECT o.oid::regoperator::text FROM pg_catalog.pg_operator o
       WHERE o.oprnamespace = 'globalsync'::regnamespace
         AND o.oprname IN ('=', '<>', '<', '<=', '>', '>=')
         AND (o.oprcom = 0 OR o.oprnegate = 0 OR o.oprrest = 0 OR o.oprjoin = 0)$$,
    'every comparison operator has a commutator, a negator and selectivity estimators');

-- -------------------------------------------------------------------
-- operator classes
-- -------------------------------------------------------------------
SELECT opclasses_are('globalsync',
    ARRAY['ist_timestamp_ops', 'ist_timestamp_hash_ops', 'zoned_timestamp_ops', 'zoned_timestamp_hash_ops'],
    'schema globalsync has exactly the four operator classes');
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
    'every table and view of the extension has a COMMENT');
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
    'pg_extension.extconfig contains the four tables, so pg_dump keeps their rows');
SELECT set_eq(
    $$SELECT c::regclass::text FROM pg_catalog.pg_extension e, unnest(e.extconfig) AS c
       WHERE e.extname = 'globalsync' AND (SELECT relkind FROM pg_catalog.pg_class WHERE oid = c) = 'r'$$,
    ARRAY['globalsync.facilities', 'globalsync.targets', 'globalsync.patient_registrations', 'globalsync.sync_log'],
    'the tables registered with pg_extension_config_dump are exactly the four tables');
SELECT ok(
    (SELECT 'globalsync.sync_log_log_id_seq'::regclass::oid = ANY (extconfig)
       FROM pg_catalog.pg_extension WHERE extname = 'globalsync'),
    'the sync_log identity sequence is registered too, so pg_dump keeps its position');
SELECT is(
    (SELECT array_length(extconfig, 1) = coalesce(array_length(extcondition, 1), 0)
       FROM pg_catalog.pg_extension WHERE extname = 'globalsync'),
    true,
    'extconfig and extcondition have one entry each per registered relation');

SELECT * FROM finish();
ROLLBACK;
