-- 005_capture.sql: change capture's API contracts and privileges.
--
-- track() and untrack() (what they refuse, with which SQLSTATE), the
-- tracked_tables view, what the capture trigger writes when a role with no
-- rights on the log changes a tracked table (excluded and masked columns,
-- no-op updates, TRUNCATE), the setting globalsync.capture, consumers and
-- batches, capture_stats, the first steps of log rotation, and who may read
-- the log and the masking key.
--
-- pgTAP runs in one transaction, so every real event here has this
-- transaction's xid and nothing here ever commits.  The batch tests use two
-- consumers:
--   tap.capture:real       on real ticks: the batch state machine (a batch
--                          is returned until finished, finishing moves on)
--                          and that this transaction's own, uncommitted
--                          events are in no batch;
--   tap.capture:synthetic  on ticks and events written directly, with xids
--                          far above any real one (2^40 + n), so that
--                          "committed between two ticks" can be spelt out:
--                          a transaction is never split, one that takes the
--                          first event ids but commits last is delivered
--                          whole with the first tick that sees it
--                          committed, and every event is in exactly one
--                          batch.
-- Concurrent sessions and real commits are the isolation and TAP tests'
-- business.  Test roles and tables are created inside the transaction;
-- everything is rolled back.

\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SELECT plan(146);

-- ===================================================================
-- fixtures, as the superuser running the suite
-- ===================================================================
SET LOCAL lock_timeout = '10s';
-- ticks made by anyone else wait until this test rolls back, so the ticks
-- next_batch() returns here are this test's own
LOCK TABLE globalsync.ticks IN EXCLUSIVE MODE;
-- and rotation steps by anyone else wait too, so the slot stays put
SELECT FROM globalsync.capture_state FOR UPDATE;

-- loads the library, so globalsync.capture is defined without preloading
SELECT globalsync.library_preloaded() AS tap_preloaded \gset

-- the real consumer starts here, before this transaction has ended any
-- subtransaction (see "consumers on real ticks")
SELECT globalsync.register_consumer('tap.capture:real') AS tap_real_t0 \gset

CREATE SCHEMA tap_capture;
CREATE TABLE tap_capture.people (
    id          integer PRIMARY KEY,
    name        text,
    note        text,
    ssn         text,
    facility_id text
);
CREATE TABLE tap_capture.no_key (x integer);
CREATE TEMP TABLE tap_dup (k integer PRIMARY KEY);
INSERT INTO tap_dup VALUES (1);

CREATE ROLE tap_cap_writer NOLOGIN;
GRANT USAGE ON SCHEMA tap_capture TO tap_cap_writer;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON tap_capture.people TO tap_cap_writer;
CREATE ROLE tap_cap_reader NOLOGIN IN ROLE globalsync_reader;
CREATE ROLE tap_cap_operator NOLOGIN IN ROLE globalsync_operator;
CREATE ROLE tap_cap_admin NOLOGIN IN ROLE globalsync_admin;
CREATE ROLE tap_cap_repl NOLOGIN REPLICATION;
CREATE SCHEMA tap_capture_admin AUTHORIZATION tap_cap_admin;

INSERT INTO globalsync.facilities (facility_id, name, timezone, location)
    VALUES ('FAC_TAPCAPT1', 'TAP Capture Clinic', 'Asia/Kolkata', 'Chennai');

-- the SQLSTATE, message, detail and hint a statement fails with
CREATE FUNCTION pg_temp.tap_error(sql text,
        OUT err_state text, OUT err_message text, OUT err_detail text, OUT err_hint text)
    LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                            err_detail = PG_EXCEPTION_DETAIL, err_hint = PG_EXCEPTION_HINT;
END
$$;

-- HMAC-SHA256 (RFC 2104) as lower-case hex, from sha256() alone
CREATE FUNCTION pg_temp.tap_hmac_sha256(key bytea, msg bytea) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    k bytea := key;
    ipad bytea;
    opad bytea;
BEGIN
    IF length(k) > 64 THEN
        k := sha256(k);
    END IF;
    k := k || decode(repeat('00', 64 - length(k)), 'hex');
    ipad := k;
    opad := k;
    FOR i IN 0..63 LOOP
        ipad := set_byte(ipad, i, get_byte(k, i) # 54);     -- 0x36
        opad := set_byte(opad, i, get_byte(k, i) # 92);     -- 0x5c
    END LOOP;
    RETURN encode(sha256(opad || sha256(ipad || msg)), 'hex');
END
$$;
-- what a masked column holds: the keyed hash of the value's text
CREATE FUNCTION pg_temp.tap_mask(v text) RETURNS text
    LANGUAGE sql STABLE STRICT
    RETURN pg_temp.tap_hmac_sha256((SELECT mask_key FROM globalsync.capture_secrets), convert_to(v, 'UTF8'));

-- synthetic xids, snapshots, ticks and events: 2^40 + n, far above any real xid
CREATE FUNCTION pg_temp.tap_xid(n integer) RETURNS xid8
    LANGUAGE sql IMMUTABLE RETURN (1099511627776 + n)::text::xid8;
CREATE FUNCTION pg_temp.tap_snap(xmin integer, xmax integer, xip integer[]) RETURNS pg_snapshot
    LANGUAGE sql IMMUTABLE
    RETURN format('%s:%s:%s', 1099511627776 + xmin, 1099511627776 + xmax,
                  array_to_string(ARRAY(SELECT 1099511627776 + x FROM unnest(xip) x ORDER BY 1), ','))::pg_snapshot;
CREATE FUNCTION pg_temp.tap_tick(snap pg_snapshot) RETURNS bigint
    LANGUAGE sql AS $$
    INSERT INTO globalsync.ticks (slot, snapshot)
    SELECT (s.generation % 3)::smallint, snap FROM globalsync.capture_state s
    RETURNING tick_id
$$;
CREATE FUNCTION pg_temp.tap_event(k text, xid_offset integer) RETURNS bigint
    LANGUAGE sql AS $$
    INSERT INTO globalsync.change_log (slot, xid, table_oid, table_name, op, pk, row_data)
    SELECT (s.generation % 3)::smallint, pg_temp.tap_xid(xid_offset), 0,
           'tap_synthetic.events', 'I', jsonb_build_object('k', k), jsonb_build_object('k', k)
      FROM globalsync.capture_state s
    RETURNING event_id
$$;

-- ===================================================================
-- the setting
-- ===================================================================
SELECT is(current_setting('globalsync.capture'), 'on', 'globalsync.capture is on by default');

-- ===================================================================
-- track(): what it refuses
-- ===================================================================
SELECT throws_ok($$SELECT globalsync.track('tap_capture.no_key')$$,
    '55000', 'cannot track "tap_capture.no_key": it has no primary key',
    'track() refuses a table without a primary key with 55000');
SELECT matches((pg_temp.tap_error($$SELECT globalsync.track('tap_capture.no_key')$$)).err_hint,
    'ALTER TABLE tap_capture\.no_key ADD PRIMARY KEY',
    'track() of a table without a primary key hints how to add one');
SELECT throws_ok($$SELECT globalsync.track('tap_capture.people', ARRAY['nosuch'])$$,
    '42703', 'table "tap_capture.people" has no column nosuch',
    'track() refuses an unknown column to exclude with 42703');
SELECT throws_ok($$SELECT globalsync.track('tap_capture.people', '{}', ARRAY['SSN'])$$,
    '42703', 'table "tap_capture.people" has no column SSN',
    'track() refuses an unknown column to mask with 42703 (names are case-sensitive)');
SELECT throws_ok($$SELECT globalsync.track('tap_capture.people', ARRAY['id'])$$,
    '22023', NULL,
    'track() refuses to exclude a primary key column');
SELECT throws_ok($$SELECT globalsync.track('tap_capture.people', ARRAY['ssn'], ARRAY['ssn'])$$,
    '22023', NULL,
    'track() refuses a column both excluded and masked');
SELECT throws_ok($$SELECT globalsync.track(NULL)$$,
    '22004', NULL,
    'track(NULL) fails with 22004');
SELECT throws_ok($$SELECT globalsync.track('globalsync.tracked_tables')$$,
    '42809', 'cannot track "globalsync.tracked_tables": not a table',
    'track() refuses a view with 42809');
SELECT throws_ok($$SELECT globalsync.track('globalsync.change_log')$$,
    '42809', 'cannot track "globalsync.change_log": it belongs to globalsync itself',
    'track() refuses globalsync''s own log with 42809');
SELECT is_empty(
    $$SELECT FROM pg_catalog.pg_trigger WHERE tgrelid IN ('tap_capture.people'::regclass, 'tap_capture.no_key'::regclass)$$,
    'a refused track() attaches no trigger');

-- ===================================================================
-- track() and tracked_tables
-- ===================================================================
SELECT lives_ok($$SELECT globalsync.track('tap_capture.people', ARRAY['note'], ARRAY['ssn'])$$,
    'track(people, exclude note, mask ssn) works');
SELECT is(
    (SELECT ROW(schema_name, relation_name, exclude_columns, mask_columns, primary_key, has_facility_id, enabled)::text
       FROM globalsync.tracked_tables WHERE table_name = 'tap_capture.people'::regclass),
    ROW('tap_capture', 'people', ARRAY['note'], ARRAY['ssn'], ARRAY['id'], true, true)::text,
    'tracked_tables lists the table with its exclusions, masks, primary key and facility_id');
SELECT is(
    (SELECT ROW(schema_name, relation_name, exclude_columns, mask_columns, primary_key, has_facility_id, enabled)::text
       FROM globalsync.tracked_tables WHERE table_name = 'globalsync.patient_registrations'::regclass),
    ROW('globalsync', 'patient_registrations', ARRAY[]::text[], ARRAY[]::text[], ARRAY['patient_id'], true, true)::text,
    'tracked_tables lists patient_registrations, tracked from CREATE EXTENSION on, nothing excluded or masked');
SELECT set_eq(
    $$SELECT tgname::text FROM pg_catalog.pg_trigger WHERE tgrelid = 'tap_capture.people'::regclass$$,
    ARRAY['globalsync_capture', 'globalsync_capture_truncate'],
    'track() attaches the row trigger and the TRUNCATE trigger');

-- ===================================================================
-- capture by a role that has no rights on the log
-- ===================================================================
SET LOCAL ROLE tap_cap_writer;
SELECT throws_ok($$SELECT count(*) FROM globalsync.change_log$$, '42501', NULL,
    'writer: no access to schema globalsync or its log');
SELECT lives_ok(
    $$INSERT INTO tap_capture.people VALUES (1, 'Asha', 'private note', '123-45-6789', 'FAC_TAPCAPT1'),
                                            (2, 'Ravi', NULL, NULL, NULL)$$,
    'writer: INSERT into a tracked table works');
SELECT lives_ok($$UPDATE tap_capture.people SET name = 'Asha Rao' WHERE id = 1$$,
    'writer: UPDATE works');
SELECT lives_ok($$UPDATE tap_capture.people SET note = 'another note' WHERE id = 1$$,
    'writer: UPDATE of the excluded column only works');
SELECT lives_ok($$UPDATE tap_capture.people SET name = name, ssn = ssn WHERE id = 2$$,
    'writer: UPDATE that changes nothing works');
SELECT lives_ok($$DELETE FROM tap_capture.people WHERE id = 1$$,
    'writer: DELETE works');
SELECT lives_ok($$TRUNCATE tap_capture.people$$,
    'writer: TRUNCATE works');
RESET ROLE;

SELECT results_eq(
    $$SELECT op::text, pk, facility_id FROM globalsync.change_log
       WHERE table_oid = 'tap_capture.people'::regclass ORDER BY event_id$$,
    $$VALUES ('I', '{"id": 1}'::jsonb, 'FAC_TAPCAPT1'), ('I', '{"id": 2}'::jsonb, NULL),
             ('U', '{"id": 1}'::jsonb, 'FAC_TAPCAPT1'), ('D', '{"id": 1}'::jsonb, 'FAC_TAPCAPT1'),
             ('T', NULL, NULL)$$,
    'the writer''s INSERT (2 rows), UPDATE, DELETE and TRUNCATE are captured in order; the UPDATE of an excluded column only and the no-op UPDATE log nothing');
SELECT ok(
    (SELECT bool_and(xid = pg_catalog.pg_current_xact_id() AND table_name = 'tap_capture.people'
                     AND slot = (SELECT generation % 3 FROM globalsync.capture_state))
       FROM globalsync.change_log WHERE table_oid = 'tap_capture.people'::regclass),
    'each event carries this transaction''s xid, the qualified table name and the current slot');
SELECT is(
    (SELECT row_data FROM globalsync.change_log
      WHERE table_oid = 'tap_capture.people'::regclass AND op = 'I' AND pk = '{"id": 1}'),
    jsonb_build_object('id', 1, 'name', 'Asha', 'ssn', pg_temp.tap_mask('123-45-6789'), 'facility_id', 'FAC_TAPCAPT1'),
    'INSERT: row_data is the new row without the excluded column, the masked one as HMAC-SHA256 of its text under the database key');
SELECT is(
    (SELECT row_data FROM globalsync.change_log
      WHERE table_oid = 'tap_capture.people'::regclass AND op = 'I' AND pk = '{"id": 2}'),
    '{"id": 2, "name": "Ravi", "ssn": null, "facility_id": null}'::jsonb,
    'INSERT: NULLs stay JSON null, also in a masked column');
SELECT is(
    (SELECT changed_columns FROM globalsync.change_log WHERE table_oid = 'tap_capture.people'::regclass AND op = 'U'),
    ARRAY['name'],
    'UPDATE: changed_columns names the changed column');
SELECT is(
    (SELECT old_values FROM globalsync.change_log WHERE table_oid = 'tap_capture.people'::regclass AND op = 'U'),
    '{"name": "Asha"}'::jsonb,
    'UPDATE: old_values holds the changed column''s old value');
SELECT is(
    (SELECT row_data FROM globalsync.change_log WHERE table_oid = 'tap_capture.people'::regclass AND op = 'U'),
    jsonb_build_object('id', 1, 'name', 'Asha Rao', 'ssn', pg_temp.tap_mask('123-45-6789'), 'facility_id', 'FAC_TAPCAPT1'),
    'UPDATE: row_data is the new row, the unchanged masked value hashed as before (targets can join on it)');
SELECT ok(
    (SELECT bool_and(row_data IS NULL AND changed_columns IS NULL AND old_values IS NULL)
       FROM globalsync.change_log WHERE table_oid = 'tap_capture.people'::regclass AND op IN ('D', 'T')),
    'DELETE and TRUNCATE events carry no row, changed columns or old values');
SELECT ok(
    (SELECT NOT bool_or(coalesce(row_data ? 'note', false) OR coalesce(old_values ? 'note', false)
                        OR coalesce('note' = ANY (changed_columns), false))
       FROM globalsync.change_log WHERE table_oid = 'tap_capture.people'::regclass),
    'the excluded column never reaches the log');

-- ===================================================================
-- patient_registrations: tracked from CREATE EXTENSION on
-- ===================================================================
SET LOCAL ROLE tap_cap_operator;
SELECT (globalsync.register_patient('Lata Menon', '1980-03-03', '+91 44 2345 6789', NULL, 'FAC_TAPCAPT1',
                                    NULL, '2025-10-10 09:30:00')).patient_id AS tap_patient \gset
RESET ROLE;
SELECT is(
    (SELECT ARRAY[op::text, facility_id, row_data ->> 'patient_name', row_data ->> 'registered_at']
       FROM globalsync.change_log
      WHERE table_oid = 'globalsync.patient_registrations'::regclass
        AND pk = jsonb_build_object('patient_id', :'tap_patient')),
    ARRAY['I', 'FAC_TAPCAPT1', 'Lata Menon', '2025-10-10 09:30:00 Asia/Kolkata'],
    'register_patient() by an operator is captured as an I event with the patient''s key and facility_id');
SELECT set_eq(
    $$SELECT jsonb_object_keys(row_data) FROM globalsync.change_log
       WHERE table_oid = 'globalsync.patient_registrations'::regclass
         AND pk = jsonb_build_object('patient_id', $$ || quote_literal(:'tap_patient') || $$)$$,
    $$SELECT attname::text FROM pg_catalog.pg_attribute
       WHERE attrelid = 'globalsync.patient_registrations'::regclass AND attnum > 0 AND NOT attisdropped$$,
    'the patient_registrations event has every column, the generated ones included');

-- ===================================================================
-- globalsync.capture: only superusers and replication roles turn it off
-- ===================================================================
SET LOCAL ROLE tap_cap_writer;
SELECT throws_ok($$SET globalsync.capture = off$$,
    '42501', 'permission denied to set globalsync.capture to off',
    'an ordinary role may not turn capture off (SET)');
SELECT throws_ok($$SELECT pg_catalog.set_config('globalsync.capture', 'off', true)$$,
    '42501', 'permission denied to set globalsync.capture to off',
    'an ordinary role may not turn capture off (set_config)');
SELECT throws_ok($$CREATE FUNCTION pg_temp.tap_sneaky() RETURNS integer LANGUAGE sql SET globalsync.capture = off RETURN 1$$,
    '42501', NULL,
    'an ordinary role may not create a function that turns capture off');
SELECT lives_ok($$SET LOCAL globalsync.capture = on$$,
    'an ordinary role may turn capture on');
RESET ROLE;
SET LOCAL ROLE tap_cap_admin;
SELECT throws_ok($$SET globalsync.capture = off$$,
    '42501', 'permission denied to set globalsync.capture to off',
    'globalsync_admin may not turn capture off either');
RESET ROLE;
SET LOCAL ROLE tap_cap_repl;
SELECT lives_ok($$SET LOCAL globalsync.capture = off$$,
    'a replication role may turn capture off');
SET LOCAL globalsync.capture = on;
RESET ROLE;
SELECT lives_ok($$SET LOCAL globalsync.capture = off$$,
    'a superuser may turn capture off');
SELECT is(current_setting('globalsync.capture'), 'off', 'capture is off now');
INSERT INTO tap_capture.people VALUES (3, 'Not captured', NULL, NULL, NULL);
SET LOCAL ROLE tap_cap_writer;
UPDATE tap_capture.people SET name = 'Still not captured' WHERE id = 3;
RESET ROLE;
SELECT is_empty(
    $$SELECT FROM globalsync.change_log WHERE table_oid = 'tap_capture.people'::regclass AND pk = '{"id": 3}'$$,
    'with capture off nothing is logged (the superuser''s INSERT, then a writer''s UPDATE in the same session)');
SET LOCAL globalsync.capture = on;
INSERT INTO tap_capture.people VALUES (4, 'Captured again', NULL, NULL, NULL);
SELECT is(
    (SELECT count(*)::int FROM globalsync.change_log
      WHERE table_oid = 'tap_capture.people'::regclass AND pk = '{"id": 4}'),
    1,
    'with capture on again, changes are logged');

-- ===================================================================
-- tracking again, ALTER TABLE, untrack()
-- ===================================================================
SELECT lives_ok($$SELECT globalsync.track('tap_capture.people', '{}', ARRAY['ssn', 'name', 'ssn'])$$,
    'track() of a tracked table replaces its settings');
SELECT is(
    (SELECT ROW(exclude_columns, mask_columns)::text FROM globalsync.tracked_tables
      WHERE table_name = 'tap_capture.people'::regclass),
    ROW(ARRAY[]::text[], ARRAY['name', 'ssn'])::text,
    'tracked_tables shows the new settings (each column once)');
SELECT is(
    (SELECT count(*)::int FROM pg_catalog.pg_trigger WHERE tgrelid = 'tap_capture.people'::regclass),
    2,
    'still exactly two capture triggers');
INSERT INTO tap_capture.people VALUES (5, 'Meera', 'visible now', '987-65-4321', NULL);
SELECT is(
    (SELECT row_data FROM globalsync.change_log WHERE table_oid = 'tap_capture.people'::regclass AND pk = '{"id": 5}'),
    jsonb_build_object('id', 5, 'name', pg_temp.tap_mask('Meera'), 'note', 'visible now',
                       'ssn', pg_temp.tap_mask('987-65-4321'), 'facility_id', NULL),
    'the next event follows the new settings (the cached table layout was refreshed)');
ALTER TABLE tap_capture.people ADD COLUMN visits integer NOT NULL DEFAULT 0;
UPDATE tap_capture.people SET visits = 1 WHERE id = 5;
SELECT is(
    (SELECT ARRAY[changed_columns::text, old_values::text, row_data ->> 'visits']
       FROM globalsync.change_log
      WHERE table_oid = 'tap_capture.people'::regclass AND pk = '{"id": 5}' AND op = 'U'),
    ARRAY['{visits}', '{"visits": 0}', '1'],
    'a column added by ALTER TABLE is captured by the next statement');
SELECT is(globalsync.untrack('tap_capture.people'), true, 'untrack() of a tracked table returns true');
SELECT is(globalsync.untrack('tap_capture.people'), false, 'untrack() of an untracked table returns false');
SELECT is_empty(
    $$SELECT FROM globalsync.tracked_tables WHERE table_name = 'tap_capture.people'::regclass$$,
    'an untracked table leaves tracked_tables');
SELECT is_empty(
    $$SELECT FROM pg_catalog.pg_trigger WHERE tgrelid = 'tap_capture.people'::regclass$$,
    'untrack() removes both triggers');
INSERT INTO tap_capture.people VALUES (6, 'After untrack', NULL, NULL, NULL);
SELECT is_empty(
    $$SELECT FROM globalsync.change_log WHERE table_oid = 'tap_capture.people'::regclass AND pk = '{"id": 6}'$$,
    'changes after untrack() are not captured');
SELECT is(
    (SELECT count(*)::int FROM globalsync.change_log WHERE table_oid = 'tap_capture.people'::regclass),
    8,
    'events logged before untrack() stay');

-- ===================================================================
-- admin: tracks the tables it owns, not others
-- ===================================================================
SET LOCAL ROLE tap_cap_admin;
CREATE TABLE tap_capture_admin.visits (visit_id integer PRIMARY KEY, facility_id text);
SELECT lives_ok($$SELECT globalsync.track('tap_capture_admin.visits')$$,
    'admin: track() of a table it owns works');
SELECT lives_ok($$INSERT INTO tap_capture_admin.visits VALUES (1, 'FAC_TAPCAPT1')$$,
    'admin: changing its tracked table works without rights on the log');
SELECT throws_ok($$SELECT globalsync.track('globalsync.facilities')$$,
    '42501', 'must be owner of table globalsync.facilities to track it',
    'admin: track() of a table it does not own is refused');
SELECT throws_ok($$SELECT globalsync.untrack('globalsync.patient_registrations')$$,
    '42501', 'must be owner of table globalsync.patient_registrations to untrack it',
    'admin: untrack() of patient_registrations is refused');
RESET ROLE;
SELECT results_eq(
    $$SELECT op::text, pk, facility_id FROM globalsync.change_log WHERE table_oid = 'tap_capture_admin.visits'::regclass$$,
    $$VALUES ('I', '{"visit_id": 1}'::jsonb, 'FAC_TAPCAPT1')$$,
    'the admin''s change to its tracked table is captured');

-- ===================================================================
-- reader, operator, admin: the views and capture_pending(), nothing else
-- ===================================================================
SET LOCAL ROLE tap_cap_reader;
SELECT is(
    (SELECT count(*)::int FROM globalsync.tracked_tables
      WHERE (schema_name, relation_name) IN (('globalsync', 'patient_registrations'), ('tap_capture_admin', 'visits'))),
    2,
    'reader: tracked_tables works and lists every tracked table, also one in a schema the reader cannot use');
SELECT lives_ok($$SELECT * FROM globalsync.capture_stats$$, 'reader: capture_stats works');
SELECT lives_ok($$SELECT * FROM globalsync.capture_pending()$$, 'reader: capture_pending() works');
SELECT throws_ok($$SELECT globalsync.tick()$$, '42501', 'permission denied for function tick',
    'reader: tick() is denied');
SELECT throws_ok($$SELECT globalsync.register_consumer('tap.capture:reader')$$, '42501', 'permission denied for function register_consumer',
    'reader: register_consumer() is denied');
SELECT throws_ok($$SELECT globalsync.unregister_consumer('tap.capture:real')$$, '42501', 'permission denied for function unregister_consumer',
    'reader: unregister_consumer() is denied');
SELECT throws_ok($$SELECT * FROM globalsync.next_batch('tap.capture:real')$$, '42501', 'permission denied for function next_batch',
    'reader: next_batch() is denied');
SELECT throws_ok($$SELECT * FROM globalsync.batch_events(1)$$, '42501', 'permission denied for function batch_events',
    'reader: batch_events() is denied');
SELECT throws_ok($$SELECT globalsync.finish_batch(1)$$, '42501', 'permission denied for function finish_batch',
    'reader: finish_batch() is denied');
SELECT throws_ok($$SELECT globalsync.maintain_log()$$, '42501', 'permission denied for function maintain_log',
    'reader: maintain_log() is denied');
SELECT throws_ok($$SELECT globalsync.track('globalsync.patient_registrations')$$, '42501', 'permission denied for function track',
    'reader: track() is denied');
SELECT throws_ok($$SELECT globalsync.untrack('globalsync.patient_registrations')$$, '42501', 'permission denied for function untrack',
    'reader: untrack() is denied');
SELECT throws_ok($$SELECT * FROM globalsync.change_log$$, '42501', 'permission denied for table change_log',
    'reader: no SELECT on change_log');
SELECT throws_ok($$SELECT * FROM globalsync.change_log_0$$, '42501', 'permission denied for table change_log_0',
    'reader: no SELECT on a change_log partition');
SELECT throws_ok($$SELECT * FROM globalsync.ticks$$, '42501', 'permission denied for table ticks',
    'reader: no SELECT on ticks');
SELECT throws_ok($$SELECT * FROM globalsync.consumers$$, '42501', 'permission denied for table consumers',
    'reader: no SELECT on consumers');
SELECT throws_ok($$SELECT * FROM globalsync.capture_state$$, '42501', 'permission denied for table capture_state',
    'reader: no SELECT on capture_state');
SELECT throws_ok($$SELECT * FROM globalsync.capture_secrets$$, '42501', 'permission denied for table capture_secrets',
    'reader: capture_secrets is not readable');
RESET ROLE;

SET LOCAL ROLE tap_cap_operator;
SELECT lives_ok($$SELECT * FROM globalsync.tracked_tables, globalsync.capture_stats$$,
    'operator: tracked_tables and capture_stats work');
SELECT throws_ok($$SELECT globalsync.tick()$$, '42501', 'permission denied for function tick',
    'operator: tick() is denied');
SELECT throws_ok($$SELECT * FROM globalsync.change_log$$, '42501', 'permission denied for table change_log',
    'operator: no SELECT on change_log');
SELECT throws_ok($$SELECT * FROM globalsync.capture_secrets$$, '42501', 'permission denied for table capture_secrets',
    'operator: capture_secrets is not readable');
RESET ROLE;

SET LOCAL ROLE tap_cap_admin;
SELECT lives_ok($$SELECT * FROM globalsync.tracked_tables, globalsync.capture_stats$$,
    'admin: tracked_tables and capture_stats work');
SELECT throws_ok($$SELECT globalsync.tick()$$, '42501', 'permission denied for function tick',
    'admin: tick() is denied');
SELECT throws_ok($$SELECT globalsync.register_consumer('tap.capture:admin')$$, '42501', 'permission denied for function register_consumer',
    'admin: register_consumer() is denied');
SELECT throws_ok($$SELECT * FROM globalsync.next_batch('tap.capture:real')$$, '42501', 'permission denied for function next_batch',
    'admin: next_batch() is denied');
SELECT throws_ok($$SELECT globalsync.maintain_log()$$, '42501', 'permission denied for function maintain_log',
    'admin: maintain_log() is denied');
SELECT throws_ok($$SELECT * FROM globalsync.change_log$$, '42501', 'permission denied for table change_log',
    'admin: no SELECT on change_log');
SELECT throws_ok($$SELECT * FROM globalsync.consumers$$, '42501', 'permission denied for table consumers',
    'admin: no SELECT on consumers');
SELECT throws_ok($$SELECT * FROM globalsync.capture_secrets$$, '42501', 'permission denied for table capture_secrets',
    'admin: capture_secrets is not readable');
RESET ROLE;

SELECT is((SELECT count(*)::int FROM globalsync.capture_secrets), 1, 'the owner can read the key');

-- ===================================================================
-- capture_pending()
-- ===================================================================
SELECT is(
    (SELECT pending_commits IS NULL FROM globalsync.capture_pending()),
    NOT :'tap_preloaded'::boolean,
    'capture_pending() returns NULLs exactly when the library is not preloaded');
SELECT ok(
    (SELECT coalesce(pending_commits >= 0, true) FROM globalsync.capture_pending()),
    'capture_pending(): pending_commits is never negative');

-- ===================================================================
-- consumers on real ticks: the batch state machine
-- ===================================================================
SELECT is(globalsync.register_consumer('tap.capture:real'), :tap_real_t0::bigint,
    'register_consumer() of a registered consumer returns its starting tick again');
SELECT is(
    (SELECT count(*)::int FROM globalsync.ticks WHERE tick_id > :tap_real_t0),
    0,
    '... and takes no new tick');
SELECT is(
    (SELECT ARRAY[last_tick, batch_id] FROM globalsync.consumers WHERE consumer = 'tap.capture:real'),
    ARRAY[:tap_real_t0, NULL]::bigint[],
    'a new consumer starts at its registration tick with no open batch');
SELECT throws_ok($$SELECT globalsync.register_consumer('tap capture')$$, '22023', NULL,
    'register_consumer() refuses a name with a space');
SELECT throws_ok($$SELECT globalsync.register_consumer(NULL)$$, '22023', NULL,
    'register_consumer() refuses NULL');
SELECT throws_ok($$SELECT * FROM globalsync.next_batch('tap.capture:nobody')$$,
    '42704', 'consumer "tap.capture:nobody" is not registered',
    'next_batch() of an unknown consumer fails with 42704');
SELECT ok(
    (SELECT batch_id IS NULL AND prev_tick IS NULL AND tick IS NULL AND snapshot IS NULL
       FROM globalsync.next_batch('tap.capture:real')),
    'next_batch() before the next tick returns NULLs');

-- Other transactions end all the time; an aborted subtransaction with an
-- xid does the same for this test: after it, xids above this transaction's
-- own have completed, as in any real snapshot.
SELECT throws_ok($$INSERT INTO tap_dup VALUES (1)$$, '23505', NULL,
    'a failed INSERT ends a subtransaction that had an xid');
SELECT globalsync.tick() AS tap_real_t1 \gset
SELECT cmp_ok(:tap_real_t1::bigint, '>', :tap_real_t0::bigint, 'tick() returns a new, larger tick id');
SELECT is(
    (SELECT slot FROM globalsync.ticks WHERE tick_id = :tap_real_t1),
    (SELECT (generation % 3)::smallint FROM globalsync.capture_state),
    'tick() records the tick in the current slot');
SELECT ok(
    NOT pg_catalog.pg_visible_in_snapshot(pg_catalog.pg_current_xact_id(),
        (SELECT snapshot FROM globalsync.ticks WHERE tick_id = :tap_real_t1)),
    'a tick does not count the still running transaction that takes it as committed');
CREATE TEMP TABLE tap_real_batch AS SELECT * FROM globalsync.next_batch('tap.capture:real');
SELECT isnt((SELECT batch_id FROM tap_real_batch), NULL, 'next_batch() after a tick opens a batch');
SELECT is(
    (SELECT ARRAY[prev_tick, tick] FROM tap_real_batch),
    ARRAY[:tap_real_t0, :tap_real_t1]::bigint[],
    'the batch runs from the consumer''s last tick to the next one');
SELECT is(
    (SELECT ARRAY[prev_snapshot::text, snapshot::text] FROM tap_real_batch),
    ARRAY[(SELECT snapshot::text FROM globalsync.ticks WHERE tick_id = :tap_real_t0),
          (SELECT snapshot::text FROM globalsync.ticks WHERE tick_id = :tap_real_t1)],
    'the batch''s snapshots are its two ticks''');
SELECT is_empty(
    $$SELECT event_id FROM globalsync.batch_events((SELECT batch_id FROM tap_real_batch))
       WHERE xid = pg_catalog.pg_current_xact_id()$$,
    'events of this transaction, not committed yet, are not in the batch');
SELECT globalsync.tick() AS tap_real_t2 \gset
SELECT is(
    (SELECT ROW(batch_id, prev_tick, tick)::text FROM globalsync.next_batch('tap.capture:real')),
    (SELECT ROW(batch_id, prev_tick, tick)::text FROM tap_real_batch),
    'next_batch() returns the open batch again until it is finished, also after a newer tick');
SELECT throws_ok(
    format('SELECT * FROM globalsync.batch_events(%s, 0, 0)', (SELECT batch_id FROM tap_real_batch)),
    '22023', 'max_events must be at least 1',
    'batch_events() with max_events 0 fails with 22023');
SELECT is(globalsync.finish_batch((SELECT batch_id FROM tap_real_batch)), true,
    'finish_batch() of the open batch returns true');
SELECT is(
    (SELECT ARRAY[last_tick, batch_id] FROM globalsync.consumers WHERE consumer = 'tap.capture:real'),
    ARRAY[:tap_real_t1, NULL]::bigint[],
    'finishing moves the consumer to the batch''s tick and closes the batch');
SELECT is(globalsync.finish_batch((SELECT batch_id FROM tap_real_batch)), false,
    'finish_batch() of a finished batch returns false');
SELECT throws_ok(
    format('SELECT * FROM globalsync.batch_events(%s)', (SELECT batch_id FROM tap_real_batch)),
    '42704', NULL,
    'a finished batch cannot be read again (42704)');
SELECT is(
    (SELECT ARRAY[prev_tick, tick] FROM globalsync.next_batch('tap.capture:real')),
    ARRAY[:tap_real_t1, :tap_real_t2]::bigint[],
    'the next batch starts where the finished one ended');
SELECT isnt(
    (SELECT batch_id FROM globalsync.next_batch('tap.capture:real')),
    (SELECT batch_id FROM tap_real_batch),
    'the next batch has a new batch id');

-- ===================================================================
-- consumers on synthetic ticks: which events are in which batch
-- ===================================================================
-- transactions (xid 2^40 + n):  A = 1   committed before tick a
--                               C = 2   running at ticks a and b, committed before c
--                               D = 3   running at tick a, committed before b
--                               E = 5   started after tick a, committed before b
-- C takes the first event ids, D and E interleave.
SELECT globalsync.register_consumer('tap.capture:synthetic') AS tap_syn_t0 \gset
CREATE TEMP TABLE tap_syn_tick (k text PRIMARY KEY, tick_id bigint NOT NULL);
INSERT INTO tap_syn_tick VALUES ('a', pg_temp.tap_tick(pg_temp.tap_snap(2, 4, '{2,3}')));
INSERT INTO tap_syn_tick VALUES ('b', pg_temp.tap_tick(pg_temp.tap_snap(2, 6, '{2}')));
INSERT INTO tap_syn_tick VALUES ('c', pg_temp.tap_tick(pg_temp.tap_snap(7, 7, '{}')));
CREATE TEMP TABLE tap_syn_event (k text PRIMARY KEY, event_id bigint NOT NULL);
INSERT INTO tap_syn_event VALUES ('C1', pg_temp.tap_event('C1', 2));
INSERT INTO tap_syn_event VALUES ('A1', pg_temp.tap_event('A1', 1));
INSERT INTO tap_syn_event VALUES ('D1', pg_temp.tap_event('D1', 3));
INSERT INTO tap_syn_event VALUES ('C2', pg_temp.tap_event('C2', 2));
INSERT INTO tap_syn_event VALUES ('E1', pg_temp.tap_event('E1', 5));
INSERT INTO tap_syn_event VALUES ('A2', pg_temp.tap_event('A2', 1));
INSERT INTO tap_syn_event VALUES ('D2', pg_temp.tap_event('D2', 3));
CREATE TEMP TABLE tap_delivered (n integer, k text);
CREATE TEMP TABLE tap_syn_batch AS
    SELECT 1 AS n, b.* FROM globalsync.next_batch('tap.capture:synthetic') b;

SELECT cmp_ok(
    (SELECT events FROM globalsync.capture_stats WHERE kind = 'pending' AND consumer = 'tap.capture:synthetic'),
    '>=', 7::bigint,
    'capture_stats counts the consumer''s pending events');
SELECT cmp_ok(
    (SELECT oldest_pending_age FROM globalsync.capture_stats WHERE kind = 'pending' AND consumer = 'tap.capture:synthetic'),
    '>=', interval '0',
    'capture_stats: the oldest pending event''s age is not negative');

-- batch 1: registration tick .. a
SELECT is(
    (SELECT ARRAY[prev_tick, tick] FROM tap_syn_batch WHERE n = 1),
    ARRAY[:tap_syn_t0, (SELECT tick_id FROM tap_syn_tick WHERE k = 'a')]::bigint[],
    'batch 1 runs from the registration tick to tick a');
SELECT results_eq(
    $$SELECT pk ->> 'k' FROM globalsync.batch_events((SELECT batch_id FROM tap_syn_batch WHERE n = 1))
       WHERE table_name = 'tap_synthetic.events'$$,
    ARRAY['A1', 'A2'],
    'batch 1: the transaction committed before tick a (A), in event order; C and D, running at a, are not in it');
INSERT INTO tap_delivered
    SELECT 1, pk ->> 'k' FROM globalsync.batch_events((SELECT batch_id FROM tap_syn_batch WHERE n = 1))
     WHERE table_name = 'tap_synthetic.events';
SELECT is(globalsync.finish_batch((SELECT batch_id FROM tap_syn_batch WHERE n = 1)), true, 'batch 1 finished');

-- batch 2: a .. b
INSERT INTO tap_syn_batch SELECT 2, b.* FROM globalsync.next_batch('tap.capture:synthetic') b;
SELECT is(
    (SELECT ARRAY[prev_tick, tick] FROM tap_syn_batch WHERE n = 2),
    (SELECT ARRAY[a.tick_id, b.tick_id] FROM tap_syn_tick a, tap_syn_tick b WHERE a.k = 'a' AND b.k = 'b'),
    'batch 2 runs from tick a to tick b');
SELECT results_eq(
    $$SELECT pk ->> 'k' FROM globalsync.batch_events((SELECT batch_id FROM tap_syn_batch WHERE n = 2))$$,
    ARRAY['D1', 'E1', 'D2'],
    'batch 2 is exactly D and E, committed between a and b, whole and in event order; C, still running at b, is not in it');
SELECT results_eq(
    $$SELECT pk ->> 'k' FROM globalsync.batch_events((SELECT batch_id FROM tap_syn_batch WHERE n = 2), 0, 2)$$,
    ARRAY['D1', 'E1'],
    'batch_events(batch, 0, 2): the first page of 2 events');
SELECT results_eq(
    $$SELECT pk ->> 'k' FROM globalsync.batch_events((SELECT batch_id FROM tap_syn_batch WHERE n = 2),
                                                     (SELECT event_id FROM tap_syn_event WHERE k = 'E1'), 2)$$,
    ARRAY['D2'],
    'batch_events(batch, last event id of page 1, 2): the rest');
SELECT is_empty(
    $$SELECT FROM globalsync.batch_events((SELECT batch_id FROM tap_syn_batch WHERE n = 2),
                                          (SELECT event_id FROM tap_syn_event WHERE k = 'D2'), 2)$$,
    'batch_events() after the last event of the batch returns nothing');
INSERT INTO tap_delivered
    SELECT 2, pk ->> 'k' FROM globalsync.batch_events((SELECT batch_id FROM tap_syn_batch WHERE n = 2));
SELECT is(globalsync.finish_batch((SELECT batch_id FROM tap_syn_batch WHERE n = 2)), true, 'batch 2 finished');

-- batch 3: b .. c
INSERT INTO tap_syn_batch SELECT 3, b.* FROM globalsync.next_batch('tap.capture:synthetic') b;
SELECT results_eq(
    $$SELECT pk ->> 'k' FROM globalsync.batch_events((SELECT batch_id FROM tap_syn_batch WHERE n = 3))$$,
    ARRAY['C1', 'C2'],
    'batch 3 is exactly C: it took the first event ids but committed last, and comes whole with the first tick that sees it committed');
INSERT INTO tap_delivered
    SELECT 3, pk ->> 'k' FROM globalsync.batch_events((SELECT batch_id FROM tap_syn_batch WHERE n = 3));
SELECT is(globalsync.finish_batch((SELECT batch_id FROM tap_syn_batch WHERE n = 3)), true, 'batch 3 finished');

SELECT bag_eq(
    $$SELECT k FROM tap_delivered$$,
    $$SELECT k FROM tap_syn_event$$,
    'every event was delivered in exactly one batch');
SELECT is((SELECT count(DISTINCT batch_id)::int FROM tap_syn_batch), 3, 'each batch had its own batch id');
SELECT ok(
    (SELECT batch_id IS NULL FROM globalsync.next_batch('tap.capture:synthetic')),
    'after the last tick there is no batch');
SELECT is(
    (SELECT last_tick FROM globalsync.consumers WHERE consumer = 'tap.capture:synthetic'),
    (SELECT tick_id FROM tap_syn_tick WHERE k = 'c'),
    'the consumer has finished up to tick c');
SELECT is(
    (SELECT ARRAY[events::text, oldest_pending_age::text] FROM globalsync.capture_stats
      WHERE kind = 'pending' AND consumer = 'tap.capture:synthetic'),
    ARRAY['0', NULL],
    'capture_stats: nothing is pending for a consumer that finished every batch');

-- ===================================================================
-- capture_stats
-- ===================================================================
SELECT is_empty(
    $$SELECT kind FROM globalsync.capture_stats WHERE kind NOT IN ('events', 'pending', 'log_size')$$,
    'capture_stats rows are of kind events, pending or log_size');
SELECT set_eq(
    $$SELECT op, events FROM globalsync.capture_stats WHERE kind = 'events' AND table_name = 'tap_capture.people'$$,
    $$VALUES ('I', 4::bigint), ('U', 2::bigint), ('D', 1::bigint), ('T', 1::bigint)$$,
    'capture_stats counts events per table and operation');
SELECT set_eq(
    $$SELECT consumer FROM globalsync.capture_stats WHERE kind = 'pending'$$,
    $$SELECT consumer FROM globalsync.consumers$$,
    'capture_stats has a pending row for every consumer');
SELECT ok(
    (SELECT count(*) = 1 AND bool_and(bytes > 0) FROM globalsync.capture_stats WHERE kind = 'log_size'),
    'capture_stats has one log_size row with the log''s size in bytes');

-- ===================================================================
-- rotation: switch, then wait for the consumers
-- ===================================================================
UPDATE globalsync.capture_state
   SET switch_xid = NULL, switch_done_xid = NULL, rotate_bytes = 1, rotate_interval = '100 years';
SELECT generation % 3 AS tap_slot_before FROM globalsync.capture_state \gset
SELECT is(globalsync.maintain_log(), format('switched to slot %s', (:tap_slot_before + 1) % 3),
    'maintain_log() switches new events to the next slot once the current one is over rotate_bytes');
SELECT is((SELECT switch_xid FROM globalsync.capture_state), pg_catalog.pg_current_xact_id(),
    'the switch records the switching transaction');
-- the switch is recorded only by a later transaction: this one's xid may be
-- older than a writer that still read the old generation
SELECT is(globalsync.maintain_log(), 'call again in a new transaction',
    'the switching transaction does not record the switch itself');
SELECT ok((SELECT switch_done_xid IS NULL FROM globalsync.capture_state),
    'so the old slot cannot be truncated from the switching transaction');
SELECT cmp_ok(
    (SELECT count(*) FROM globalsync.change_log WHERE slot = :tap_slot_before), '>', 0::bigint,
    'the old slot still holds its events');
INSERT INTO tap_capture_admin.visits VALUES (2, NULL);
SELECT is(
    (SELECT slot FROM globalsync.change_log
      WHERE table_oid = 'tap_capture_admin.visits'::regclass AND pk = '{"visit_id": 2}'),
    :tap_slot_before::smallint,
    'a transaction keeps writing to the slot it started with, also after a switch');

-- ===================================================================
-- unregister_consumer()
-- ===================================================================
SELECT is(globalsync.unregister_consumer('tap.capture:synthetic'), true, 'unregister_consumer() of a consumer returns true');
SELECT is(globalsync.unregister_consumer('tap.capture:synthetic'), false, 'unregister_consumer() of an unknown consumer returns false');
SELECT throws_ok($$SELECT * FROM globalsync.next_batch('tap.capture:synthetic')$$, '42704', NULL,
    'an unregistered consumer has no batches');

SELECT * FROM finish();
ROLLBACK;
