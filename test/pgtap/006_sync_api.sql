-- 006_sync_api.sql: contracts of the sync engine's SQL API.
--
-- validate_target_kind(), add_target(), alter_target(), remove_target()
-- (every validation error with its SQLSTATE, how options are normalised,
-- the target_state row and the consumer target:<id> a target comes and
-- goes with), the checks of endpoints and options of the http, s3,
-- snowflake and fhir drivers (what each refuses, with SQLSTATE, message,
-- detail and hint; 0A000 only for a kind without a driver),
-- globalsync.allowed_hosts (also the bucket host of virtual-hosted s3),
-- set_target_secret() (secrets checked per target kind by
-- _check_target_secret(): a file target takes none, an http target a
-- webhook secret, never shown in an error; target_secrets, what
-- _worker_targets() hands the worker), webhook_signature() (the Standard
-- Webhooks test vector), start_sync(), sync_status(), cancel_sync(),
-- wait_sync(), replay_dead_letter() and discard_dead_letter() (unknown ids, wrong
-- states, what each changes), and the two functions full syncs read
-- tables with: snapshot_row() (a row exactly as capture logs it) and
-- snapshot_chunk() (primary key paging, composite keys, facility filter).
--
-- The pgTAP database runs on a server whose globalsync worker is active.
-- Everything here happens inside this file's one transaction and is rolled
-- back: no target, sync or dead letter made here is ever committed, so the
-- worker never sees one and every state asserted here stays put.  What the
-- worker does with committed targets is the TAP tests' business.

\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SELECT plan(248);

-- ===================================================================
-- fixtures, as the superuser running the suite
-- ===================================================================
SET LOCAL lock_timeout = '10s';

INSERT INTO globalsync.facilities (facility_id, name, timezone, location) VALUES
    ('FAC_TAPSYNC1', 'TAP Sync Clinic', 'Asia/Kolkata', 'Mumbai'),
    ('FAC_TAPSYNC2', 'TAP Sync Annex', 'America/New_York', 'Boston');

CREATE SCHEMA tap_sync;
-- tracked, one excluded and one masked column, a facility
CREATE TABLE tap_sync.people (
    id          integer PRIMARY KEY,
    name        text,
    note        text,
    ssn         text,
    facility_id text
);
-- tracked, a composite key (text, integer), a facility
CREATE TABLE tap_sync.visits (
    site        text,
    n           integer,
    facility_id text,
    note        text,
    PRIMARY KEY (site, n)
);
-- tracked, no facility column, a name that needs quoting
CREATE TABLE tap_sync."Odd Name" (k integer PRIMARY KEY, v text);
-- not tracked
CREATE TABLE tap_sync.plain (id integer PRIMARY KEY);
-- no primary key
CREATE TABLE tap_sync.no_key (x integer);
SELECT globalsync.track('tap_sync.people', exclude_columns => '{note}', mask_columns => '{ssn}');
SELECT globalsync.track('tap_sync.visits');
SELECT globalsync.track('tap_sync."Odd Name"');

-- every key of a table, read chunk after chunk as a full sync does: each
-- chunk starts after the last key of the one before
CREATE FUNCTION pg_temp.tap_all_pages(tbl regclass, size integer, facilities text[]) RETURNS SETOF text[]
    LANGUAGE plpgsql AS $$
DECLARE
    after text[];
    k text[];
    n integer;
BEGIN
    FOR i IN 1..1000 LOOP
        n := 0;
        FOR k IN SELECT c.pk_values FROM globalsync.snapshot_chunk(tbl, after, size, facilities) c LOOP
            RETURN NEXT k;
            after := k;
            n := n + 1;
        END LOOP;
        EXIT WHEN n < size;
    END LOOP;
END
$$;

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

-- ===================================================================
-- validate_target_kind: the driver's checks
-- ===================================================================
SELECT lives_ok($$SELECT globalsync.validate_target_kind('file', 'exports/warehouse', '{}')$$,
    'validate_target_kind(): a relative folder is a valid file endpoint');
SELECT lives_ok($$SELECT globalsync.validate_target_kind('file', 'a/b_c-d.e/..f/F9', '{}')$$,
    'validate_target_kind(): letters, digits, _ - . and / segments are accepted (..f is a name, not ..)');
SELECT lives_ok(
    $$SELECT globalsync.validate_target_kind('file', 'x',
        '{"schedule": "manual", "tables": ["t"], "facilities": ["f"], "max_batch_events": 5, "max_batch_bytes": 5000}')$$,
    'validate_target_kind(): the file driver accepts the common options (their values are checked elsewhere)');
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.validate_target_kind('ftp', 'x', '{}')$$))::text,
    ROW('0A000', 'targets of kind "ftp" are not supported yet',
        'This version of globalsync delivers to targets of kind file, http, s3, snowflake and fhir.',
        'Use one of those kinds.')::text,
    'validate_target_kind(): a kind that is none of file, http, s3, snowflake and fhir fails with 0A000, naming the five');
SELECT throws_ok($$SELECT globalsync.validate_target_kind('S3', 'https://s3.example.org', '{"bucket": "exports"}')$$,
    '0A000', 'targets of kind "S3" are not supported yet',
    'validate_target_kind(): kinds are lower case (''S3'' has no driver)');
SELECT set_eq(
    $$SELECT e, (pg_temp.tap_error(format('SELECT globalsync.validate_target_kind(%L, %L, %L)', 'file', e, '{}'))).*
        FROM unnest(ARRAY['/abs', '../x', 'a/../b', './x', 'a/.', 'a//b', 'a b', 'a\b', 'é', '', repeat('x', 201)]) e$$,
    $$SELECT e, '22023' AS err_state, format('invalid endpoint for a file target: "%s"', e) AS err_message,
             format('The endpoint of a file target is a folder below globalsync.file_target_dir, but %s.', why) AS err_detail,
             'Use a relative folder name such as ''exports/warehouse''.' AS err_hint
        FROM (VALUES ('/abs', 'it is an absolute path'),
                     ('../x', 'it contains a "." or ".." segment'),
                     ('a/../b', 'it contains a "." or ".." segment'),
                     ('./x', 'it contains a "." or ".." segment'),
                     ('a/.', 'it contains a "." or ".." segment'),
                     ('a//b', 'it contains an empty path segment'),
                     ('a b', 'it contains a character other than letters, digits, ''_'', ''-'', ''.'' and ''/'''),
                     ('a\b', 'it contains a character other than letters, digits, ''_'', ''-'', ''.'' and ''/'''),
                     ('é', 'it contains a character other than letters, digits, ''_'', ''-'', ''.'' and ''/'''),
                     ('', 'it is empty'),
                     (repeat('x', 201), 'it is longer than 200 characters')) v(e, why)$$,
    'validate_target_kind(): endpoints that could leave file_target_dir fail with 22023, saying why');
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.validate_target_kind('file', 'x', '{"schedule": "manual", "color": "red"}')$$))::text,
    ROW('22023', 'unknown option "color" for a file target',
        'File targets take only schedule, tables, facilities, max_batch_events and max_batch_bytes.',
        'Remove the option.')::text,
    'validate_target_kind(): an option the file driver does not know fails with 22023');

-- ===================================================================
-- validate_target_kind: the http driver's checks
-- ===================================================================
SELECT lives_ok($$SELECT globalsync.validate_target_kind('http', 'https://receiver.example.org/hooks/globalsync', '{}')$$,
    'validate_target_kind(): an https URL is a valid http endpoint');
SELECT lives_ok($$SELECT globalsync.validate_target_kind('http', 'http://127.0.0.1:9/hook?tenant=tap', '{}')$$,
    'validate_target_kind(): an http URL with an address, a port and a query is a valid http endpoint');
SELECT lives_ok(
    $$SELECT globalsync.validate_target_kind('http', 'https://receiver.example.org/hooks',
        '{"format": "ndjson", "headers": {"Authorization": "Bearer tap", "X-Tenant": "tap"}, "timeout_ms": 100,
          "connect_timeout_ms": 600000, "max_in_flight": 1, "gzip": true, "ca_file": "/etc/ssl/certs/ca-certificates.crt",
          "schedule": "manual", "tables": ["t"], "facilities": ["f"], "max_batch_events": 5, "max_batch_bytes": 5000}')$$,
    'validate_target_kind(): the http driver accepts its options (timeout_ms at its minimum, connect_timeout_ms at its maximum, max_in_flight 1) and the common ones');
SELECT throws_ok($$SELECT globalsync.validate_target_kind('http', 'http://127.0.0.1/h', '{"max_in_flight": 2}')$$,
    '22023', 'invalid option "max_in_flight" for an http target',
    'validate_target_kind(): max_in_flight above 1 is refused (batches of a target go one at a time, in commit order)');
SELECT lives_ok(
    $$SELECT globalsync.validate_target_kind('http', 'https://receiver.example.org/hooks',
        '{"format": "json", "headers": {}, "timeout_ms": 3600000, "connect_timeout_ms": 100, "max_in_flight": 1, "gzip": false}')$$,
    'validate_target_kind(): the http driver accepts format json, no headers, timeout_ms at its maximum, connect_timeout_ms and max_in_flight at their minimum');
SELECT set_eq(
    $$SELECT e, (pg_temp.tap_error(format('SELECT globalsync.validate_target_kind(%L, %L, %L)', 'http', e, '{}'))).*
        FROM unnest(ARRAY['ftp://127.0.0.1/x', 'file:///etc/passwd', 'http://tap:s3cr3t@127.0.0.1:9/x',
                          'https://tap@receiver.example.org/', 'http://:s3cr3t@127.0.0.1/', 'http://', 'https://?x=1',
                          'http://:80/x', 'receiver.example.org/hooks']) e$$,
    $$SELECT e, '22023' AS err_state, 'invalid endpoint for an http target' AS err_message,
             format('The endpoint of an http target is an http or https URL, but %s.', why) AS err_detail,
             'Use for example ''https://receiver.example.org/hooks/globalsync''; put credentials in option "headers" or use globalsync.set_target_secret().' AS err_hint
        FROM (VALUES ('ftp://127.0.0.1/x', 'only http and https URLs are allowed'),
                     ('file:///etc/passwd', 'only http and https URLs are allowed'),
                     ('http://tap:s3cr3t@127.0.0.1:9/x', 'it contains a user name or password'),
                     ('https://tap@receiver.example.org/', 'it contains a user name or password'),
                     ('http://:s3cr3t@127.0.0.1/', 'it contains a user name or password'),
                     ('http://', 'it is not a valid URL'),
                     ('https://?x=1', 'it is not a valid URL'),
                     ('http://:80/x', 'it is not a valid URL'),
                     ('receiver.example.org/hooks', 'it is not a valid URL')) v(e, why)$$,
    'validate_target_kind(): endpoints that are not http(s) URLs, have no host or carry credentials fail with 22023, saying why');
SELECT is_empty(
    $$SELECT e FROM unnest(ARRAY['http://tap:s3cr3t@127.0.0.1:9/x', 'http://:s3cr3t@127.0.0.1/']) e,
                    pg_temp.tap_error(format('SELECT globalsync.validate_target_kind(%L, %L, %L)', 'http', e, '{}')) r
       WHERE concat_ws(' ', r.err_message, r.err_detail, r.err_hint) LIKE '%s3cr3t%'$$,
    'validate_target_kind(): the error for an endpoint with a password does not show the password');
SELECT set_eq(
    $$SELECT h, (pg_temp.tap_error(format('SELECT globalsync.validate_target_kind(%L, %L, %L)', 'http', 'https://receiver.example.org/',
                                          jsonb_build_object('headers', jsonb_build_object('X-Tenant', 'tap', h, 'x'))))).*
        FROM unnest(ARRAY['Content-Type', 'content-length', 'Content-Encoding', 'Host', 'Idempotency-Key', 'Webhook-Id',
                          'webhook-timestamp', 'WEBHOOK-SIGNATURE', 'Transfer-Encoding']) h$$,
    $$SELECT h, '22023' AS err_state, 'invalid option "headers" for an http target' AS err_message,
             format('Header "%s" is set by globalsync itself.', h) AS err_detail,
             'See the http target in docs/targets.md.' AS err_hint
        FROM unnest(ARRAY['Content-Type', 'content-length', 'Content-Encoding', 'Host', 'Idempotency-Key', 'Webhook-Id',
                          'webhook-timestamp', 'WEBHOOK-SIGNATURE', 'Transfer-Encoding']) h$$,
    'validate_target_kind(): each header globalsync sets itself is refused in option headers, whatever its case (22023)');
SELECT set_eq(
    $$SELECT o, (pg_temp.tap_error(format('SELECT globalsync.validate_target_kind(%L, %L, %L)', 'http', 'https://receiver.example.org/', o))).*
        FROM unnest(ARRAY['{"headers": {"X-Tenant": "a\r\nX-Injected: 1"}}', '{"headers": {"X-Tenant": "a\nb"}}',
                          '{"headers": {"X-Tenant": "a\rb"}}', '{"headers": {"X-Tenant": 1}}', '{"headers": {"X-Tenant": ["a"]}}',
                          '{"headers": {"X Tenant": "a"}}', '{"headers": {"": "a"}}', '{"headers": {"X-Tenant:": "a"}}',
                          '{"headers": ["X-Tenant"]}', '{"headers": "X-Tenant: a"}']) o$$,
    $$SELECT o, '22023' AS err_state, 'invalid option "headers" for an http target' AS err_message, d AS err_detail,
             'See the http target in docs/targets.md.' AS err_hint
        FROM (VALUES ('{"headers": {"X-Tenant": "a\r\nX-Injected: 1"}}', 'Header values must be strings without line breaks.'),
                     ('{"headers": {"X-Tenant": "a\nb"}}', 'Header values must be strings without line breaks.'),
                     ('{"headers": {"X-Tenant": "a\rb"}}', 'Header values must be strings without line breaks.'),
                     ('{"headers": {"X-Tenant": 1}}', 'Header values must be strings without line breaks.'),
                     ('{"headers": {"X-Tenant": ["a"]}}', 'Header values must be strings without line breaks.'),
                     ('{"headers": {"X Tenant": "a"}}', '"X Tenant" is not a valid header name.'),
                     ('{"headers": {"": "a"}}', '"" is not a valid header name.'),
                     ('{"headers": {"X-Tenant:": "a"}}', '"X-Tenant:" is not a valid header name.'),
                     ('{"headers": ["X-Tenant"]}', 'It must be an object of header names and string values.'),
                     ('{"headers": "X-Tenant: a"}', 'It must be an object of header names and string values.')) v(o, d)$$,
    'validate_target_kind(): header values with a line break or not a string, invalid header names and headers that are not an object fail with 22023');
SELECT set_eq(
    $$SELECT o, (pg_temp.tap_error(format('SELECT globalsync.validate_target_kind(%L, %L, %L)', 'http', 'https://receiver.example.org/', o))).*
        FROM unnest(ARRAY['{"format": "xml"}', '{"format": "NDJSON"}', '{"format": 1}',
                          '{"timeout_ms": 99}', '{"timeout_ms": 3600001}', '{"timeout_ms": "1000"}',
                          '{"connect_timeout_ms": 99}', '{"connect_timeout_ms": 600001}',
                          '{"max_in_flight": 0}', '{"max_in_flight": 65}',
                          '{"gzip": "yes"}', '{"gzip": 1}', '{"gzip": null}',
                          '{"ca_file": "certs/ca.pem"}', '{"ca_file": ""}', '{"ca_file": 1}']) o$$,
    $$SELECT o, '22023' AS err_state, format('invalid option "%s" for an http target', k) AS err_message, d AS err_detail,
             'See the http target in docs/targets.md.' AS err_hint
        FROM (VALUES ('{"format": "xml"}', 'format', 'It is "json" (one envelope with an events array) or "ndjson" (one event per line).'),
                     ('{"format": "NDJSON"}', 'format', 'It is "json" (one envelope with an events array) or "ndjson" (one event per line).'),
                     ('{"format": 1}', 'format', 'It is "json" (one envelope with an events array) or "ndjson" (one event per line).'),
                     ('{"timeout_ms": 99}', 'timeout_ms', 'It must be between 100 and 3600000.'),
                     ('{"timeout_ms": 3600001}', 'timeout_ms', 'It must be between 100 and 3600000.'),
                     ('{"timeout_ms": "1000"}', 'timeout_ms', 'It must be a number.'),
                     ('{"connect_timeout_ms": 99}', 'connect_timeout_ms', 'It must be between 100 and 600000.'),
                     ('{"connect_timeout_ms": 600001}', 'connect_timeout_ms', 'It must be between 100 and 600000.'),
                     ('{"max_in_flight": 0}', 'max_in_flight', 'It must be between 1 and 64.'),
                     ('{"max_in_flight": 65}', 'max_in_flight', 'It must be between 1 and 64.'),
                     ('{"gzip": "yes"}', 'gzip', 'It must be true or false.'),
                     ('{"gzip": 1}', 'gzip', 'It must be true or false.'),
                     ('{"gzip": null}', 'gzip', 'It must be true or false.'),
                     ('{"ca_file": "certs/ca.pem"}', 'ca_file', 'It must be the absolute path of a PEM file of trusted CA certificates.'),
                     ('{"ca_file": ""}', 'ca_file', 'It must be the absolute path of a PEM file of trusted CA certificates.'),
                     ('{"ca_file": 1}', 'ca_file', 'It must be the absolute path of a PEM file of trusted CA certificates.')) v(o, k, d)$$,
    'validate_target_kind(): bad values of format, timeout_ms, connect_timeout_ms, max_in_flight, gzip and ca_file fail with 22023, saying what is allowed');
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.validate_target_kind('http', 'https://receiver.example.org/', '{"schedule": "manual", "retries": 3}')$$))::text,
    ROW('22023', 'unknown option "retries" for an http target',
        'Http targets take format, headers, timeout_ms, connect_timeout_ms, max_in_flight, gzip and ca_file, besides schedule, tables, facilities, max_batch_events and max_batch_bytes.',
        'Remove the option.')::text,
    'validate_target_kind(): an option the http driver does not know fails with 22023, listing the options it takes');

-- ===================================================================
-- validate_target_kind: the s3 driver's checks
-- ===================================================================
SELECT lives_ok(
    $$SELECT globalsync.validate_target_kind('s3', 'https://s3.eu-west-1.amazonaws.com', '{"bucket": "hospital-exports"}')$$,
    'validate_target_kind(): an S3 service URL and a bucket make a valid s3 target (virtual-hosted addressing by default)');
SELECT lives_ok(
    $$SELECT globalsync.validate_target_kind('s3', 'http://127.0.0.1:9000/',
        '{"bucket": "tap.exports-1", "region": "eu-west-1", "prefix": "tap/exports", "addressing": "path", "format": "csv",
          "gzip": true, "timeout_ms": 100, "connect_timeout_ms": 600000, "ca_file": "/etc/ssl/certs/ca-certificates.crt",
          "schedule": "manual", "tables": ["t"], "facilities": ["f"], "max_batch_events": 5, "max_batch_bytes": 5000}')$$,
    'validate_target_kind(): the s3 driver accepts its options (path-style addressing to an IP address, a trailing / on the endpoint) and the common ones');
SELECT lives_ok(
    $$SELECT globalsync.validate_target_kind('s3', 'https://s3.amazonaws.com', '{"bucket": "exports", "prefix": "", "format": "ndjson", "gzip": false, "addressing": "virtual"}')$$,
    'validate_target_kind(): the s3 driver accepts an empty prefix, format ndjson, gzip false and addressing virtual with a host name');
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.validate_target_kind('s3', 'http://127.0.0.1:9/', '{}')$$))::text,
    ROW('22023', 'option "bucket" is required for an s3 target', 'An s3 target writes its objects into one bucket.',
        'Add for example ''{"bucket": "my-exports"}'' to the options.')::text,
    'validate_target_kind(): an s3 target without option bucket fails with 22023');
SELECT set_eq(
    $$SELECT e, (pg_temp.tap_error(format('SELECT globalsync.validate_target_kind(%L, %L, %L)', 's3', e, '{"bucket": "exports"}'))).*
        FROM unnest(ARRAY['https://s3.eu-west-1.amazonaws.com/hospital-exports', 'https://s3.example.org/a/b',
                          'https://s3.example.org/?x=1', 'https://s3.example.org?x=1', 'https://s3.example.org#f']) e$$,
    $$SELECT e, '22023' AS err_state, 'invalid endpoint for an s3 target' AS err_message,
             'The endpoint of an s3 target is the URL of the S3 service, without a path, query or fragment.' AS err_detail,
             'Use for example ''https://s3.eu-west-1.amazonaws.com'', and give the bucket and key prefix in the options bucket and prefix.' AS err_hint
        FROM unnest(ARRAY['https://s3.eu-west-1.amazonaws.com/hospital-exports', 'https://s3.example.org/a/b',
                          'https://s3.example.org/?x=1', 'https://s3.example.org?x=1', 'https://s3.example.org#f']) e$$,
    'validate_target_kind(): an s3 endpoint with a path (the bucket), a query or a fragment fails with 22023');
SELECT set_eq(
    $$SELECT e, (pg_temp.tap_error(format('SELECT globalsync.validate_target_kind(%L, %L, %L)', 's3', e, '{"bucket": "exports"}'))).*
        FROM unnest(ARRAY['ftp://s3.example.org', 'https://key:s3cr3t@s3.amazonaws.com', 's3.amazonaws.com']) e$$,
    $$SELECT e, '22023' AS err_state, 'invalid endpoint for an s3 target' AS err_message,
             format('The endpoint of an s3 target is an http or https URL, but %s.', why) AS err_detail,
             'Use for example ''https://s3.eu-west-1.amazonaws.com''; put credentials in the secret store with globalsync.set_target_secret().' AS err_hint
        FROM (VALUES ('ftp://s3.example.org', 'only http and https URLs are allowed'),
                     ('https://key:s3cr3t@s3.amazonaws.com', 'it contains a user name or password'),
                     ('s3.amazonaws.com', 'it is not a valid URL')) v(e, why)$$,
    'validate_target_kind(): an s3 endpoint that is not an http(s) URL or carries credentials fails with 22023, as an http one does');
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.validate_target_kind('s3', 'https://s3.amazonaws.com', '{"bucket": "exports", "acl": "private"}')$$))::text,
    ROW('22023', 'unknown option "acl" for an s3 target',
        'S3 targets take bucket, region, prefix, addressing, format, gzip, timeout_ms, connect_timeout_ms, ca_file, besides schedule, tables, facilities, max_batch_events and max_batch_bytes.',
        'Remove the option.')::text,
    'validate_target_kind(): an option the s3 driver does not know fails with 22023, listing the options it takes');
SELECT set_eq(
    $$SELECT o, (pg_temp.tap_error(format('SELECT globalsync.validate_target_kind(%L, %L, %L)', 's3', 'https://s3.amazonaws.com', o))).*
        FROM unnest(ARRAY['{"bucket": "Exports_2024"}', '{"bucket": "ab"}', '{"bucket": "a..b"}', '{"bucket": "exports-"}', '{"bucket": 1}',
                          '{"bucket": "exports", "region": "EU"}', '{"bucket": "exports", "region": ""}',
                          '{"bucket": "exports", "prefix": "/x"}', '{"bucket": "exports", "prefix": "a//b"}',
                          '{"bucket": "exports", "prefix": "a/../b"}', '{"bucket": "exports", "prefix": 1}',
                          '{"bucket": "exports", "addressing": "host"}', '{"bucket": "exports", "format": "parquet"}',
                          '{"bucket": "exports", "gzip": "yes"}', '{"bucket": "exports", "timeout_ms": 99}',
                          '{"bucket": "exports", "ca_file": "ca.pem"}']::jsonb[]) o$$,
    $$SELECT o, '22023' AS err_state, format('invalid option "%s" for an s3 target', k) AS err_message, d AS err_detail,
             'See docs/target-s3.md.' AS err_hint
        FROM (VALUES ('{"bucket": "Exports_2024"}'::jsonb, 'bucket', 'A bucket name is 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit, without "..", ".-" or "-.".'),
                     ('{"bucket": "ab"}', 'bucket', 'A bucket name is 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit, without "..", ".-" or "-.".'),
                     ('{"bucket": "a..b"}', 'bucket', 'A bucket name is 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit, without "..", ".-" or "-.".'),
                     ('{"bucket": "exports-"}', 'bucket', 'A bucket name is 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit, without "..", ".-" or "-.".'),
                     ('{"bucket": 1}', 'bucket', 'A bucket name is 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit, without "..", ".-" or "-.".'),
                     ('{"bucket": "exports", "region": "EU"}', 'region', 'It must be a region name such as "eu-west-1" (1 to 32 lower-case letters, digits and hyphens).'),
                     ('{"bucket": "exports", "region": ""}', 'region', 'It must be a region name such as "eu-west-1" (1 to 32 lower-case letters, digits and hyphens).'),
                     ('{"bucket": "exports", "prefix": "/x"}', 'prefix', 'It must not start with "/".'),
                     ('{"bucket": "exports", "prefix": "a//b"}', 'prefix', 'It must not contain "//".'),
                     ('{"bucket": "exports", "prefix": "a/../b"}', 'prefix', 'It must not contain "..".'),
                     ('{"bucket": "exports", "prefix": 1}', 'prefix', 'It must be a string.'),
                     ('{"bucket": "exports", "addressing": "host"}', 'addressing', 'It is "virtual" (https://BUCKET.host/KEY, the default) or "path" (https://host/BUCKET/KEY).'),
                     ('{"bucket": "exports", "format": "parquet"}', 'format', 'It is "ndjson" (one event per line, the default) or "csv" (a header row, then one row per event).'),
                     ('{"bucket": "exports", "gzip": "yes"}', 'gzip', 'It must be true or false.'),
                     ('{"bucket": "exports", "timeout_ms": 99}', 'timeout_ms', 'It must be between 100 and 3600000.'),
                     ('{"bucket": "exports", "ca_file": "ca.pem"}', 'ca_file', 'It must be the absolute path of a PEM file of trusted CA certificates.')) v(o, k, d)$$,
    'validate_target_kind(): bad values of bucket, region, prefix, addressing, format, gzip, timeout_ms and ca_file fail with 22023, saying what is allowed');
SELECT set_eq(
    $$SELECT o, (pg_temp.tap_error(format('SELECT globalsync.validate_target_kind(%L, %L, %L)', 's3', 'http://127.0.0.1:9000', o))).*
        FROM unnest(ARRAY['{"bucket": "exports"}', '{"bucket": "exports", "addressing": "virtual"}']::jsonb[]) o$$,
    $$VALUES ('{"bucket": "exports"}'::jsonb, '22023', 'virtual-hosted addressing needs a host name, not the IP address "127.0.0.1"',
              'With addressing "virtual" (the default), the bucket is put in front of the endpoint''s host name.',
              'Add ''{"addressing": "path"}'' to the options.'),
             ('{"bucket": "exports", "addressing": "virtual"}', '22023', 'virtual-hosted addressing needs a host name, not the IP address "127.0.0.1"',
              'With addressing "virtual", the bucket is put in front of the endpoint''s host name.',
              'Add ''{"addressing": "path"}'' to the options.')$$,
    'validate_target_kind(): virtual-hosted addressing (by default or asked for) to an IP address fails with 22023');
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.validate_target_kind('s3', 'https://s3.amazonaws.com', '{"bucket": "my.exports"}')$$))::text,
    ROW('22023', 'virtual-hosted addressing cannot be used over https with the bucket "my.exports"',
        'The name has dots: BUCKET.host would not match the service''s wildcard TLS certificate.',
        'Add ''{"addressing": "path"}'' to the options.')::text,
    'validate_target_kind(): virtual-hosted addressing over https with a dotted bucket fails with 22023');
SELECT lives_ok($$SELECT globalsync.validate_target_kind('s3', 'http://s3.example.org', '{"bucket": "my.exports"}')$$,
    'validate_target_kind(): a dotted bucket with virtual-hosted addressing is accepted over http (no certificate to match)');
SET LOCAL globalsync.allowed_hosts = 's3.example.org';
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.validate_target_kind('s3', 'https://s3.example.org', '{"bucket": "exports"}')$$))::text,
    ROW('42501', 'host "exports.s3.example.org" is not in globalsync.allowed_hosts',
        'With addressing "virtual", requests go to the bucket''s own host name.',
        'A superuser can add it (or ".s3.example.org") to globalsync.allowed_hosts, or use addressing "path".')::text,
    'validate_target_kind(): with virtual-hosted addressing the bucket''s host must be in globalsync.allowed_hosts too (42501)');
SELECT lives_ok($$SELECT globalsync.validate_target_kind('s3', 'https://s3.example.org', '{"bucket": "exports", "addressing": "path"}')$$,
    'validate_target_kind(): with path-style addressing only the endpoint''s host must be allowed');
SELECT throws_ok($$SELECT globalsync.validate_target_kind('s3', 'https://s3.other.example', '{"bucket": "exports", "addressing": "path"}')$$,
    '42501', 'host "s3.other.example" is not in globalsync.allowed_hosts',
    'validate_target_kind(): an s3 endpoint whose host is not in globalsync.allowed_hosts fails with 42501');
SET LOCAL globalsync.allowed_hosts = 's3.example.org, .s3.example.org';
SELECT lives_ok($$SELECT globalsync.validate_target_kind('s3', 'https://s3.example.org', '{"bucket": "exports"}')$$,
    'validate_target_kind(): an entry ''.s3.example.org'' allows the bucket hosts below the endpoint''s host');
RESET globalsync.allowed_hosts;

-- ===================================================================
-- validate_target_kind: the snowflake driver's checks
-- ===================================================================
SELECT lives_ok(
    $$SELECT globalsync.validate_target_kind('snowflake', 'https://xy12345.eu-west-1.snowflakecomputing.com',
        '{"account": "xy12345.eu-west-1", "user": "GLOBALSYNC", "table": "RAW.GLOBALSYNC.EVENTS"}')$$,
    'validate_target_kind(): an account URL with account, user and table makes a valid snowflake target');
SELECT lives_ok(
    $$SELECT globalsync.validate_target_kind('snowflake', 'http://127.0.0.1:9/',
        '{"account": "MYORG-MYACCOUNT", "user": "globalsync user", "table": "\"My \"\"odd\"\" table\"", "database": "RAW",
          "schema": "_s$1", "warehouse": "\"Load WH\"", "role": "LOADER", "statement_timeout_s": 86400, "rows_per_statement": 1500,
          "poll_interval_ms": 50, "timeout_ms": 3600000, "connect_timeout_ms": 100, "ca_file": "/etc/ssl/certs/ca-certificates.crt",
          "schedule": "manual", "tables": ["t"], "facilities": ["f"], "max_batch_events": 5, "max_batch_bytes": 5000}')$$,
    'validate_target_kind(): the snowflake driver accepts its options (a quoted table, limits at their bounds, a trailing / on the endpoint) and the common ones');
SELECT set_eq(
    $$SELECT o, (pg_temp.tap_error(format('SELECT globalsync.validate_target_kind(%L, %L, %L)', 'snowflake',
                                          'https://xy12345.eu-west-1.snowflakecomputing.com', o))).*
        FROM unnest(ARRAY['{}', '{"account": "xy12345"}', '{"account": "xy12345", "user": "GS"}',
                          '{"user": "GS", "table": "T"}', '{"account": "xy12345", "table": "T"}']::jsonb[]) o$$,
    $$SELECT o, '22023' AS err_state, format('missing option "%s" for a snowflake target', k) AS err_message,
             'A snowflake target needs the options account, user and table.' AS err_detail,
             'For example: ''{"account": "xy12345.eu-west-1", "user": "GLOBALSYNC", "table": "RAW.GLOBALSYNC.EVENTS"}''.' AS err_hint
        FROM (VALUES ('{}'::jsonb, 'account'), ('{"account": "xy12345"}', 'user'), ('{"account": "xy12345", "user": "GS"}', 'table'),
                     ('{"user": "GS", "table": "T"}', 'account'), ('{"account": "xy12345", "table": "T"}', 'user')) v(o, k)$$,
    'validate_target_kind(): a snowflake target without account, user or table fails with 22023, naming the first one missing');
SELECT set_eq(
    $$SELECT e, (pg_temp.tap_error(format('SELECT globalsync.validate_target_kind(%L, %L, %L)', 'snowflake', e,
                                          '{"account": "xy12345", "user": "GS", "table": "T"}'))).*
        FROM unnest(ARRAY['https://xy12345.snowflakecomputing.com/api/v2/statements', 'https://127.0.0.1:9/x',
                          'https://xy12345.snowflakecomputing.com?x=1', 'https://xy12345.snowflakecomputing.com/?x=1']) e$$,
    $$SELECT e, '22023' AS err_state, 'invalid endpoint for a snowflake target' AS err_message,
             'The endpoint of a snowflake target is the account URL, without a path or query: the driver sends to /api/v2/statements below it.' AS err_detail,
             'Use for example ''https://xy12345.eu-west-1.snowflakecomputing.com''.' AS err_hint
        FROM unnest(ARRAY['https://xy12345.snowflakecomputing.com/api/v2/statements', 'https://127.0.0.1:9/x',
                          'https://xy12345.snowflakecomputing.com?x=1', 'https://xy12345.snowflakecomputing.com/?x=1']) e$$,
    'validate_target_kind(): a snowflake endpoint with a path (even /api/v2/statements) or a query fails with 22023');
SELECT set_eq(
    $$SELECT e, (pg_temp.tap_error(format('SELECT globalsync.validate_target_kind(%L, %L, %L)', 'snowflake', e,
                                          '{"account": "xy12345", "user": "GS", "table": "T"}'))).*
        FROM unnest(ARRAY['x', 'ftp://xy12345.snowflakecomputing.com', 'https://GS:s3cr3t@xy12345.snowflakecomputing.com']) e$$,
    $$SELECT e, '22023' AS err_state, 'invalid endpoint for a snowflake target' AS err_message,
             format('The endpoint of a snowflake target is an http or https URL, but %s.', why) AS err_detail,
             'Use for example ''https://xy12345.eu-west-1.snowflakecomputing.com''; put credentials in the secret store with globalsync.set_target_secret().' AS err_hint
        FROM (VALUES ('x', 'it is not a valid URL'),
                     ('ftp://xy12345.snowflakecomputing.com', 'only http and https URLs are allowed'),
                     ('https://GS:s3cr3t@xy12345.snowflakecomputing.com', 'it contains a user name or password')) v(e, why)$$,
    'validate_target_kind(): a snowflake endpoint that is not an http(s) URL or carries credentials fails with 22023');
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.validate_target_kind('snowflake', 'https://xy12345.snowflakecomputing.com',
                                                               '{"account": "xy12345", "user": "GS", "table": "T", "stage": "S"}')$$))::text,
    ROW('22023', 'unknown option "stage" for a snowflake target',
        'Snowflake targets take account, user, table, database, schema, warehouse, role, statement_timeout_s, rows_per_statement, poll_interval_ms, timeout_ms, connect_timeout_ms, ca_file, besides schedule, tables, facilities, max_batch_events and max_batch_bytes.',
        'Remove the option.')::text,
    'validate_target_kind(): an option the snowflake driver does not know fails with 22023, listing the options it takes');
SELECT set_eq(
    $$SELECT o, (pg_temp.tap_error(format('SELECT globalsync.validate_target_kind(%L, %L, %L)', 'snowflake',
                                          'https://xy12345.snowflakecomputing.com', '{"account": "xy12345", "user": "GS", "table": "T"}'::jsonb || o))).*
        FROM unnest(ARRAY['{"account": "-xy12345"}', '{"account": "xy 12345"}', '{"account": ""}', '{"account": 1}',
                          '{"user": " GS"}', '{"user": "GS\n"}',
                          '{"table": "a.b.c.d"}', '{"table": "x; DROP TABLE y"}', '{"table": "1t"}',
                          '{"warehouse": "a.b"}', '{"role": "r-1"}',
                          '{"statement_timeout_s": 0}', '{"rows_per_statement": 1501}', '{"poll_interval_ms": 49}',
                          '{"poll_interval_ms": "200"}']::jsonb[]) o$$,
    $$SELECT o, '22023' AS err_state, format('invalid option "%s" for a snowflake target', k) AS err_message, d AS err_detail,
             'See docs/target-snowflake.md.' AS err_hint
        FROM (VALUES ('{"account": "-xy12345"}'::jsonb, 'account', 'It is the account identifier, letters, digits, ".", "_" and "-": an account locator such as "xy12345.eu-west-1" or "MYORG-MYACCOUNT".'),
                     ('{"account": "xy 12345"}', 'account', 'It is the account identifier, letters, digits, ".", "_" and "-": an account locator such as "xy12345.eu-west-1" or "MYORG-MYACCOUNT".'),
                     ('{"account": ""}', 'account', 'It must be a non-empty string.'),
                     ('{"account": 1}', 'account', 'It must be a non-empty string.'),
                     ('{"user": " GS"}', 'user', 'It is the name of the Snowflake user that holds the public key: printable ASCII, without leading or trailing blanks.'),
                     ('{"user": "GS\n"}', 'user', 'It must not contain line breaks.'),
                     ('{"table": "a.b.c.d"}', 'table', 'It is the target table, optionally qualified (database.schema.table), each part an unquoted identifier (a letter or "_", then letters, digits, "_" or "$") or a double-quoted one.'),
                     ('{"table": "x; DROP TABLE y"}', 'table', 'It is the target table, optionally qualified (database.schema.table), each part an unquoted identifier (a letter or "_", then letters, digits, "_" or "$") or a double-quoted one.'),
                     ('{"table": "1t"}', 'table', 'It is the target table, optionally qualified (database.schema.table), each part an unquoted identifier (a letter or "_", then letters, digits, "_" or "$") or a double-quoted one.'),
                     ('{"warehouse": "a.b"}', 'warehouse', 'It is one identifier: unquoted (a letter or "_", then letters, digits, "_" or "$") or double-quoted.'),
                     ('{"role": "r-1"}', 'role', 'It is one identifier: unquoted (a letter or "_", then letters, digits, "_" or "$") or double-quoted.'),
                     ('{"statement_timeout_s": 0}', 'statement_timeout_s', 'It must be between 1 and 86400.'),
                     ('{"rows_per_statement": 1501}', 'rows_per_statement', 'It must be between 1 and 1500.'),
                     ('{"poll_interval_ms": 49}', 'poll_interval_ms', 'It must be between 50 and 10000.'),
                     ('{"poll_interval_ms": "200"}', 'poll_interval_ms', 'It must be a number.')) v(o, k, d)$$,
    'validate_target_kind(): bad values of account, user, table, warehouse, role, statement_timeout_s, rows_per_statement and poll_interval_ms fail with 22023, saying what is allowed');

-- ===================================================================
-- validate_target_kind: the fhir driver's checks
-- ===================================================================
SELECT lives_ok($$SELECT globalsync.validate_target_kind('fhir', 'https://fhir.example.org/r4', '{}')$$,
    'validate_target_kind(): a FHIR base URL (with a path) is a valid fhir endpoint, without options');
SELECT lives_ok(
    $$SELECT globalsync.validate_target_kind('fhir', 'http://127.0.0.1:9/fhir',
        '{"identifier_system": "https://hospital.example.org/ids/mrn", "organization_system": "urn:oid:1.2.3",
          "timeout_ms": 100, "connect_timeout_ms": 600000, "ca_file": "/etc/ssl/certs/ca-certificates.crt",
          "schedule": "manual", "tables": ["globalsync.patient_registrations", "globalsync.facilities"], "facilities": ["f"],
          "max_batch_events": 5, "max_batch_bytes": 5000}')$$,
    'validate_target_kind(): the fhir driver accepts its options, the common ones and tables naming patient_registrations and facilities');
SELECT set_eq(
    $$SELECT e, (pg_temp.tap_error(format('SELECT globalsync.validate_target_kind(%L, %L, %L)', 'fhir', e, '{}'))).*
        FROM unnest(ARRAY['x', 'ftp://fhir.example.org/r4', 'https://tap:s3cr3t@fhir.example.org/r4', 'https://?x=1']) e$$,
    $$SELECT e, '22023' AS err_state, 'invalid endpoint for a fhir target' AS err_message,
             format('The endpoint of a fhir target is an http or https URL, but %s.', why) AS err_detail,
             'Use for example ''https://fhir.example.org/r4''; put credentials in the secret store with globalsync.set_target_secret().' AS err_hint
        FROM (VALUES ('x', 'it is not a valid URL'),
                     ('ftp://fhir.example.org/r4', 'only http and https URLs are allowed'),
                     ('https://tap:s3cr3t@fhir.example.org/r4', 'it contains a user name or password'),
                     ('https://?x=1', 'it is not a valid URL')) v(e, why)$$,
    'validate_target_kind(): a fhir endpoint that is not an http(s) URL, has no host or carries credentials fails with 22023');
SELECT set_eq(
    $$SELECT e, (pg_temp.tap_error(format('SELECT globalsync.validate_target_kind(%L, %L, %L)', 'fhir', e, '{}'))).*
        FROM unnest(ARRAY['https://fhir.example.org/r4?_format=json', 'https://fhir.example.org/r4#x']) e$$,
    $$SELECT e, '22023' AS err_state, 'invalid endpoint for a fhir target' AS err_message,
             'The endpoint of a fhir target is the server''s base URL, without a query or fragment: transaction Bundles are POSTed to the base itself.' AS err_detail,
             'Use for example ''https://fhir.example.org/r4''; a bearer token goes in the secret store with globalsync.set_target_secret().' AS err_hint
        FROM unnest(ARRAY['https://fhir.example.org/r4?_format=json', 'https://fhir.example.org/r4#x']) e$$,
    'validate_target_kind(): a fhir endpoint with a query string or fragment fails with 22023 (Bundles are POSTed to the base itself)');
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.validate_target_kind('fhir', 'https://fhir.example.org/r4', '{"format": "xml"}')$$))::text,
    ROW('22023', 'unknown option "format" for a fhir target',
        'FHIR targets take identifier_system, organization_system, timeout_ms, connect_timeout_ms, ca_file, besides schedule, tables, facilities, max_batch_events and max_batch_bytes.',
        'Remove the option.')::text,
    'validate_target_kind(): an option the fhir driver does not know fails with 22023, listing the options it takes');
SELECT set_eq(
    $$SELECT o, (pg_temp.tap_error(format('SELECT globalsync.validate_target_kind(%L, %L, %L)', 'fhir', 'https://fhir.example.org/r4', o))).*
        FROM unnest(ARRAY['{"identifier_system": "not a uri"}', '{"organization_system": "urn:x|y"}', '{"identifier_system": "nope"}',
                          '{"identifier_system": ""}', '{"organization_system": 1}', '{"timeout_ms": 99}', '{"connect_timeout_ms": 600001}',
                          '{"ca_file": "ca.pem"}']::jsonb[]) o$$,
    $$SELECT o, '22023' AS err_state, format('invalid option "%s" for a fhir target', k) AS err_message, d AS err_detail,
             'See docs/target-fhir.md.' AS err_hint
        FROM (VALUES ('{"identifier_system": "not a uri"}'::jsonb, 'identifier_system', 'An identifier system is an absolute URI, but it does not start with a URI scheme (such as "urn:" or "https:").'),
                     ('{"organization_system": "urn:x|y"}', 'organization_system', 'An identifier system is an absolute URI, but it contains "|".'),
                     ('{"identifier_system": "nope"}', 'identifier_system', 'An identifier system is an absolute URI, but it has nothing after its scheme.'),
                     ('{"identifier_system": ""}', 'identifier_system', 'It must be a non-empty string.'),
                     ('{"organization_system": 1}', 'organization_system', 'It must be a non-empty string.'),
                     ('{"timeout_ms": 99}', 'timeout_ms', 'It must be between 100 and 3600000.'),
                     ('{"connect_timeout_ms": 600001}', 'connect_timeout_ms', 'It must be between 100 and 600000.'),
                     ('{"ca_file": "ca.pem"}', 'ca_file', 'It must be the absolute path of a PEM file of trusted CA certificates.')) v(o, k, d)$$,
    'validate_target_kind(): bad values of identifier_system, organization_system, timeout_ms, connect_timeout_ms and ca_file fail with 22023, saying why');
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.validate_target_kind('fhir', 'https://fhir.example.org/r4',
                                                               '{"tables": ["globalsync.patient_registrations", "tap_sync.people"]}')$$))::text,
    ROW('22023', 'invalid option "tables" for a fhir target',
        'A fhir target sends globalsync.patient_registrations (as Patient) and globalsync.facilities (as Organization); "tap_sync.people" has no FHIR resource.',
        'Leave the table out, or send it to another kind of target.')::text,
    'validate_target_kind(): a fhir target whose tables name a table without a FHIR resource fails with 22023');
SET LOCAL globalsync.allowed_hosts = 'receiver.example.org';
SELECT set_eq(
    $$SELECT k, (pg_temp.tap_error(format('SELECT globalsync.validate_target_kind(%L, %L, %L)', k, e, o))).*
        FROM (VALUES ('fhir', 'https://fhir.example.org/r4', '{}'::jsonb),
                     ('snowflake', 'https://xy12345.snowflakecomputing.com', '{"account": "xy12345", "user": "GS", "table": "T"}')) v(k, e, o)$$,
    $$VALUES ('fhir', '42501', 'host "fhir.example.org" is not in globalsync.allowed_hosts', '', 'A superuser can add it to globalsync.allowed_hosts.'),
             ('snowflake', '42501', 'host "xy12345.snowflakecomputing.com" is not in globalsync.allowed_hosts', '', 'A superuser can add it to globalsync.allowed_hosts.')$$,
    'validate_target_kind(): a fhir or snowflake endpoint whose host is not in globalsync.allowed_hosts fails with 42501');
RESET globalsync.allowed_hosts;

-- ===================================================================
-- add_target: validation
-- ===================================================================
CREATE TEMP TABLE tap_counts AS
    SELECT (SELECT count(*) FROM globalsync.targets) AS targets,
           (SELECT count(*) FROM globalsync.target_state) AS states,
           (SELECT count(*) FROM globalsync.consumers) AS consumers;

SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'ftp', 'x')$$,
    '22023', 'unknown target kind: "ftp"', 'add_target(): an unknown kind fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'FILE', 'x')$$,
    '22023', 'unknown target kind: "FILE"', 'add_target(): kinds are lower case');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', NULL, 'x')$$,
    '22023', 'unknown target kind: "<NULL>"', 'add_target(): a NULL kind fails with 22023');
SELECT set_eq(
    $$SELECT k, e, o, r.err_state, r.err_message
        FROM (VALUES ('s3', 'https://127.0.0.1:9/x', '{"bucket": "exports", "addressing": "path"}'::jsonb),
                     ('s3', 'https://127.0.0.1:9', '{"addressing": "path"}'),
                     ('s3', 'https://127.0.0.1:9', '{"bucket": "exports", "addressing": "path", "acl": "private"}'),
                     ('snowflake', 'https://127.0.0.1:9/x', '{"account": "xy12345", "user": "GS", "table": "T"}'),
                     ('snowflake', 'https://127.0.0.1:9', '{"account": "xy12345", "user": "GS"}'),
                     ('snowflake', 'https://127.0.0.1:9', '{"account": "xy12345", "user": "GS", "table": "T", "stage": "S"}'),
                     ('fhir', 'ftp://127.0.0.1:9/x', '{}'),
                     ('fhir', 'https://127.0.0.1:9/x', '{"format": "xml"}'),
                     ('fhir', 'https://127.0.0.1:9/x', '{"tables": ["tap_sync.people"]}')) v(k, e, o),
             pg_temp.tap_error(format('SELECT globalsync.add_target(%L, %L, %L, %L)', 'tap bad', k, e, o)) r$$,
    $$VALUES ('s3', 'https://127.0.0.1:9/x', '{"bucket": "exports", "addressing": "path"}'::jsonb, '22023', 'invalid endpoint for an s3 target'),
             ('s3', 'https://127.0.0.1:9', '{"addressing": "path"}', '22023', 'option "bucket" is required for an s3 target'),
             ('s3', 'https://127.0.0.1:9', '{"bucket": "exports", "addressing": "path", "acl": "private"}', '22023', 'unknown option "acl" for an s3 target'),
             ('snowflake', 'https://127.0.0.1:9/x', '{"account": "xy12345", "user": "GS", "table": "T"}', '22023', 'invalid endpoint for a snowflake target'),
             ('snowflake', 'https://127.0.0.1:9', '{"account": "xy12345", "user": "GS"}', '22023', 'missing option "table" for a snowflake target'),
             ('snowflake', 'https://127.0.0.1:9', '{"account": "xy12345", "user": "GS", "table": "T", "stage": "S"}', '22023', 'unknown option "stage" for a snowflake target'),
             ('fhir', 'ftp://127.0.0.1:9/x', '{}', '22023', 'invalid endpoint for a fhir target'),
             ('fhir', 'https://127.0.0.1:9/x', '{"format": "xml"}', '22023', 'unknown option "format" for a fhir target'),
             ('fhir', 'https://127.0.0.1:9/x', '{"tables": ["tap_sync.people"]}', '22023', 'invalid option "tables" for a fhir target')$$,
    'add_target(): s3, snowflake and fhir targets are refused as their drivers refuse them: a bad endpoint, a missing or unknown option (22023)');
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.add_target('tap bad', 'fhir', 'https://127.0.0.1:9/x', '{"tables": ["TAP_SYNC.PEOPLE"]}')$$))::text,
    ROW('22023', 'invalid option "tables" for a fhir target',
        'A fhir target sends globalsync.patient_registrations (as Patient) and globalsync.facilities (as Organization); "tap_sync.people" has no FHIR resource.',
        'Leave the table out, or send it to another kind of target.')::text,
    'add_target(): the fhir driver checks option tables as add_target() normalised it (schema.table)');
SELECT throws_ok($$SELECT globalsync.add_target('  ', 'file', 'x')$$,
    '22023', 'target name must not be empty', 'add_target(): a blank name fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target(NULL, 'file', 'x')$$,
    '22023', 'target name must not be empty', 'add_target(): a NULL name fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', ' ')$$,
    '22023', 'target endpoint must not be empty', 'add_target(): a blank endpoint fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', NULL)$$,
    '22023', 'target endpoint must not be empty', 'add_target(): a NULL endpoint fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', '/abs')$$,
    '22023', 'invalid endpoint for a file target: "/abs"', 'add_target(): an absolute endpoint fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', '../x')$$,
    '22023', 'invalid endpoint for a file target: "../x"', 'add_target(): an endpoint with .. fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', 'a//b')$$,
    '22023', 'invalid endpoint for a file target: "a//b"', 'add_target(): an endpoint with an empty segment fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', 'a b')$$,
    '22023', 'invalid endpoint for a file target: "a b"', 'add_target(): an endpoint with a space fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', 'x', '[1]')$$,
    '22023', 'target options must be a JSON object', 'add_target(): options that are not an object fail with 22023');
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.add_target('tap bad', 'file', 'x', '{"schedule": "soon"}')$$))::text,
    ROW('22023', 'invalid schedule: "soon"', 'A schedule is ''realtime'', ''manual'' or an interval.',
        'Use for example ''15 minutes'' or ''1 hour''.')::text,
    'add_target(): schedule ''soon'' fails with 22023, saying what a schedule is');
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.add_target('tap bad', 'file', 'x', '{"schedule": "0 seconds"}')$$))::text,
    ROW('22023', 'schedule interval 0 seconds is out of range',
        'A scheduled target syncs at most once a second and at least once a year.', '')::text,
    'add_target(): schedule ''0 seconds'' fails with 22023 (at most once a second)');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', 'x', '{"schedule": "999 milliseconds"}')$$,
    '22023', 'schedule interval 999 milliseconds is out of range', 'add_target(): a schedule under a second fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', 'x', '{"schedule": "367 days"}')$$,
    '22023', 'schedule interval 367 days is out of range', 'add_target(): a schedule over a year fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', 'x', '{"schedule": 15}')$$,
    '22023', 'option "schedule" must be a string', 'add_target(): a schedule that is not a string fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', 'x', '{"schedule": "Manual"}')$$,
    '22023', 'invalid schedule: "Manual"', 'add_target(): schedules are lower case (''Manual'' is not ''manual'')');
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.add_target('tap bad', 'file', 'x', '{"tables": ["tap_sync.plain"]}')$$))::text,
    ROW('22023', 'table "tap_sync.plain" in option "tables" is not a tracked table', '',
        'Track it first with globalsync.track(), or see globalsync.tracked_tables.')::text,
    'add_target(): a table that is not tracked fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', 'x', '{"tables": ["tap_sync.people", "tap_sync.nope"]}')$$,
    '22023', 'table "tap_sync.nope" in option "tables" is not a tracked table',
    'add_target(): a table that does not exist fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', 'x', '{"tables": []}')$$,
    '22023', 'option "tables" must be a non-empty array of table names', 'add_target(): an empty tables list fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', 'x', '{"tables": "tap_sync.people"}')$$,
    '22023', 'option "tables" must be a non-empty array of table names', 'add_target(): tables that is not an array fails with 22023');
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.add_target('tap bad', 'file', 'x', '{"facilities": ["FAC_TAPSYNC1", "FAC_TAPNONE1"]}')$$))::text,
    ROW('22023', 'facility "FAC_TAPNONE1" in option "facilities" does not exist', '', 'See globalsync.list_facilities().')::text,
    'add_target(): an unknown facility fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', 'x', '{"facilities": [1]}')$$,
    '22023', 'option "facilities" must be a non-empty array of facility ids', 'add_target(): facilities that are not strings fail with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', 'x', '{"max_batch_events": 0}')$$,
    '22023', 'option "max_batch_events" must be an integer between 1 and 100000', 'add_target(): max_batch_events 0 fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', 'x', '{"max_batch_events": 100001}')$$,
    '22023', 'option "max_batch_events" must be an integer between 1 and 100000', 'add_target(): max_batch_events over 100000 fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', 'x', '{"max_batch_events": 1.5}')$$,
    '22023', 'option "max_batch_events" must be an integer between 1 and 100000', 'add_target(): a fractional max_batch_events fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', 'x', '{"max_batch_events": "10"}')$$,
    '22023', 'option "max_batch_events" must be an integer between 1 and 100000', 'add_target(): max_batch_events as a string fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', 'x', '{"max_batch_bytes": 1023}')$$,
    '22023', 'option "max_batch_bytes" must be an integer between 1024 and 1073741824', 'add_target(): max_batch_bytes under 1024 fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'file', 'x', '{"color": "red"}')$$,
    '22023', 'unknown option "color" for a file target', 'add_target(): an unknown option for a file target fails with 22023');
-- http targets: add_target() refuses what the http driver refuses
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'http', 'ftp://127.0.0.1:9/x')$$,
    '22023', 'invalid endpoint for an http target', 'add_target(): an http target with an ftp URL fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'http', 'http://tap:s3cr3t@127.0.0.1:9/x')$$,
    '22023', 'invalid endpoint for an http target', 'add_target(): an http target with user:password in its URL fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'http', 'https://?x=1')$$,
    '22023', 'invalid endpoint for an http target', 'add_target(): an http target with a URL without a host fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'http', 'http://127.0.0.1:9/', '{"headers": {"Idempotency-Key": "tap"}}')$$,
    '22023', 'invalid option "headers" for an http target', 'add_target(): an http target setting header Idempotency-Key fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'http', 'http://127.0.0.1:9/', '{"headers": {"X-Tenant": "a\nX-Injected: 1"}}')$$,
    '22023', 'invalid option "headers" for an http target', 'add_target(): an http target with a header value holding a newline fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'http', 'http://127.0.0.1:9/', '{"format": "csv"}')$$,
    '22023', 'invalid option "format" for an http target', 'add_target(): an http target with format csv fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'http', 'http://127.0.0.1:9/', '{"timeout_ms": 50}')$$,
    '22023', 'invalid option "timeout_ms" for an http target', 'add_target(): an http target with timeout_ms under 100 fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'http', 'http://127.0.0.1:9/', '{"timeout_ms": 3600001}')$$,
    '22023', 'invalid option "timeout_ms" for an http target', 'add_target(): an http target with timeout_ms over an hour fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'http', 'http://127.0.0.1:9/', '{"gzip": "true"}')$$,
    '22023', 'invalid option "gzip" for an http target', 'add_target(): an http target with a gzip that is not a boolean fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'http', 'http://127.0.0.1:9/', '{"ca_file": "certs/ca.pem"}')$$,
    '22023', 'invalid option "ca_file" for an http target', 'add_target(): an http target with a relative ca_file fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'http', 'http://127.0.0.1:9/', '{"retries": 3}')$$,
    '22023', 'unknown option "retries" for an http target', 'add_target(): an http target with an unknown option fails with 22023');
SELECT throws_ok($$SELECT globalsync.add_target('tap bad', 'http', 'http://127.0.0.1:9/', '{"schedule": "soon"}')$$,
    '22023', 'invalid schedule: "soon"', 'add_target(): an http target''s common options are checked as any target''s');
SELECT is(
    (SELECT ARRAY[count(*) FILTER (WHERE name LIKE 'tap bad%')] FROM globalsync.targets)
        || (SELECT ARRAY[(SELECT count(*) FROM globalsync.targets) - targets,
                         (SELECT count(*) FROM globalsync.target_state) - states,
                         (SELECT count(*) FROM globalsync.consumers) - consumers] FROM tap_counts),
    ARRAY[0, 0, 0, 0]::bigint[],
    'add_target(): a refused target (file, http, s3, snowflake or fhir) leaves no target, target_state or consumer behind');

-- ===================================================================
-- add_target: what it makes
-- ===================================================================
SELECT globalsync.add_target('  TAP file target  ', 'file', 'tap/exports') AS tap_t1 \gset
SELECT matches(:'tap_t1'::text, '^TGT_[A-Z0-9]{8}$', 'add_target() returns a TGT_ id with 8 characters');
SELECT is(
    (SELECT ROW(name, kind, endpoint, options, is_active, last_sync_time IS NULL)::text
       FROM globalsync.targets WHERE target_id = :'tap_t1'),
    ROW('TAP file target', 'file', 'tap/exports', '{}'::jsonb, true, true)::text,
    'add_target(): the target is stored active, name trimmed, options {} by default, never synced');
SELECT is(
    (SELECT ROW(consumer, position_batch, position, consecutive_failures, breaker_until, last_scheduled_at,
                last_success_at, last_failure_at, last_error)::text
       FROM globalsync.target_state WHERE target_id = :'tap_t1'),
    ROW('target:' || :'tap_t1', NULL::bigint, 0::bigint, 0, NULL::timestamptz, NULL::timestamptz,
        NULL::timestamptz, NULL::timestamptz, NULL::text)::text,
    'add_target(): its target_state row names consumer target:<id>, cursor at 0, breaker closed, no outcome yet');
SELECT is(
    (SELECT ROW(c.batch_id, c.last_tick = (SELECT max(tick_id) FROM globalsync.ticks))::text
       FROM globalsync.consumers c WHERE c.consumer = 'target:' || :'tap_t1'),
    ROW(NULL::bigint, true)::text,
    'add_target(): consumer target:<id> is registered at the newest tick, no batch open (it gets what commits from now on)');
SELECT throws_ok($$SELECT globalsync.add_target('TAP file target', 'file', 'tap/other')$$,
    '23505', 'a target named "TAP file target" already exists', 'add_target(): a name already used fails with 23505');
SELECT globalsync.add_target('tap null options', 'file', 'tap/null', NULL) AS tap_tnull \gset
SELECT is((SELECT options FROM globalsync.targets WHERE target_id = :'tap_tnull'), '{}'::jsonb,
    'add_target(): NULL options are stored as {}');

-- options are kept as given, tables spelt as the change log spells them
SELECT globalsync.add_target('tap options target', 'file', 'tap/options',
    '{"schedule": "15 minutes", "facilities": ["FAC_TAPSYNC1"], "max_batch_events": 500, "max_batch_bytes": 65536,
      "tables": ["tap_sync.people", "TAP_SYNC.PEOPLE", " tap_sync . visits ", "tap_sync.\"Odd Name\"", "globalsync.patient_registrations"]}') AS tap_t2 \gset
SELECT is(
    (SELECT options - 'tables' FROM globalsync.targets WHERE target_id = :'tap_t2'),
    '{"schedule": "15 minutes", "facilities": ["FAC_TAPSYNC1"], "max_batch_events": 500, "max_batch_bytes": 65536}'::jsonb,
    'add_target(): schedule, facilities and batch limits are stored as given');
SELECT bag_eq(
    $$SELECT jsonb_array_elements_text(options -> 'tables') FROM globalsync.targets WHERE target_id = '$$ || :'tap_t2' || $$'$$,
    ARRAY['globalsync.patient_registrations', 'tap_sync."Odd Name"', 'tap_sync.people', 'tap_sync.visits'],
    'add_target(): tables are stored schema-qualified, quoted as needed, each once, whatever the spelling');
-- Option tables takes a name as tracked_tables shows it: unqualified when
-- the schema is on the viewer's search_path (add_target() itself runs with
-- a pinned search_path, so a bare name is matched among tracked tables).
SET LOCAL search_path = tap_sync, public;
SELECT is((SELECT table_name::text FROM globalsync.tracked_tables WHERE schema_name = 'tap_sync' AND relation_name = 'people'),
    'people', 'tracked_tables shows tap_sync.people as people when tap_sync is on the search_path');
SELECT lives_ok($$SELECT globalsync.add_target('tap unqualified tables', 'file', 'tap/unqualified', '{"tables": ["people"]}')$$,
    'add_target(): a table spelt as tracked_tables shows it (unqualified, on the caller''s search_path) is accepted');
SELECT is((SELECT options->'tables' FROM globalsync.targets WHERE name = 'tap unqualified tables'),
    '["tap_sync.people"]'::jsonb, 'add_target(): an unqualified table name is stored schema-qualified');
RESET search_path;

-- ===================================================================
-- alter_target
-- ===================================================================
SELECT throws_ok($$SELECT globalsync.alter_target('TGT_TAPNONE1', name => 'x')$$,
    '42704', 'target "TGT_TAPNONE1" does not exist', 'alter_target() of an unknown target fails with 42704');
SELECT throws_ok(format('SELECT globalsync.alter_target(%L, name => %L)', :'tap_t2', 'TAP file target'),
    '23505', 'a target named "TAP file target" already exists', 'alter_target(): renaming to a name in use fails with 23505');
SELECT throws_ok(format('SELECT globalsync.alter_target(%L, name => %L)', :'tap_t2', '   '),
    '22023', 'target name must not be empty', 'alter_target(): a blank name fails with 22023');
SELECT throws_ok(format('SELECT globalsync.alter_target(%L, endpoint => %L)', :'tap_t2', '../escape'),
    '22023', 'invalid endpoint for a file target: "../escape"', 'alter_target(): a bad endpoint fails with 22023');
SELECT throws_ok(format('SELECT globalsync.alter_target(%L, options => %L)', :'tap_t2', '{"schedule": "soon"}'),
    '22023', 'invalid schedule: "soon"', 'alter_target(): a bad schedule fails with 22023');
SELECT throws_ok(format('SELECT globalsync.alter_target(%L, options => %L)', :'tap_t2', '{"color": "red"}'),
    '22023', 'unknown option "color" for a file target', 'alter_target(): an unknown option fails with 22023');
SELECT throws_ok(format('SELECT globalsync.alter_target(%L, options => %L)', :'tap_t2', '{"tables": ["tap_sync.plain"]}'),
    '22023', 'table "tap_sync.plain" in option "tables" is not a tracked table', 'alter_target(): an untracked table fails with 22023');
SELECT is(
    (SELECT ROW(name, endpoint, options - 'tables', is_active)::text FROM globalsync.targets WHERE target_id = :'tap_t2'),
    ROW('tap options target', 'tap/options',
        '{"schedule": "15 minutes", "facilities": ["FAC_TAPSYNC1"], "max_batch_events": 500, "max_batch_bytes": 65536}'::jsonb,
        true)::text,
    'alter_target(): refused changes leave the target as it was');
SELECT lives_ok(format('SELECT globalsync.alter_target(%L)', :'tap_t2'), 'alter_target() with nothing to change works');
SELECT lives_ok(format('SELECT globalsync.alter_target(%L, name => %L, endpoint => %L, options => %L)',
                       :'tap_t2', '  tap renamed target ', 'tap/renamed', '{"schedule": "manual", "tables": ["TAP_SYNC.VISITS"]}'),
    'alter_target() renames, moves and replaces the options');
SELECT is(
    (SELECT ROW(name, endpoint, options, is_active)::text FROM globalsync.targets WHERE target_id = :'tap_t2'),
    ROW('tap renamed target', 'tap/renamed', '{"schedule": "manual", "tables": ["tap_sync.visits"]}'::jsonb, true)::text,
    'alter_target(): name trimmed, endpoint changed, options replaced as a whole (and normalised)');
SELECT lives_ok(format('SELECT globalsync.alter_target(%L, name => %L)', :'tap_t2', 'tap renamed target'),
    'alter_target(): a target may keep its own name');
-- the breaker: closed again only when the target is switched on
UPDATE globalsync.target_state SET consecutive_failures = 7, breaker_until = now() + interval '1 hour'
 WHERE target_id = :'tap_t2';
SELECT lives_ok(format('SELECT globalsync.alter_target(%L, is_active => false)', :'tap_t2'), 'alter_target() switches a target off');
SELECT is(
    (SELECT ROW(t.is_active, s.consecutive_failures, s.breaker_until IS NOT NULL, t.options)::text
       FROM globalsync.targets t JOIN globalsync.target_state s USING (target_id) WHERE target_id = :'tap_t2'),
    ROW(false, 7, true, '{"schedule": "manual", "tables": ["tap_sync.visits"]}'::jsonb)::text,
    'alter_target(is_active => false): the target is off, its breaker and options as they were');
SELECT lives_ok(format('SELECT globalsync.alter_target(%L, is_active => true)', :'tap_t2'), 'alter_target() switches a target on');
SELECT is(
    (SELECT ROW(t.is_active, s.consecutive_failures, s.breaker_until)::text
       FROM globalsync.targets t JOIN globalsync.target_state s USING (target_id) WHERE target_id = :'tap_t2'),
    ROW(true, 0, NULL::timestamptz)::text,
    'alter_target(is_active => true): the target is on with a closed breaker');

-- ===================================================================
-- http targets: add_target, globalsync.allowed_hosts
-- ===================================================================
-- an empty globalsync.allowed_hosts allows any host
SET LOCAL globalsync.allowed_hosts = '';
SELECT globalsync.add_target('tap http target', 'http', 'http://127.0.0.1:9/hook',
    '{"format": "ndjson", "headers": {"Authorization": "Bearer tap"}, "timeout_ms": 5000, "gzip": true, "schedule": "manual"}') AS tap_h1 \gset
SELECT is(
    (SELECT ROW(name, kind, endpoint, options, is_active)::text FROM globalsync.targets WHERE target_id = :'tap_h1'),
    ROW('tap http target', 'http', 'http://127.0.0.1:9/hook',
        '{"format": "ndjson", "headers": {"Authorization": "Bearer tap"}, "timeout_ms": 5000, "gzip": true, "schedule": "manual"}'::jsonb,
        true)::text,
    'add_target(): an http target is stored with its URL and options as given');
SELECT is(
    (SELECT ROW(s.consumer, c.consumer IS NOT NULL)::text
       FROM globalsync.target_state s LEFT JOIN globalsync.consumers c USING (consumer) WHERE s.target_id = :'tap_h1'),
    ROW('target:' || :'tap_h1', true)::text,
    'add_target(): an http target gets its target_state row and consumer target:<id>');
SELECT is((SELECT context FROM pg_catalog.pg_settings WHERE name = 'globalsync.allowed_hosts'), 'superuser',
    'globalsync.allowed_hosts can be set by superusers only');
SET LOCAL globalsync.allowed_hosts = 'receiver.example.org';
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.add_target('tap http local', 'http', 'http://127.0.0.1:9/hook')$$))::text,
    ROW('42501', 'host "127.0.0.1" is not in globalsync.allowed_hosts', '',
        'A superuser can add it to globalsync.allowed_hosts.')::text,
    'add_target(): an http target to a host not in globalsync.allowed_hosts fails with 42501');
SELECT lives_ok($$SELECT globalsync.add_target('tap http allowed', 'http', 'https://receiver.example.org/hooks/globalsync')$$,
    'add_target(): an http target to a host in globalsync.allowed_hosts works');
SELECT lives_ok($$SELECT globalsync.add_target('tap http allowed case', 'http', 'https://Receiver.Example.ORG/hooks')$$,
    'add_target(): host names are matched against globalsync.allowed_hosts whatever their case');
SELECT throws_ok($$SELECT globalsync.add_target('tap http sub', 'http', 'https://eu.receiver.example.org/hooks')$$,
    '42501', 'host "eu.receiver.example.org" is not in globalsync.allowed_hosts',
    'add_target(): a host in globalsync.allowed_hosts does not allow its subdomains');
SELECT throws_ok(format('SELECT globalsync.alter_target(%L, endpoint => %L)', :'tap_h1', 'http://127.0.0.1:9/other'),
    '42501', 'host "127.0.0.1" is not in globalsync.allowed_hosts',
    'alter_target(): a new endpoint is checked against globalsync.allowed_hosts (42501)');
SET LOCAL globalsync.allowed_hosts = 'receiver.example.org, .example.org';
SELECT lives_ok($$SELECT globalsync.add_target('tap http subdomain', 'http', 'https://hooks.eu.example.org/globalsync')$$,
    'add_target(): an entry ''.example.org'' in globalsync.allowed_hosts allows every host below example.org');
SELECT set_eq(
    $$SELECT u, (pg_temp.tap_error(format('SELECT globalsync.add_target(%L, %L, %L)', 'tap http refused', 'http', u))).err_state
        FROM unnest(ARRAY['https://example.org/', 'https://notexample.org/', 'https://example.org.evil.test/',
                          'http://127.0.0.1:9/']) u$$,
    $$VALUES ('https://example.org/', '42501'), ('https://notexample.org/', '42501'),
             ('https://example.org.evil.test/', '42501'), ('http://127.0.0.1:9/', '42501')$$,
    'add_target(): ''.example.org'' allows neither example.org itself nor hosts that merely end in example.org (42501)');
RESET globalsync.allowed_hosts;
SELECT is(
    (SELECT array_agg(name ORDER BY name) FROM globalsync.targets WHERE kind = 'http' AND name LIKE 'tap %'),
    ARRAY['tap http allowed', 'tap http allowed case', 'tap http subdomain', 'tap http target'],
    'add_target(): only the http targets allowed were stored');

-- ===================================================================
-- set_target_secret, webhook_signature
-- ===================================================================
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.set_target_secret('TGT_TAPNONE1', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')$$))::text,
    ROW('42704', 'target "TGT_TAPNONE1" does not exist', '', '')::text,
    'set_target_secret() of an unknown target fails with 42704');
SELECT throws_ok($$SELECT globalsync.set_target_secret('TGT_TAPNONE1', NULL)$$,
    '42704', 'target "TGT_TAPNONE1" does not exist', 'set_target_secret(NULL) of an unknown target fails with 42704');
SELECT set_eq(
    format($$SELECT s, (pg_temp.tap_error(format('SELECT globalsync.set_target_secret(%%L, %%L)', %L, s))).*
               FROM unnest(ARRAY['whsec_c2hvcnQgc2VjcmV0', 'whsec_!!tap-not-base64!!', 'whsec_', '', 'c2hvcnQgc2VjcmV0',
                                 'whsec_MDEyMzQ1Njc4OWFiY2Rl']) s$$, :'tap_h1'),
    $$SELECT s, '22023' AS err_state, 'invalid webhook secret' AS err_message,
             'A secret is base64 of at least 16 bytes, optionally after the prefix "whsec_".' AS err_detail,
             'Generate one with: SELECT ''whsec_'' || encode(decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, ''-'', ''''), ''hex''), ''base64'').' AS err_hint
        FROM unnest(ARRAY['whsec_c2hvcnQgc2VjcmV0', 'whsec_!!tap-not-base64!!', 'whsec_', '', 'c2hvcnQgc2VjcmV0',
                          'whsec_MDEyMzQ1Njc4OWFiY2Rl']) s$$,
    'set_target_secret(): a secret that is not base64 of at least 16 bytes (15 here), with or without whsec_, fails with 22023');
SELECT is_empty(
    format($$SELECT s FROM unnest(ARRAY['whsec_c2hvcnQgc2VjcmV0', 'whsec_!!tap-not-base64!!', 'c2hvcnQgc2VjcmV0']) s,
                   pg_temp.tap_error(format('SELECT globalsync.set_target_secret(%%L, %%L)', %L, s)) r
             WHERE concat_ws(' ', r.err_message, r.err_detail, r.err_hint) LIKE '%%' || substr(s, 7, 8) || '%%'$$, :'tap_h1'),
    'set_target_secret(): the error for a bad secret does not show the secret');
SELECT is_empty(format('SELECT 1 FROM globalsync.target_secrets WHERE target_id = %L', :'tap_h1'),
    'set_target_secret(): refused secrets are not stored');
SELECT lives_ok(format('SELECT globalsync.set_target_secret(%L, %L)', :'tap_h1', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'),
    'set_target_secret() with whsec_ and base64 of 24 bytes works');
SELECT is(
    (SELECT ROW(secret, set_at = now(), set_by = session_user)::text FROM globalsync.target_secrets WHERE target_id = :'tap_h1'),
    ROW('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', true, true)::text,
    'set_target_secret(): the secret is stored in target_secrets as given, with when and by whom');
SELECT lives_ok(format('SELECT globalsync.set_target_secret(%L, %L)', :'tap_h1', 'whsec_' || encode(sha256('tap'), 'base64')),
    'set_target_secret() of a target that has a secret works');
SELECT is(
    (SELECT array_agg(secret) FROM globalsync.target_secrets WHERE target_id = :'tap_h1'),
    ARRAY['whsec_' || encode(sha256('tap'), 'base64')],
    'set_target_secret(): a new secret replaces the old one');
SELECT set_eq(
    format('SELECT target_id, secret FROM globalsync._worker_targets() WHERE target_id IN (%L, %L)', :'tap_h1', :'tap_t2'),
    format('VALUES (%L, %L), (%L, NULL)', :'tap_h1', 'whsec_' || encode(sha256('tap'), 'base64'), :'tap_t2'),
    '_worker_targets() hands the worker each target''s secret (NULL when none is set)');
SELECT lives_ok(format('SELECT globalsync.set_target_secret(%L, NULL)', :'tap_h1'), 'set_target_secret(NULL) works');
SELECT is_empty(format('SELECT 1 FROM globalsync.target_secrets WHERE target_id = %L', :'tap_h1'),
    'set_target_secret(NULL) removes the secret');
SELECT lives_ok(format('SELECT globalsync.set_target_secret(%L, NULL)', :'tap_h1'),
    'set_target_secret(NULL) of a target without a secret works (nothing to remove)');
-- secrets are checked with the rules of the target's kind: a file target
-- takes none (not even a good webhook secret), an http target a webhook
-- secret; a refusal never shows the secret, in any part of the error
-- (the secret is passed as a parameter, so that the calling statement in the
-- error context does not show it either)
CREATE FUNCTION pg_temp.tap_secret_error(target_id text, secret text) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    m text; d text; h text; c text;
BEGIN
    EXECUTE 'SELECT globalsync.set_target_secret($1, $2)' USING target_id, secret;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT, c = PG_EXCEPTION_CONTEXT;
    RETURN concat_ws(E'\n', m, d, h, c);
END
$$;
SELECT set_eq(
    format($$SELECT s, (pg_temp.tap_error(format('SELECT globalsync.set_target_secret(%%L, %%L)', %L, s))).*
               FROM unnest(ARRAY['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'tap-file-s3cr3t', '']) s$$, :'tap_t1'),
    $$SELECT s, '22023' AS err_state, 'targets of kind "file" take no secret' AS err_message, '' AS err_detail,
             'Secrets are for http (signing), s3 (access keys), snowflake (private key) and fhir (bearer token) targets.' AS err_hint
        FROM unnest(ARRAY['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'tap-file-s3cr3t', '']) s$$,
    'set_target_secret(): a file target refuses any secret, even a good webhook secret, with 22023 (file targets take no secret)');
SELECT is_empty(
    format($$SELECT s FROM unnest(ARRAY['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'tap-file-s3cr3t']) s,
                   LATERAL (SELECT pg_temp.tap_secret_error(%L, s) AS e) r
             WHERE r.e IS NULL OR strpos(r.e, s) > 0 OR strpos(r.e, substr(s, 7, 12)) > 0$$, :'tap_t1'),
    'set_target_secret(): the error of a file target for a secret shows no part of the secret (message, detail, hint, context)');
SELECT is_empty(format('SELECT 1 FROM globalsync.target_secrets WHERE target_id = %L', :'tap_t1'),
    'set_target_secret(): a secret a file target refused is not stored');
SELECT lives_ok(format('SELECT globalsync.set_target_secret(%L, NULL)', :'tap_t1'),
    'set_target_secret(NULL) of a file target works (removing checks no secret)');
SELECT is_empty(
    format($$SELECT s FROM unnest(ARRAY['whsec_c2hvcnQgc2VjcmV0', 'whsec_!!tap-not-base64!!', 'c2hvcnQgc2VjcmV0',
                                        'whsec_MDEyMzQ1Njc4OWFiY2Rl', 'whsec_tap s3cr3t with spaces']) s,
                   LATERAL (SELECT pg_temp.tap_secret_error(%L, s) AS e) r
             WHERE r.e IS NULL OR strpos(r.e, s) > 0 OR strpos(r.e, regexp_replace(s, '^whsec_', '')) > 0$$, :'tap_h1'),
    'set_target_secret(): an http target refuses each bad secret, and no part of its error (message, detail, hint, context) shows the secret, with or without whsec_');
SELECT lives_ok(format('SELECT globalsync.set_target_secret(%L, %L)', :'tap_h1', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'),
    'set_target_secret(): an http target still takes a whsec_ secret (checked per kind)');
SELECT is(
    (SELECT array_agg(secret) FROM globalsync.target_secrets WHERE target_id = :'tap_h1'),
    ARRAY['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    'set_target_secret(): the http target''s secret is stored');
SELECT lives_ok(format('SELECT globalsync.set_target_secret(%L, NULL)', :'tap_h1'), 'set_target_secret(NULL) removes it again');
-- _check_target_secret() itself (internal, the owner's): per kind, STRICT
SELECT lives_ok($$SELECT globalsync._check_target_secret('http', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')$$,
    '_check_target_secret(): a whsec_ secret of 24 bytes is good for http');
SELECT throws_ok($$SELECT globalsync._check_target_secret('http', 'whsec_c2hvcnQgc2VjcmV0')$$,
    '22023', 'invalid webhook secret', '_check_target_secret(): a short secret is refused for http (22023)');
SELECT throws_ok($$SELECT globalsync._check_target_secret('file', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')$$,
    '22023', 'targets of kind "file" take no secret', '_check_target_secret(): any secret is refused for file (22023)');
SELECT ok(
    (SELECT globalsync._check_target_secret('file', NULL) IS NULL AND globalsync._check_target_secret(NULL, 'x') IS NULL),
    '_check_target_secret() of a NULL kind or secret is NULL, nothing checked (STRICT)');
SELECT target_id AS tap_h2 FROM globalsync.targets WHERE name = 'tap http allowed' \gset
SELECT globalsync.set_target_secret(:'tap_h2', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
SELECT is(globalsync.remove_target(:'tap_h2'), true, 'remove_target() of an http target with a secret returns true');
SELECT is_empty(format('SELECT 1 FROM globalsync.target_secrets WHERE target_id = %L', :'tap_h2'),
    'remove_target(): the target''s secret goes with it');

SELECT is(
    globalsync.webhook_signature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330,
                                 '{"test": 2432232314}'),
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    'webhook_signature(): the Standard Webhooks test vector');
SELECT is(
    globalsync.webhook_signature('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330,
                                 '{"test": 2432232314}'),
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    'webhook_signature(): the prefix whsec_ is optional');
SELECT is(
    ARRAY[globalsync.webhook_signature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265331,
                                       '{"test": 2432232314}'),
          globalsync.webhook_signature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJel', 1614265330,
                                       '{"test": 2432232314}'),
          globalsync.webhook_signature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330,
                                       '{"test": 2432232315}')] && ARRAY['v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='],
    false,
    'webhook_signature(): another timestamp, message id or body gives another signature');
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.webhook_signature('whsec_!!tap!!', 'msg_1', 1, 'x')$$))::text,
    ROW('22023', 'invalid webhook secret', 'A secret is base64, optionally after the prefix "whsec_".',
        'Generate one with: SELECT ''whsec_'' || encode(decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, ''-'', ''''), ''hex''), ''base64'').')::text,
    'webhook_signature() with a secret that is not base64 fails with 22023');
SELECT is(globalsync.webhook_signature(NULL, 'msg_1', 1, 'x'), NULL, 'webhook_signature() of a NULL secret is NULL (STRICT)');

-- ===================================================================
-- start_sync
-- ===================================================================
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.start_sync('TGT_TAPNONE1')$$))::text,
    ROW('42704', 'target "TGT_TAPNONE1" does not exist', '', 'See globalsync.target_health for the targets.')::text,
    'start_sync() of an unknown target fails with 42704');
SELECT throws_ok($$SELECT globalsync.start_sync(NULL)$$, '42704', NULL, 'start_sync(NULL) fails with 42704');
SELECT globalsync.add_target('tap inactive target', 'file', 'tap/inactive') AS tap_off \gset
SELECT globalsync.alter_target(:'tap_off', is_active => false);
SELECT throws_ok(format('SELECT globalsync.start_sync(%L)', :'tap_off'),
    '55000', 'target "tap inactive target" is not active', 'start_sync() of an inactive target fails with 55000');
SELECT throws_ok(format('SELECT globalsync.start_sync(%L, mode => %L)', :'tap_t1', 'partial'),
    '22023', 'invalid sync mode: "partial"', 'start_sync() with an unknown mode fails with 22023');
SELECT throws_ok(format('SELECT globalsync.start_sync(%L, mode => NULL)', :'tap_t1'),
    '22023', 'invalid sync mode: "<NULL>"', 'start_sync() with a NULL mode fails with 22023');
SELECT throws_ok(format('SELECT globalsync.start_sync(%L, mode => %L)', :'tap_t1', 'FULL'),
    '22023', 'invalid sync mode: "FULL"', 'start_sync(): modes are lower case');
SELECT throws_ok(format('SELECT globalsync.start_sync(%L, %L)', :'tap_t1', 'FAC_TAPNONE1'),
    '23503', 'facility "FAC_TAPNONE1" does not exist', 'start_sync() for an unknown facility fails with 23503');
SELECT is_empty(format('SELECT 1 FROM globalsync.sync_log WHERE target_id IN (%L, %L)', :'tap_t1', :'tap_off'),
    'start_sync(): refused syncs leave no sync_log row');

SELECT globalsync.start_sync(:'tap_t1') AS tap_s1 \gset
SELECT matches(:'tap_s1'::text, '^SYN_[A-Z0-9]{12}$', 'start_sync() returns a SYN_ id with 12 characters');
SELECT is(
    (SELECT ROW(target_id, source_facility_id, operation_type, status, record_count, records_failed, bytes_sent,
                sync_completed_at, error_message, dead_letter_id, created_by_user, sync_started_at = now())::text
       FROM globalsync.sync_log WHERE sync_id = :'tap_s1'),
    ROW(:'tap_t1'::text, NULL::text, 'MANUAL_SYNC', 'queued', 0, 0, 0::bigint, NULL::globalsync.ist_timestamp,
        NULL::text, NULL::bigint, session_user::text, true)::text,
    'start_sync(): an incremental sync is queued as MANUAL_SYNC by the session user, nothing sent yet');
SELECT globalsync.start_sync(:'tap_t1', 'FAC_TAPSYNC2', 'full') AS tap_s2 \gset
SELECT is(
    (SELECT ROW(source_facility_id, operation_type, status)::text FROM globalsync.sync_log WHERE sync_id = :'tap_s2'),
    ROW('FAC_TAPSYNC2', 'FULL_SYNC', 'queued')::text,
    'start_sync(mode => full) for a facility is queued as FULL_SYNC of that facility');
SELECT isnt(:'tap_s1'::text, :'tap_s2'::text, 'start_sync() returns a new id each time');
SELECT is(
    (SELECT ROW(target_name, target_kind, facility_id, facility_name, operation_type, status)::text
       FROM globalsync.sync_history WHERE sync_id = :'tap_s2'),
    ROW('TAP file target', 'file', 'FAC_TAPSYNC2', 'TAP Sync Annex', 'FULL_SYNC', 'queued')::text,
    'sync_history shows a queued sync with its target and facility names');

-- ===================================================================
-- sync_status, cancel_sync, wait_sync
-- ===================================================================
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.sync_status('SYN_TAPNONE00001')$$))::text,
    ROW('42704', 'sync "SYN_TAPNONE00001" does not exist', '', 'See globalsync.sync_history.')::text,
    'sync_status() of an unknown sync fails with 42704');
SELECT throws_ok($$SELECT globalsync.sync_status(NULL)$$, '42704', NULL, 'sync_status(NULL) fails with 42704');
SELECT set_eq(
    format('SELECT jsonb_object_keys(globalsync.sync_status(%L))', :'tap_s1'),
    ARRAY['sync_id', 'target_id', 'facility_id', 'operation_type', 'status', 'step', 'total_steps', 'step_name',
          'current_step', 'progress_percentage', 'records_found', 'records_sent', 'records_acknowledged',
          'records_failed', 'bytes_sent', 'started_at', 'completed_at', 'last_updated', 'error'],
    'sync_status() has exactly the documented keys');
SELECT is(
    globalsync.sync_status(:'tap_s1') - 'started_at' - 'last_updated',
    jsonb_build_object('sync_id', :'tap_s1'::text, 'target_id', :'tap_t1'::text, 'facility_id', NULL,
                       'operation_type', 'MANUAL_SYNC', 'status', 'queued', 'step', 0, 'total_steps', 8,
                       'step_name', 'queued', 'current_step', 'waiting for the worker', 'progress_percentage', 0,
                       'records_found', 0, 'records_sent', 0, 'records_acknowledged', 0, 'records_failed', 0,
                       'bytes_sent', 0, 'completed_at', NULL, 'error', NULL),
    'sync_status() of a queued sync: step 0 of 8, waiting for the worker');
SELECT is(
    ((globalsync.sync_status(:'tap_s1') ->> 'started_at')::timestamptz, (globalsync.sync_status(:'tap_s1') ->> 'last_updated')::timestamptz),
    (now(), now()),
    'sync_status(): started_at and last_updated of a queued sync are when it was queued');

SELECT throws_ok($$SELECT globalsync.cancel_sync('SYN_TAPNONE00001')$$,
    '42704', 'sync "SYN_TAPNONE00001" does not exist', 'cancel_sync() of an unknown sync fails with 42704');
SELECT throws_ok($$SELECT globalsync.wait_sync('SYN_TAPNONE00001', '0')$$,
    '42704', 'sync "SYN_TAPNONE00001" does not exist', 'wait_sync() of an unknown sync fails with 42704');
SELECT clock_timestamp() AS tap_wait_from \gset
SELECT is(globalsync.wait_sync(:'tap_s1', '20 milliseconds'), 'queued',
    'wait_sync() returns the current status when the timeout passes first');
SELECT ok(clock_timestamp() - :'tap_wait_from'::timestamptz >= interval '20 milliseconds',
    'wait_sync() waited for its timeout');
SELECT is(globalsync.cancel_sync(:'tap_s1'), true, 'cancel_sync() of a queued sync returns true');
SELECT is(
    (SELECT ROW(status, sync_completed_at = sync_started_at, duration_seconds, error_message)::text
       FROM globalsync.sync_log WHERE sync_id = :'tap_s1'),
    ROW('cancelled', true, 0::double precision, 'cancelled by ' || session_user)::text,
    'cancel_sync(): the sync is cancelled, completed, and says by whom');
SELECT is(
    globalsync.sync_status(:'tap_s1') - 'started_at' - 'last_updated' - 'completed_at',
    jsonb_build_object('sync_id', :'tap_s1'::text, 'target_id', :'tap_t1'::text, 'facility_id', NULL,
                       'operation_type', 'MANUAL_SYNC', 'status', 'cancelled', 'step', 8, 'total_steps', 8,
                       'step_name', 'cancelled', 'current_step', 'cancelled', 'progress_percentage', 0,
                       'records_found', 0, 'records_sent', 0, 'records_acknowledged', 0, 'records_failed', 0,
                       'bytes_sent', 0, 'error', 'cancelled by ' || session_user),
    'sync_status() of a cancelled sync: its sync_log row, step 8 of 8');
SELECT is(globalsync.cancel_sync(:'tap_s1'), false, 'cancel_sync() of a finished sync returns false');
SELECT is(globalsync.wait_sync(:'tap_s1'), 'cancelled', 'wait_sync() of a finished sync returns its status at once');

-- ===================================================================
-- dead letters: replay and discard
-- ===================================================================
-- written here as the worker would, in each status
INSERT INTO globalsync.dead_letters (target_id, sync_id, batch_id, events, event_count, first_event_id, last_event_id,
                                     attempts, error, status, settled_at)
VALUES (:'tap_t1', :'tap_s2', 'tap-batch-dead', '[{"op": "I", "event_id": "1"}]', 1, 1, 1, 5, 'tap: refused', 'dead', NULL)
RETURNING dead_letter_id AS tap_dl_dead \gset
INSERT INTO globalsync.dead_letters (target_id, sync_id, batch_id, events, event_count, attempts, error, status, settled_at)
VALUES (:'tap_t1', :'tap_s2', 'tap-batch-dead2', '[]', 0, 5, 'tap: refused', 'dead', NULL)
RETURNING dead_letter_id AS tap_dl_dead2 \gset
INSERT INTO globalsync.dead_letters (target_id, sync_id, batch_id, events, event_count, attempts, error, status, settled_at)
VALUES (:'tap_t1', :'tap_s2', 'tap-batch-replayed', '[]', 0, 5, 'tap: refused', 'replayed', now())
RETURNING dead_letter_id AS tap_dl_replayed \gset
INSERT INTO globalsync.dead_letters (target_id, sync_id, batch_id, events, event_count, attempts, error, status, settled_at)
VALUES (:'tap_t1', :'tap_s2', 'tap-batch-discarded', '[]', 0, 5, 'tap: refused', 'discarded', now())
RETURNING dead_letter_id AS tap_dl_discarded \gset

SELECT throws_ok($$SELECT globalsync.replay_dead_letter(-1)$$,
    '42704', 'dead letter -1 does not exist', 'replay_dead_letter() of an unknown id fails with 42704');
SELECT throws_ok($$SELECT globalsync.discard_dead_letter(-1)$$,
    '42704', 'dead letter -1 does not exist', 'discard_dead_letter() of an unknown id fails with 42704');
SELECT is(
    (pg_temp.tap_error(format('SELECT globalsync.replay_dead_letter(%s)', :tap_dl_replayed)))::text,
    ROW('55000', format('dead letter %s is replayed, not waiting', :tap_dl_replayed), '',
        'Only dead letters with status dead can be replayed.')::text,
    'replay_dead_letter() of a replayed dead letter fails with 55000');
SELECT throws_ok(format('SELECT globalsync.replay_dead_letter(%s)', :tap_dl_discarded),
    '55000', format('dead letter %s is discarded, not waiting', :tap_dl_discarded),
    'replay_dead_letter() of a discarded dead letter fails with 55000');
SELECT is(globalsync.discard_dead_letter(:tap_dl_replayed), false,
    'discard_dead_letter() of a replayed dead letter returns false (it was not waiting)');
SELECT is(globalsync.discard_dead_letter(:tap_dl_discarded), false,
    'discard_dead_letter() of a discarded dead letter returns false');

SELECT globalsync.replay_dead_letter(:tap_dl_dead) AS tap_retry \gset
SELECT matches(:'tap_retry'::text, '^SYN_[A-Z0-9]{12}$', 'replay_dead_letter() returns the SYN_ id of the replay');
SELECT is(
    (SELECT ROW(target_id, operation_type, status, dead_letter_id, source_facility_id, created_by_user)::text
       FROM globalsync.sync_log WHERE sync_id = :'tap_retry'),
    ROW(:'tap_t1'::text, 'RETRY', 'queued', :tap_dl_dead::bigint, NULL::text, session_user::text)::text,
    'replay_dead_letter(): a RETRY sync of the dead letter''s target is queued');
SELECT is(
    (SELECT ROW(status, replay_sync_id, settled_at)::text FROM globalsync.dead_letters WHERE dead_letter_id = :tap_dl_dead),
    ROW('queued', :'tap_retry'::text, NULL::timestamptz)::text,
    'replay_dead_letter(): the dead letter is queued for that sync, not settled yet');
SELECT throws_ok(format('SELECT globalsync.replay_dead_letter(%s)', :tap_dl_dead),
    '55000', format('dead letter %s is queued, not waiting', :tap_dl_dead),
    'replay_dead_letter() of a dead letter already queued fails with 55000');
SELECT is(globalsync.discard_dead_letter(:tap_dl_dead), false,
    'discard_dead_letter() of a queued dead letter returns false and leaves it queued');
SELECT is(globalsync.cancel_sync(:'tap_retry'), true, 'cancel_sync() of the queued RETRY returns true');
SELECT is(
    (SELECT ROW(status, replay_sync_id)::text FROM globalsync.dead_letters WHERE dead_letter_id = :tap_dl_dead),
    ROW('dead', NULL::text)::text,
    'cancel_sync() of a RETRY puts its dead letter back to dead');
SELECT is(globalsync.discard_dead_letter(:tap_dl_dead2), true, 'discard_dead_letter() of a dead letter returns true');
SELECT is(
    (SELECT ROW(status, settled_at = now(), replay_sync_id)::text FROM globalsync.dead_letters WHERE dead_letter_id = :tap_dl_dead2),
    ROW('discarded', true, NULL::text)::text,
    'discard_dead_letter(): the dead letter is discarded and settled');
SELECT is(
    (SELECT ARRAY[o.dead_letters, o.queued_syncs, h.dead_letters]
       FROM globalsync.dashboard_overview o, globalsync.target_health h WHERE h.target_id = :'tap_t1'),
    ARRAY[(SELECT count(*) FROM globalsync.dead_letters WHERE status IN ('dead', 'queued')),
          (SELECT count(*) FROM globalsync.sync_log WHERE status = 'queued'),
          1],
    'dashboard_overview and target_health count the dead letters still waiting (not the settled ones)');

-- ===================================================================
-- remove_target
-- ===================================================================
INSERT INTO globalsync.deliveries (target_id, sync_id, facility_id, events, lag_seconds)
    VALUES (:'tap_t1', :'tap_s2', 'FAC_TAPSYNC1', 3, 0.25);
SELECT is(globalsync.remove_target('TGT_TAPNONE1'), false, 'remove_target() of an unknown target returns false');
SELECT is(globalsync.remove_target(:'tap_t1'), true, 'remove_target() returns true');
SELECT is(
    ARRAY[(SELECT count(*) FROM globalsync.targets WHERE target_id = :'tap_t1'),
          (SELECT count(*) FROM globalsync.target_state WHERE target_id = :'tap_t1'),
          (SELECT count(*) FROM globalsync.sync_log WHERE target_id = :'tap_t1'),
          (SELECT count(*) FROM globalsync.dead_letters WHERE target_id = :'tap_t1'),
          (SELECT count(*) FROM globalsync.deliveries WHERE target_id = :'tap_t1')],
    ARRAY[0, 0, 0, 0, 0]::bigint[],
    'remove_target(): the target goes with its state, history, dead letters and delivery statistics');
SELECT is_empty(format('SELECT 1 FROM globalsync.consumers WHERE consumer = %L', 'target:' || :'tap_t1'),
    'remove_target(): consumer target:<id> is unregistered (the log stops waiting for it)');
SELECT isnt_empty(format('SELECT 1 FROM globalsync.consumers WHERE consumer = %L', 'target:' || :'tap_t2'),
    'remove_target(): other targets keep their consumers');
SELECT is(globalsync.remove_target(:'tap_t1'), false, 'remove_target() of a removed target returns false');

-- ===================================================================
-- snapshot_row: a row exactly as capture logs it
-- ===================================================================
INSERT INTO tap_sync.people VALUES
    (1, 'Asha Rao', 'not for targets', '123-45-6789', 'FAC_TAPSYNC1'),
    (2, 'Ravi Iyer', NULL, NULL, 'FAC_TAPSYNC2'),
    (3, 'Meera Das', 'x', '987-65-4321', NULL);
CREATE TEMP VIEW tap_logged AS
    SELECT l.event_id, l.table_name, l.op, l.pk, l.row_data, l.facility_id
      FROM globalsync.change_log l WHERE l.xid = pg_current_xact_id();
SELECT set_eq(
    $$SELECT s -> 'pk' AS pk, s -> 'row' AS row_data, s ->> 'facility_id' AS facility_id
        FROM tap_sync.people p, globalsync.snapshot_row('tap_sync.people', p) s$$,
    $$SELECT pk, row_data, facility_id FROM tap_logged WHERE table_name = 'tap_sync.people' AND op = 'I'$$,
    'snapshot_row() of each inserted row equals the pk, row and facility_id capture logged for it');
SELECT is(
    (SELECT globalsync.snapshot_row('tap_sync.people', p) FROM tap_sync.people p WHERE id = 1),
    (SELECT jsonb_build_object('pk', pk, 'row', row_data, 'facility_id', facility_id)
       FROM tap_logged WHERE table_name = 'tap_sync.people' AND op = 'I' AND pk = '{"id": 1}'),
    'snapshot_row() is exactly {pk, row, facility_id} as logged');
SELECT is(
    (SELECT ARRAY[s -> 'row' ? 'note', s #>> '{row,ssn}' ~ '^[0-9a-f]{64}$', s #>> '{row,ssn}' = '123-45-6789']
       FROM tap_sync.people p, globalsync.snapshot_row('tap_sync.people', p) s WHERE p.id = 1),
    ARRAY[false, true, false],
    'snapshot_row(): the excluded column is left out, the masked one is a 64-hex-digit hash, not the value');
SELECT is(
    (SELECT s FROM tap_sync.people p, globalsync.snapshot_row('tap_sync.people', p) s WHERE p.id = 3),
    ('{"pk": {"id": 3}, "row": {"id": 3, "ssn": "' || (SELECT row_data ->> 'ssn' FROM tap_logged WHERE pk = '{"id": 3}' AND op = 'I')
        || '", "name": "Meera Das", "facility_id": null}, "facility_id": null}')::jsonb,
    'snapshot_row(): a row without a facility has facility_id null');
UPDATE tap_sync.people SET name = 'Asha R. Rao', ssn = '111-22-3333', note = 'changed' WHERE id = 1;
SELECT is(
    (SELECT globalsync.snapshot_row('tap_sync.people', p) -> 'row' FROM tap_sync.people p WHERE id = 1),
    (SELECT row_data FROM tap_logged WHERE table_name = 'tap_sync.people' AND op = 'U' AND pk = '{"id": 1}'),
    'snapshot_row() after an UPDATE equals the new row capture logged (masked value rehashed)');
SELECT patient_id AS tap_patient
  FROM globalsync.register_patient('TAP Snapshot Patient', '1990-01-01', '+91 98765 43210', 'tap@example.org',
                                   'FAC_TAPSYNC1', 'America/New_York', '2025-10-10 09:30:00') \gset
SELECT is(
    (SELECT globalsync.snapshot_row('globalsync.patient_registrations', r)
       FROM globalsync.patient_registrations r WHERE patient_id = :'tap_patient'),
    (SELECT jsonb_build_object('pk', pk, 'row', row_data, 'facility_id', facility_id)
       FROM tap_logged WHERE table_name = 'globalsync.patient_registrations' AND op = 'I'
        AND row_data ->> 'patient_name' = 'TAP Snapshot Patient'),
    'snapshot_row() of a patient registration (zoned and IST times, generated columns) equals what capture logged');
INSERT INTO tap_sync.plain VALUES (1);
SELECT is(
    (pg_temp.tap_error($$SELECT globalsync.snapshot_row('tap_sync.plain', p) FROM tap_sync.plain p$$))::text,
    ROW('55000', 'table "plain" is not tracked', '', 'Track it with globalsync.track().')::text,
    'snapshot_row() of a table that is not tracked fails with 55000');
INSERT INTO tap_sync.visits (site, n, facility_id, note) VALUES ('v', 1, 'FAC_TAPSYNC1', 'first visit');
SELECT throws_ok($$SELECT globalsync.snapshot_row('tap_sync.people', v) FROM tap_sync.visits v$$,
    '42804', 'the row passed to snapshot_row() is not a row of "people"',
    'snapshot_row() of a row of another table fails with 42804');
DELETE FROM tap_sync.visits;

-- ===================================================================
-- snapshot_chunk: primary key paging, composite keys, facilities
-- ===================================================================
INSERT INTO tap_sync.people VALUES (10, 'Kiran Shah', NULL, NULL, 'FAC_TAPSYNC1'), (20, 'Lata Rao', NULL, NULL, 'FAC_TAPSYNC2');
-- people now has ids 1, 2, 3, 10, 20 (10 after 3: key order, not text order)
SELECT results_eq(
    $$SELECT pk_values FROM globalsync.snapshot_chunk('tap_sync.people', NULL, 2)$$,
    $$VALUES ('{1}'::text[]), ('{2}')$$,
    'snapshot_chunk(): the first chunk is the first max_rows keys');
SELECT results_eq(
    $$SELECT pk_values FROM globalsync.snapshot_chunk('tap_sync.people', '{2}', 2)$$,
    $$VALUES ('{3}'::text[]), ('{10}')$$,
    'snapshot_chunk(): the next chunk starts after the given key, in key order (10 after 3)');
SELECT results_eq(
    $$SELECT pk_values FROM globalsync.snapshot_chunk('tap_sync.people', '{10}', 2)$$,
    $$VALUES ('{20}'::text[])$$,
    'snapshot_chunk(): the last chunk is short');
SELECT is_empty($$SELECT * FROM globalsync.snapshot_chunk('tap_sync.people', '{20}', 2)$$,
    'snapshot_chunk() after the last key returns nothing');
SELECT is_empty($$SELECT * FROM globalsync.snapshot_chunk('tap_sync.people', '{5}', 0)$$,
    'snapshot_chunk() of 0 rows returns nothing');
SELECT results_eq(
    $$SELECT pk_values FROM globalsync.snapshot_chunk('tap_sync.people', '{4}', 10)$$,
    $$VALUES ('{10}'::text[]), ('{20}')$$,
    'snapshot_chunk(): the key after which to start need not exist');
SELECT set_eq(
    $$SELECT c.line::jsonb FROM globalsync.snapshot_chunk('tap_sync.people', NULL, 100) c$$,
    $$SELECT '{"table": "tap_sync.people", "op": "R"}'::jsonb || globalsync.snapshot_row('tap_sync.people', p)
        FROM tap_sync.people p$$,
    'snapshot_chunk(): each line is {"table", "op": "R"} and the row''s snapshot_row()');
SELECT is_empty($$SELECT * FROM globalsync.snapshot_chunk('tap_sync."Odd Name"', NULL, 1)$$,
    'snapshot_chunk() of an empty table returns nothing');
INSERT INTO tap_sync."Odd Name" VALUES (1, 'one');
SELECT is(
    (SELECT c.line::jsonb FROM globalsync.snapshot_chunk('tap_sync."Odd Name"', NULL, 1) c),
    '{"table": "tap_sync.\"Odd Name\"", "op": "R", "pk": {"k": 1}, "row": {"k": 1, "v": "one"}, "facility_id": null}'::jsonb,
    'snapshot_chunk(): the table is named as the change log names it (quoted as needed)');
-- a composite key (text, integer)
INSERT INTO tap_sync.visits (site, n, facility_id, note)
SELECT s, n, CASE WHEN n % 2 = 0 THEN 'FAC_TAPSYNC1' ELSE 'FAC_TAPSYNC2' END, s || n
  FROM unnest(ARRAY['a', 'b', 'c']) s, unnest(ARRAY[1, 2, 10]) n;
-- the spelling of option tables is the change log's: a target of the
-- tables just written names them exactly as their events do
SELECT set_eq(
    format($$SELECT jsonb_array_elements_text(options -> 'tables') FROM globalsync.targets WHERE target_id = %L$$,
           globalsync.add_target('tap spelling target', 'file', 'tap/spelling',
                                 '{"tables": ["tap_sync.people", "tap_sync.visits", "tap_sync.\"Odd Name\""]}')),
    $$SELECT DISTINCT table_name FROM tap_logged WHERE table_name LIKE 'tap\_sync.%'$$,
    'add_target(): option tables names each table exactly as change_log.table_name does');
SELECT results_eq(
    $$SELECT pk_values FROM globalsync.snapshot_chunk('tap_sync.visits', NULL, 4)$$,
    $$VALUES ('{a,1}'::text[]), ('{a,2}'), ('{a,10}'), ('{b,1}')$$,
    'snapshot_chunk() of a composite key: ordered by the whole key, each column by its type');
SELECT results_eq(
    $$SELECT pk_values FROM globalsync.snapshot_chunk('tap_sync.visits', '{a,2}', 3)$$,
    $$VALUES ('{a,10}'::text[]), ('{b,1}'), ('{b,2}')$$,
    'snapshot_chunk() of a composite key continues after the key as a whole (a,10 before b,1)');
SELECT results_eq(
    $$SELECT pk_values FROM globalsync.snapshot_chunk('tap_sync.visits', '{b,10}', 10)$$,
    $$VALUES ('{c,1}'::text[]), ('{c,2}'), ('{c,10}')$$,
    'snapshot_chunk() of a composite key: the last page');
SELECT results_eq(
    $$SELECT array_to_string(k, ':') FROM pg_temp.tap_all_pages('tap_sync.visits', 2, NULL) k$$,
    $$SELECT site || ':' || n FROM tap_sync.visits ORDER BY site, n$$,
    'snapshot_chunk(): paging by the last key of each chunk (as a full sync does) returns every row once, in key order');
SELECT results_eq(
    $$SELECT array_to_string(k, ':') FROM pg_temp.tap_all_pages('tap_sync.visits', 2, ARRAY['FAC_TAPSYNC2']) k$$,
    $$SELECT site || ':' || n FROM tap_sync.visits WHERE facility_id = 'FAC_TAPSYNC2' ORDER BY site, n$$,
    'snapshot_chunk(): paging with a facility filter returns every row of the facility once, in key order');
-- the facility filter
SELECT results_eq(
    $$SELECT pk_values, line::jsonb ->> 'facility_id'
        FROM globalsync.snapshot_chunk('tap_sync.visits', NULL, 10, ARRAY['FAC_TAPSYNC1'])$$,
    $$VALUES ('{a,2}'::text[], 'FAC_TAPSYNC1'), ('{a,10}', 'FAC_TAPSYNC1'), ('{b,2}', 'FAC_TAPSYNC1'),
             ('{b,10}', 'FAC_TAPSYNC1'), ('{c,2}', 'FAC_TAPSYNC1'), ('{c,10}', 'FAC_TAPSYNC1')$$,
    'snapshot_chunk() with facilities returns only those facilities'' rows, in key order');
SELECT results_eq(
    $$SELECT pk_values FROM globalsync.snapshot_chunk('tap_sync.visits', '{a,2}', 1, ARRAY['FAC_TAPSYNC2'])$$,
    $$VALUES ('{b,1}'::text[])$$,
    'snapshot_chunk() with facilities pages after the given key');
SELECT results_eq(
    $$SELECT count(*)::int FROM globalsync.snapshot_chunk('tap_sync.visits', NULL, 100, ARRAY['FAC_TAPSYNC1', 'FAC_TAPSYNC2'])$$,
    $$VALUES (9)$$,
    'snapshot_chunk() with several facilities returns the rows of each');
SELECT is_empty($$SELECT * FROM globalsync.snapshot_chunk('tap_sync.visits', NULL, 100, ARRAY['FAC_TAPNONE1'])$$,
    'snapshot_chunk() with a facility that has no rows returns nothing');
SELECT results_eq(
    $$SELECT pk_values FROM globalsync.snapshot_chunk('tap_sync.people', NULL, 100, ARRAY['FAC_TAPSYNC2'])$$,
    $$VALUES ('{2}'::text[]), ('{20}')$$,
    'snapshot_chunk() with facilities leaves out rows without a facility');
SELECT is_empty($$SELECT * FROM globalsync.snapshot_chunk('tap_sync."Odd Name"', NULL, 100, ARRAY['FAC_TAPSYNC1'])$$,
    'snapshot_chunk() with facilities of a table without facility_id returns nothing');
SELECT results_eq(
    $$SELECT pk_values FROM globalsync.snapshot_chunk('tap_sync."Odd Name"', NULL, 100)$$,
    $$VALUES ('{1}'::text[])$$,
    'snapshot_chunk() without facilities of a table without facility_id returns its rows');
SELECT throws_ok($$SELECT * FROM globalsync.snapshot_chunk('tap_sync.no_key', NULL, 10)$$,
    '55000', 'table tap_sync.no_key has no primary key', 'snapshot_chunk() of a table without a primary key fails with 55000');

-- ===================================================================
-- http: what review found (a host-less URL, fractional or huge numbers,
-- switching off a target whose host is no longer allowed)
-- ===================================================================
SET LOCAL globalsync.allowed_hosts = '';
SELECT throws_ok($$SELECT globalsync.validate_target_kind('http', 'http:///hooks/globalsync', '{}')$$,
    '22023', 'invalid endpoint for an http target', 'http:///path (no host) is refused, not read as host "hooks"');
SELECT throws_ok($$SELECT globalsync.validate_target_kind('http', 'http://127.0.0.1/h', '{"timeout_ms": 1e30}')$$,
    '22023', 'invalid option "timeout_ms" for an http target', 'a huge timeout_ms fails with 22023, not an overflow');
SELECT throws_ok($$SELECT globalsync.validate_target_kind('http', 'http://127.0.0.1/h', '{"timeout_ms": 100.4}')$$,
    '22023', 'invalid option "timeout_ms" for an http target', 'a fractional timeout_ms is refused, not rounded');
SELECT globalsync.add_target('tap http later disallowed', 'http', 'http://127.0.0.1:9/h') AS tap_hd \gset
SET LOCAL globalsync.allowed_hosts = 'receiver.example.org';
SELECT lives_ok(format('SELECT globalsync.alter_target(%L, is_active => false)', :'tap_hd'),
    'alter_target(): a target whose host has left allowed_hosts can still be switched off');
SELECT throws_ok(format('SELECT globalsync.alter_target(%L, is_active => true)', :'tap_hd'),
    '42501', NULL, 'alter_target(): ... but not switched on again');
SET LOCAL globalsync.allowed_hosts = '';

SELECT * FROM finish();
ROLLBACK;
