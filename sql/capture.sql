--
-- change capture: the C trigger, tracking, ticks, batches, rotation
--
SET search_path = public, globalsync;
\set SHOW_CONTEXT never
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'UTC';

-- patient_registrations is tracked from CREATE EXTENSION on
SELECT table_name, exclude_columns, mask_columns, primary_key, has_facility_id FROM tracked_tables;

-- a view over the log that hides what varies between runs
CREATE FUNCTION pg_temp.events(tbl text) RETURNS TABLE (op "char", pk jsonb, row_data jsonb, changed_columns text[], old_values jsonb, facility_id text)
LANGUAGE sql AS $$
    SELECT l.op, l.pk, l.row_data, l.changed_columns, l.old_values, l.facility_id
      FROM globalsync.change_log l WHERE l.table_name = tbl ORDER BY l.event_id
$$;

CREATE TABLE public.visits (
    visit_id    integer,
    site        text,
    facility_id text,
    notes       text,
    vitals      jsonb,
    tags        text[],
    seen_local  timestamp,
    seen_at     timestamptz,
    seen_ist    ist_timestamp,
    seen_zoned  zoned_timestamp,
    amount      numeric,
    score       float8,
    active      boolean,
    ssn         text,
    internal    text,
    PRIMARY KEY (visit_id, site)
);
SELECT track('public.visits', exclude_columns => '{internal}', mask_columns => '{ssn}');
SELECT table_name, exclude_columns, mask_columns, primary_key, has_facility_id FROM tracked_tables ORDER BY 1;

-- INSERT: composite key, all column kinds, NULLs, excluded and masked columns
INSERT INTO visits VALUES
    (1, 'north', 'FAC_0000AAAA', 'first visit', '{"bp": [120, 80], "pulse": 72}', '{a,b}',
     '2025-10-10 09:30:00', '2025-10-10 13:30:00+00', '2025-10-10 09:30:00 America/New_York',
     '2025-10-10 09:30:00 America/New_York', 12.50, 36.6, true, '123-45-6789', 'do not ship'),
    (2, 'south', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'NaN', NULL, NULL, NULL);
SELECT op, pk, row_data - 'ssn' AS row_data, facility_id,
       row_data ? 'internal' AS has_excluded,
       length(row_data->>'ssn') AS ssn_hash_length,
       row_data->>'ssn' = '123-45-6789' AS ssn_in_clear
  FROM pg_temp.events('public.visits');
-- the mask is a keyed hash: same value, same hash, so targets can join on it
INSERT INTO visits (visit_id, site, ssn) VALUES (3, 'north', '123-45-6789'), (4, 'north', '999-99-9999');
SELECT count(DISTINCT row_data->>'ssn') AS distinct_hashes, count(*) AS rows
  FROM change_log WHERE table_name = 'public.visits' AND row_data->>'ssn' IS NOT NULL;
SELECT (SELECT row_data->>'ssn' FROM change_log WHERE pk = '{"site": "north", "visit_id": 1}' AND op = 'I')
     = (SELECT row_data->>'ssn' FROM change_log WHERE pk = '{"site": "north", "visit_id": 3}' AND op = 'I') AS same_value_same_hash;
-- the key is readable only by the owner
SELECT has_table_privilege('globalsync_admin', 'globalsync.capture_secrets', 'SELECT') AS admin_reads_key;

-- UPDATE: changed columns and their old values only
DELETE FROM change_log_0; DELETE FROM change_log_1; DELETE FROM change_log_2;
UPDATE visits SET notes = 'second visit', score = 37.1 WHERE visit_id = 1;
UPDATE visits SET ssn = '111-11-1111' WHERE visit_id = 1;
-- no-op updates and updates of excluded columns log nothing
UPDATE visits SET notes = notes WHERE visit_id = 1;
UPDATE visits SET internal = 'changed' WHERE visit_id = 1;
UPDATE visits SET vitals = '{"pulse": 72, "bp": [120, 80]}' WHERE visit_id = 1;
SELECT op, pk, changed_columns, old_values - 'ssn' AS old_values, length(old_values->>'ssn') AS old_ssn_hash
  FROM pg_temp.events('public.visits');
-- primary key change
UPDATE visits SET visit_id = 10 WHERE visit_id = 2;
SELECT op, pk, changed_columns, old_values FROM pg_temp.events('public.visits') WHERE 'visit_id' = ANY (changed_columns);

-- DELETE: key and facility, no row
DELETE FROM visits WHERE visit_id = 10;
DELETE FROM visits WHERE visit_id = 1 RETURNING visit_id;
SELECT op, pk, row_data, facility_id FROM pg_temp.events('public.visits') WHERE op = 'D';

-- TOASTed values: full value in the log, also when an UPDATE leaves it alone
DELETE FROM change_log_0; DELETE FROM change_log_1; DELETE FROM change_log_2;
INSERT INTO visits (visit_id, site, notes) VALUES (20, 'toast', repeat('0123456789', 20000));
UPDATE visits SET score = 1 WHERE visit_id = 20;
UPDATE visits SET notes = repeat('0123456789', 20000) WHERE visit_id = 20;
UPDATE visits SET notes = repeat('9876543210', 20000) WHERE visit_id = 20;
SELECT op, changed_columns, length(row_data->>'notes') AS notes_length,
       md5(row_data->>'notes') = md5(repeat('0123456789', 20000)) AS first_value,
       length(old_values->>'notes') AS old_notes_length
  FROM pg_temp.events('public.visits');

-- rollback and savepoint rollback leave nothing
DELETE FROM change_log_0; DELETE FROM change_log_1; DELETE FROM change_log_2;
BEGIN;
INSERT INTO visits (visit_id, site) VALUES (30, 'rolled back');
ROLLBACK;
BEGIN;
INSERT INTO visits (visit_id, site) VALUES (31, 'kept');
SAVEPOINT s1;
INSERT INTO visits (visit_id, site) VALUES (32, 'savepoint rolled back');
UPDATE visits SET notes = 'gone' WHERE visit_id = 31;
ROLLBACK TO s1;
INSERT INTO visits (visit_id, site) VALUES (33, 'kept too');
COMMIT;
SELECT op, pk, row_data->>'notes' AS notes FROM pg_temp.events('public.visits');

-- COPY into a tracked table
DELETE FROM change_log_0; DELETE FROM change_log_1; DELETE FROM change_log_2;
COPY visits (visit_id, site, notes) FROM stdin;
40	copy	from copy
41	copy	\N
\.
SELECT op, pk, row_data->>'notes' AS notes FROM pg_temp.events('public.visits');

-- ALTER TABLE between statements: the cached layout follows
DELETE FROM change_log_0; DELETE FROM change_log_1; DELETE FROM change_log_2;
ALTER TABLE visits ADD COLUMN weight_kg numeric;
INSERT INTO visits (visit_id, site, weight_kg) VALUES (50, 'alter', 71.5);
ALTER TABLE visits DROP COLUMN tags;
UPDATE visits SET weight_kg = 72 WHERE visit_id = 50;
ALTER TABLE visits RENAME COLUMN notes TO remarks;
UPDATE visits SET remarks = 'renamed' WHERE visit_id = 50;
SELECT op, row_data ? 'tags' AS has_tags, row_data->'weight_kg' AS weight, row_data ? 'remarks' AS has_remarks,
       changed_columns, old_values
  FROM pg_temp.events('public.visits');

-- a renamed masked column stays masked (track() names columns by number)
DELETE FROM change_log_0; DELETE FROM change_log_1; DELETE FROM change_log_2;
ALTER TABLE visits RENAME COLUMN ssn TO national_id;
INSERT INTO visits (visit_id, site, national_id) VALUES (51, 'alter', '123-45-6789');
SELECT length(row_data->>'national_id') AS hash_length, row_data->>'national_id' = '123-45-6789' AS in_clear
  FROM pg_temp.events('public.visits');
SELECT exclude_columns, mask_columns FROM tracked_tables WHERE table_name = 'public.visits'::regclass;

-- a masked facility_id is masked in the event's facility_id too
CREATE TABLE public.masked_fac (id int PRIMARY KEY, facility_id text);
SELECT track('public.masked_fac', mask_columns => '{facility_id}');
INSERT INTO public.masked_fac VALUES (1, 'FAC_SECRET01');
SELECT length(facility_id) AS facility_hash_length, facility_id = row_data->>'facility_id' AS same_hash
  FROM pg_temp.events('public.masked_fac');
DROP TABLE public.masked_fac;

-- TRUNCATE is one event
DELETE FROM change_log_0; DELETE FROM change_log_1; DELETE FROM change_log_2;
TRUNCATE visits;
SELECT op, pk, row_data FROM pg_temp.events('public.visits');

-- capture off: superusers (and replication roles) only
SET globalsync.capture = off;
INSERT INTO visits (visit_id, site) VALUES (60, 'not captured');
RESET globalsync.capture;
INSERT INTO visits (visit_id, site) VALUES (61, 'captured');
SELECT op, pk FROM pg_temp.events('public.visits');
CREATE ROLE capture_test_user;
GRANT globalsync_operator TO capture_test_user;
GRANT ALL ON visits TO capture_test_user;
SET ROLE capture_test_user;
SET globalsync.capture = off;
-- an ordinary user's changes are captured without any right on the log
INSERT INTO visits (visit_id, site) VALUES (62, 'by a user');
SELECT count(*) FROM globalsync.change_log;
RESET ROLE;
SELECT op, pk FROM pg_temp.events('public.visits') WHERE pk->>'visit_id' = '62';

-- errors: no primary key, not a table, unknown or key columns, trigger misuse
CREATE TABLE public.no_pk (a int, b text);
SELECT track('public.no_pk');
CREATE VIEW public.a_view AS SELECT 1 AS x;
SELECT track('public.a_view');
SELECT track('public.visits', exclude_columns => '{nope}');
SELECT track('public.visits', exclude_columns => '{visit_id}');
SELECT track('public.visits', exclude_columns => '{national_id}', mask_columns => '{national_id}');
SELECT track('globalsync.change_log');
SELECT track('public.missing_table');
-- tracking needs the right to create triggers on the table (its owner) and globalsync_admin
SET ROLE capture_test_user;
SELECT track('public.visits');
RESET ROLE;
GRANT globalsync_admin TO capture_test_user;
SET ROLE capture_test_user;
SELECT track('public.visits');
RESET ROLE;
CREATE TABLE public.before_trig (id int PRIMARY KEY);
CREATE TRIGGER wrong BEFORE INSERT ON public.before_trig FOR EACH ROW EXECUTE FUNCTION globalsync.capture_trigger();
INSERT INTO public.before_trig VALUES (1);
SELECT globalsync.capture_trigger();

-- untrack: later changes are not logged
SELECT untrack('public.visits');
SELECT untrack('public.visits');
INSERT INTO visits (visit_id, site) VALUES (70, 'untracked');
SELECT count(*) AS events_after_untrack FROM change_log WHERE pk->>'visit_id' = '70';
SELECT count(*) AS tracked FROM tracked_tables WHERE table_name = 'public.visits'::regclass;

-- ticks and batches: one batch per tick range, returned again until finished
CREATE TABLE public.orders (id int PRIMARY KEY, item text);
SELECT track('public.orders');
SELECT register_consumer('regress') > 0 AS registered;
SELECT register_consumer('regress') = (SELECT last_tick FROM consumers WHERE consumer = 'regress') AS idempotent;
INSERT INTO orders VALUES (1, 'a'), (2, 'b');
SELECT tick() > 0 AS ticked;
INSERT INTO orders VALUES (3, 'c');
UPDATE orders SET item = 'B' WHERE id = 2;
SELECT tick() > 0 AS ticked;
CREATE TEMP TABLE b AS SELECT * FROM next_batch('regress');
SELECT (SELECT batch_id FROM next_batch('regress')) = (SELECT batch_id FROM b) AS same_batch_again;
SELECT op, pk, row_data->>'item' AS item FROM batch_events((SELECT batch_id FROM b)) ORDER BY event_id;
-- paging
SELECT count(*) AS first_page FROM batch_events((SELECT batch_id FROM b), 0, 1);
SELECT count(*) AS second_page FROM batch_events((SELECT batch_id FROM b),
    (SELECT event_id FROM batch_events((SELECT batch_id FROM b), 0, 1)), 1);
SELECT finish_batch((SELECT batch_id FROM b)) AS finished, finish_batch((SELECT batch_id FROM b)) AS again;
SELECT batch_events((SELECT batch_id FROM b));
DROP TABLE b;
CREATE TEMP TABLE b AS SELECT * FROM next_batch('regress');
SELECT op, pk, row_data->>'item' AS item, changed_columns FROM batch_events((SELECT batch_id FROM b)) ORDER BY event_id;
SELECT finish_batch((SELECT batch_id FROM b));
SELECT batch_id IS NULL AS nothing_more FROM next_batch('regress');
SELECT next_batch('nobody');
-- ticks take turns and need READ COMMITTED, so they are in snapshot order
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT tick();
ROLLBACK;
-- a batch opened by a statement can be read by the same statement
INSERT INTO orders VALUES (5, 'e');
SELECT tick() > 0 AS ticked;
SELECT count(*) AS events_in_fresh_batch FROM next_batch('regress') b, batch_events(b.batch_id) e;
SELECT finish_batch(batch_id) FROM next_batch('regress');
SELECT register_consumer('bad name!');
SELECT kind, table_name, op, events FROM capture_stats WHERE kind = 'events' AND table_name = 'public.orders' ORDER BY op;
SELECT kind, consumer, events AS pending FROM capture_stats WHERE kind = 'pending';

-- rotation: switch, record, truncate once the consumer is past; never DELETE
UPDATE capture_state SET rotate_interval = '1 microsecond';
SELECT generation AS generation_before FROM capture_state;
SELECT maintain_log() LIKE 'switched to slot %' AS switched;
INSERT INTO orders VALUES (4, 'after switch');
SELECT maintain_log() AS step;
SELECT maintain_log() AS step;
SELECT tick() > 0 AS ticked;
CREATE TEMP TABLE b2 AS SELECT * FROM next_batch('regress');
SELECT op, pk FROM batch_events((SELECT batch_id FROM b2));
SELECT finish_batch((SELECT batch_id FROM b2));
SELECT tick() > 0 AS ticked;
SELECT finish_batch(batch_id) FROM next_batch('regress');
SELECT maintain_log() LIKE 'truncated slot %' AS truncated;
SELECT (SELECT count(*) FROM change_log WHERE table_name = 'public.orders') AS orders_events_left,
       (SELECT count(*) FROM change_log WHERE slot <> (SELECT generation % 3 FROM capture_state)) AS events_in_other_slots;
SELECT unregister_consumer('regress'), unregister_consumer('regress');
UPDATE capture_state SET rotate_interval = '10 minutes';

DROP TABLE public.visits, public.no_pk, public.orders, public.before_trig;
DROP VIEW public.a_view;
REVOKE ALL ON SCHEMA public FROM capture_test_user;
DROP ROLE capture_test_user;
