--
-- the sync engine's SQL API as a user sees it: targets, syncs, dead
-- letters and snapshots, with the messages, details and hints of its errors
--
-- Everything runs inside transactions that are rolled back: this
-- database's globalsync worker never sees a target, sync or dead letter
-- made here, so nothing below changes behind the test's back.
--
SET search_path = public, globalsync;
\set SHOW_CONTEXT never
\set VERBOSITY default
-- an error rolls back its statement only, so one transaction holds it all
\set ON_ERROR_ROLLBACK on
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'UTC';

BEGIN;
INSERT INTO facilities (facility_id, name, timezone, location)
    VALUES ('FAC_SYNCTST1', 'Sync Test Clinic', 'Asia/Kolkata', 'Pune');
CREATE SCHEMA sync_test;
CREATE TABLE sync_test.people (id integer PRIMARY KEY, name text, note text, ssn text, facility_id text);
CREATE TABLE sync_test.untracked (id integer PRIMARY KEY);
CREATE TABLE sync_test.no_key (x integer);
SELECT track('sync_test.people', exclude_columns => '{note}', mask_columns => '{ssn}');

-- a file target: its row (tables spelt as the change log spells them),
-- its delivery state and its consumer
SELECT add_target('Warehouse export', 'file', 'exports/warehouse',
                  '{"schedule": "15 minutes", "tables": ["SYNC_TEST.PEOPLE", "globalsync.patient_registrations"]}') AS tgt \gset
SELECT :'tgt' ~ '^TGT_[A-Z0-9]{8}$' AS target_id_ok;
SELECT name, kind, endpoint, options, is_active FROM targets WHERE target_id = :'tgt';
SELECT consumer = 'target:' || :'tgt' AS consumer_is_target_id, position_batch, position, consecutive_failures, breaker_until
  FROM target_state WHERE target_id = :'tgt';
SELECT count(*) AS consumers FROM consumers WHERE consumer = 'target:' || :'tgt';
SELECT name, kind, is_active, schedule, state, breaker, consecutive_failures, dead_letters
  FROM target_health WHERE target_id = :'tgt';

-- add_target refuses
SELECT add_target('Bad', 'ftp', 'x');
-- s3, snowflake and fhir targets: their drivers check endpoint and options
SELECT add_target('Bad', 's3', 'https://example.org/bucket');
SELECT add_target('Bad', 's3', 'https://s3.eu-west-1.amazonaws.com');
SELECT add_target('Bad', 's3', 'https://s3.eu-west-1.amazonaws.com', '{"bucket": "exports", "acl": "private"}');
SELECT add_target('Bad', 's3', 'https://s3.eu-west-1.amazonaws.com', '{"bucket": "Exports_2024"}');
SELECT add_target('Bad', 's3', 'http://127.0.0.1:9000', '{"bucket": "exports"}');
SELECT add_target('Bad', 'snowflake', 'https://xy12345.eu-west-1.snowflakecomputing.com',
                  '{"account": "xy12345.eu-west-1", "user": "GLOBALSYNC"}');
SELECT add_target('Bad', 'snowflake', 'https://xy12345.eu-west-1.snowflakecomputing.com/api/v2/statements',
                  '{"account": "xy12345.eu-west-1", "user": "GLOBALSYNC", "table": "RAW.GLOBALSYNC.EVENTS"}');
SELECT add_target('Bad', 'snowflake', 'https://xy12345.eu-west-1.snowflakecomputing.com',
                  '{"account": "xy12345.eu-west-1", "user": "GLOBALSYNC", "table": "RAW.GLOBALSYNC.EVENTS", "stage": "S"}');
SELECT add_target('Bad', 'fhir', 'ftp://fhir.example.org/r4');
SELECT add_target('Bad', 'fhir', 'https://fhir.example.org/r4', '{"format": "xml"}');
SELECT add_target('Bad', 'fhir', 'https://fhir.example.org/r4', '{"tables": ["SYNC_TEST.PEOPLE"]}');
-- file targets
SELECT add_target('Bad', 'file', '/var/lib/postgresql');
SELECT add_target('Bad', 'file', '../outside');
SELECT add_target('Bad', 'file', 'a//b');
SELECT add_target('Bad', 'file', 'my exports');
SELECT add_target('Bad', 'file', 'x', '{"schedule": "soon"}');
SELECT add_target('Bad', 'file', 'x', '{"schedule": "0 seconds"}');
SELECT add_target('Bad', 'file', 'x', '{"tables": ["sync_test.untracked"]}');
SELECT add_target('Bad', 'file', 'x', '{"facilities": ["FAC_NOTTHERE"]}');
SELECT add_target('Bad', 'file', 'x', '{"max_batch_events": 0}');
SELECT add_target('Bad', 'file', 'x', '{"compression": "gzip"}');
SELECT add_target('Bad', 'file', 'x', '[]');
SELECT add_target('', 'file', 'x');
SELECT add_target('Warehouse export', 'file', 'exports/other');
-- http targets: http(s) URLs without credentials, headers globalsync does
-- not set itself, options of the http driver, hosts a superuser allows
SELECT add_target('Bad', 'http', 'ftp://receiver.example.org/hooks');
SELECT add_target('Bad', 'http', 'https://hooks:hunter2@receiver.example.org/hooks');
SELECT add_target('Bad', 'http', 'https://receiver.example.org/hooks', '{"headers": {"Idempotency-Key": "mine"}}');
SELECT add_target('Bad', 'http', 'https://receiver.example.org/hooks', '{"headers": {"X-Tenant": "a\r\nX-Injected: 1"}}');
SELECT add_target('Bad', 'http', 'https://receiver.example.org/hooks', '{"timeout_ms": 50}');
SELECT add_target('Bad', 'http', 'https://receiver.example.org/hooks', '{"retries": 3}');
SET LOCAL globalsync.allowed_hosts = 'receiver.example.org, .example.net';
SELECT add_target('Bad', 'http', 'http://127.0.0.1:8080/hooks');
SELECT add_target('Bad', 'http', 'https://example.net/hooks');
SELECT add_target('Bad', 's3', 'https://receiver.example.org', '{"bucket": "exports"}');
RESET globalsync.allowed_hosts;
SELECT count(*) AS refused_targets_stored FROM targets WHERE name = 'Bad';

-- alter_target: options are replaced as a whole and checked again
SELECT alter_target('TGT_00000000', name => 'Nowhere');
SELECT alter_target(:'tgt', endpoint => 'exports/../../etc');
SELECT alter_target(:'tgt', options => '{"schedule": "every day"}');
SELECT alter_target(:'tgt', name => ' Warehouse (manual) ', options => '{"schedule": "manual"}');
SELECT name, endpoint, options FROM targets WHERE target_id = :'tgt';

-- an http target, its signing secret (stored where only the owner reads
-- it) and the signature receivers check (the Standard Webhooks test vector)
SET LOCAL globalsync.allowed_hosts = 'receiver.example.org';
SELECT add_target('Webhook', 'http', 'https://receiver.example.org/hooks/globalsync',
                  '{"format": "ndjson", "headers": {"X-Tenant": "pune"}, "timeout_ms": 5000, "gzip": true}') AS hook \gset
RESET globalsync.allowed_hosts;
SELECT name, kind, endpoint, options FROM targets WHERE target_id = :'hook';
SELECT set_target_secret('TGT_00000000', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
SELECT set_target_secret(:'hook', 'whsec_dG9vIHNob3J0');
SELECT set_target_secret(:'hook', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
SELECT secret, set_by = session_user AS set_by_me FROM target_secrets WHERE target_id = :'hook';
SELECT set_target_secret(:'hook', NULL);
SELECT count(*) AS secrets_left FROM target_secrets WHERE target_id = :'hook';
SELECT webhook_signature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330,
                         '{"test": 2432232314}') AS signature;
SELECT webhook_signature('not base64!', 'msg_1', 1, 'x');

-- start_sync refuses
SELECT start_sync('TGT_00000000');
SELECT start_sync(:'tgt', mode => 'partial');
SELECT start_sync(:'tgt', 'FAC_NOTTHERE');
SELECT add_target('Paused export', 'file', 'exports/paused') AS paused \gset
SELECT alter_target(:'paused', is_active => false);
SELECT start_sync(:'paused');

-- a full sync of one facility, queued; its status, cancelled
SELECT start_sync(:'tgt', 'FAC_SYNCTST1', 'full') AS syn \gset
SELECT :'syn' ~ '^SYN_[A-Z0-9]{12}$' AS sync_id_ok;
SELECT s ->> 'operation_type' AS operation_type, s ->> 'status' AS status, s ->> 'facility_id' AS facility_id,
       s -> 'step' AS step, s -> 'total_steps' AS total_steps, s ->> 'step_name' AS step_name,
       s ->> 'current_step' AS current_step, s -> 'progress_percentage' AS percent
  FROM sync_status(:'syn') s;
SELECT target_name, target_kind, facility_name, operation_type, status FROM sync_history WHERE sync_id = :'syn';
SELECT sync_status('SYN_000000000000');
SELECT cancel_sync('SYN_000000000000');
SELECT wait_sync('SYN_000000000000', '0');
SELECT cancel_sync(:'syn');
SELECT status, error_message = 'cancelled by ' || session_user AS cancelled_by_me, sync_completed_at IS NOT NULL AS completed
  FROM sync_log WHERE sync_id = :'syn';
SELECT s ->> 'status' AS status, s -> 'step' AS step, s ->> 'step_name' AS step_name FROM sync_status(:'syn') s;
SELECT cancel_sync(:'syn');
SELECT wait_sync(:'syn');

-- dead letters, written here as the worker writes them
INSERT INTO dead_letters (dead_letter_id, target_id, batch_id, events, event_count, attempts, error, status, settled_at)
    OVERRIDING SYSTEM VALUE
    VALUES (900001, :'tgt', 'batch-1', '[{"op": "I"}]', 1, 5, 'refused', 'dead', NULL),
           (900002, :'tgt', 'batch-2', '[{"op": "U"}]', 1, 5, 'refused', 'replayed', now());
SELECT replay_dead_letter(900000);
SELECT discard_dead_letter(900000);
SELECT replay_dead_letter(900002);
SELECT discard_dead_letter(900002) AS discarded;
SELECT replay_dead_letter(900001) ~ '^SYN_[A-Z0-9]{12}$' AS replay_queued;
SELECT d.status, l.operation_type, l.status AS sync_status
  FROM dead_letters d JOIN sync_log l ON l.sync_id = d.replay_sync_id WHERE d.dead_letter_id = 900001;
SELECT replay_dead_letter(900001);
SELECT discard_dead_letter(900001) AS discarded;

-- snapshots: a row as capture logs it (note excluded, ssn masked)
INSERT INTO sync_test.people VALUES (1, 'Asha Rao', 'internal', '123-45-6789', 'FAC_SYNCTST1'),
                                    (2, 'Ravi Iyer', NULL, NULL, NULL);
SELECT s -> 'pk' AS pk, s -> 'row' ->> 'name' AS name, s -> 'row' ? 'note' AS has_note,
       length(s -> 'row' ->> 'ssn') AS ssn_length, s ->> 'facility_id' AS facility_id,
       s = (SELECT jsonb_build_object('pk', l.pk, 'row', l.row_data, 'facility_id', l.facility_id)
              FROM change_log l
             WHERE l.xid = pg_current_xact_id() AND l.table_name = 'sync_test.people' AND l.pk = s -> 'pk') AS as_captured
  FROM sync_test.people p, snapshot_row('sync_test.people', p) s ORDER BY p.id;
SELECT pk_values, line::jsonb ->> 'table' AS "table", line::jsonb ->> 'op' AS op
  FROM snapshot_chunk('sync_test.people', NULL, 10);
SELECT pk_values FROM snapshot_chunk('sync_test.people', NULL, 10, ARRAY['FAC_SYNCTST1']);
SELECT pk_values FROM snapshot_chunk('sync_test.people', '{1}', 10);
INSERT INTO sync_test.untracked VALUES (1);
SELECT snapshot_row('sync_test.untracked', u) FROM sync_test.untracked u;
SELECT snapshot_row('sync_test.people', u) FROM sync_test.untracked u;
SELECT * FROM snapshot_chunk('sync_test.no_key', NULL, 10);

-- the same refusals, by SQLSTATE
\set VERBOSITY sqlstate
SELECT validate_target_kind('ftp', 'x', '{}');
SELECT add_target('Bad', 'ftp', 'x');
SELECT add_target('Bad', 'snowflake', 'x');
SELECT add_target('Bad', 's3', 'https://s3.eu-west-1.amazonaws.com');
SELECT add_target('Bad', 'file', 'x', '{"schedule": "soon"}');
SELECT add_target('Warehouse (manual)', 'file', 'x');
SELECT add_target('Bad', 'http', 'https://hooks:hunter2@receiver.example.org/hooks');
SET LOCAL globalsync.allowed_hosts = 'receiver.example.org';
SELECT add_target('Bad', 'http', 'http://127.0.0.1:8080/hooks');
SELECT add_target('Bad', 'fhir', 'https://fhir.example.org/r4');
RESET globalsync.allowed_hosts;
SELECT set_target_secret('TGT_00000000', NULL);
SELECT set_target_secret(:'hook', 'whsec_dG9vIHNob3J0');
SELECT start_sync('TGT_00000000');
SELECT start_sync(:'paused');
SELECT start_sync(:'tgt', 'FAC_NOTTHERE');
SELECT sync_status('SYN_000000000000');
SELECT replay_dead_letter(900001);
\set VERBOSITY default
ROLLBACK;

-- wait_sync() must see the worker's commits
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT wait_sync('SYN_000000000000', '0');
ROLLBACK;

-- nothing was kept
SELECT count(*) AS targets_left FROM targets WHERE name IN ('Warehouse export', 'Warehouse (manual)', 'Paused export', 'Webhook');
SELECT count(*) AS secrets_left FROM target_secrets;
SELECT count(*) AS consumers_left FROM consumers WHERE consumer LIKE 'target:%';
