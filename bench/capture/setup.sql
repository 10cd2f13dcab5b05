-- bench/capture/setup.sql: the tables, triggers and reset step of the
-- change capture benchmark.
--
-- Run once by bench/capture/run.sh with psql variables rows (prefill size),
-- checks (on/off: copy the CHECK constraints of patient_registrations) and
-- pgq (on/off: PgQ is installed).  Everything of the benchmark lives in
-- schema bench of a database made for it; configuration (c) also uses the
-- pgq extension's queue 'bench' and (d) globalsync's own change log.
--
-- The four configurations, all AFTER ROW triggers on the same table:
--   none        no trigger
--   plpgsql     PL/pgSQL writing to_jsonb(NEW)/to_jsonb(OLD) into an audit
--               table (bigserial id, timestamptz; supa_audit style)
--   pgq         PgQ's C trigger pgq.logutriga('bench')
--   globalsync  globalsync.track('bench.patients')

\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE EXTENSION IF NOT EXISTS globalsync;
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;

-- One row per timed run; report.sql reads it.
CREATE TABLE bench.sample (
    rep         int NOT NULL,
    config      text NOT NULL,
    op          text NOT NULL,
    sync_commit text NOT NULL,
    seconds     int NOT NULL,
    tps         float8 NOT NULL,
    txns        bigint NOT NULL,
    failed      bigint NOT NULL DEFAULT 0,
    wal_bytes   numeric NOT NULL,
    log_bytes   bigint,             -- size of the log relations after the run
    log_rows    bigint,             -- events in the log after the run
    cpu_seconds float8,             -- CPU time of the server and pgbench
    other_cores float8              -- cores busy with other work meanwhile
);

-- The prefill, made once and copied into a fresh table before every run.
-- Deterministic: every run and every configuration starts from the same
-- rows.  patient_id 'PAT_' + 12 digits (1..rows), so pgbench can pick a
-- random existing row; inserted rows use 'PAT_N' + digits and never clash.
CREATE TABLE bench.seed AS
SELECT 'PAT_' || lpad(i::text, 12, '0') AS patient_id,
       'REG_' || lpad(i::text, 12, '0') AS registration_id,
       'Patient ' || i AS patient_name,
       date '1950-01-01' + (i * 7919 % 25000) AS date_of_birth,
       '+91 98' || lpad((i::bigint * 104729 % 100000000)::text, 8, '0') AS contact_number,
       CASE WHEN i % 5 = 0 THEN NULL ELSE 'patient' || i || '@example.org' END AS email,
       'FAC_' || lpad((i % 20)::text, 8, '0') AS facility_id,
       globalsync.make_zoned(timestamp '2025-01-01' + (i::bigint * 331 % 31536000) * interval '1 second',
                             (ARRAY['Asia/Kolkata', 'America/New_York', 'Europe/London',
                                    'Asia/Tokyo', 'Australia/Sydney'])[1 + i % 5]) AS registered_at
FROM generate_series(1, :rows) AS i;

-- The audit table of configuration (b), as supa_audit's record_version
-- minus its uuid record ids: bigserial id, timestamptz, table identity and
-- the rows as jsonb.
CREATE TABLE bench.audit (
    id           bigserial PRIMARY KEY,
    op           text NOT NULL,
    ts           timestamptz NOT NULL DEFAULT now(),
    table_oid    oid NOT NULL,
    table_schema name NOT NULL,
    table_name   name NOT NULL,
    record       jsonb,
    old_record   jsonb
);

CREATE FUNCTION bench.audit_trigger()
    RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO bench.audit (op, table_oid, table_schema, table_name, record, old_record)
    VALUES (TG_OP, TG_RELID, TG_TABLE_SCHEMA, TG_TABLE_NAME,
            CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END,
            CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END);
    RETURN NULL;
END
$$;

-- PgQ's queue for configuration (c).
SELECT :'pgq' = 'on' AS have_pgq \gset
\if :have_pgq
DROP EXTENSION IF EXISTS pgq CASCADE;
CREATE EXTENSION pgq;
SELECT pgq.create_queue('bench');
\endif

-- The log relations of a configuration (for the size figures).
CREATE FUNCTION bench.log_relations(config text)
    RETURNS SETOF regclass
    LANGUAGE plpgsql
AS $$
BEGIN
    IF config = 'plpgsql' THEN
        RETURN NEXT 'bench.audit'::regclass;
    ELSIF config = 'pgq' THEN
        RETURN QUERY
            SELECT c.oid::regclass
              FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pgq.queue q ON q.queue_name = 'bench'
             WHERE n.nspname || '.' || c.relname LIKE q.queue_data_pfx || '%'
               AND c.relkind = 'r';
    ELSIF config = 'globalsync' THEN
        RETURN QUERY SELECT c.oid::regclass FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                      WHERE i.inhparent = 'globalsync.change_log'::regclass;
    END IF;
END
$$;

-- (size of the log with its indexes and TOAST, events in it)
CREATE FUNCTION bench.log_size(config text, OUT bytes bigint, OUT rows bigint)
    LANGUAGE plpgsql
AS $$
DECLARE
    r regclass;
    n bigint;
BEGIN
    bytes := 0;
    rows := 0;
    FOR r IN SELECT * FROM bench.log_relations(config) LOOP
        bytes := bytes + pg_total_relation_size(r);
        EXECUTE format('SELECT count(*) FROM %s', r) INTO n;
        rows := rows + n;
    END LOOP;
END
$$;

-- A fresh bench.patients with the prefill, the trigger of one
-- configuration, and every log emptied.  The table has the column types,
-- defaults, generated columns, keys and indexes of
-- globalsync.patient_registrations; its CHECK constraints too when
-- with_checks (not its foreign key to facilities).
CREATE FUNCTION bench.reset(config text, with_checks boolean)
    RETURNS void
    LANGUAGE plpgsql
    SET client_min_messages = warning
AS $$
DECLARE
    c record;
BEGIN
    DROP TABLE IF EXISTS bench.patients;
    CREATE TABLE bench.patients (
        patient_id            text NOT NULL,
        registration_id       text NOT NULL,
        patient_name          text NOT NULL,
        date_of_birth         date NOT NULL,
        contact_number        text NOT NULL,
        email                 text,
        facility_id           text NOT NULL,
        registered_at         globalsync.zoned_timestamp NOT NULL,
        registration_timezone text NOT NULL
                              GENERATED ALWAYS AS (globalsync.zone_name(registered_at)) STORED,
        registered_at_ist     globalsync.ist_timestamp NOT NULL
                              GENERATED ALWAYS AS (globalsync.to_ist(registered_at)) STORED,
        created_at            globalsync.ist_timestamp NOT NULL DEFAULT pg_catalog.now()
    );
    INSERT INTO bench.patients (patient_id, registration_id, patient_name, date_of_birth,
                                contact_number, email, facility_id, registered_at, created_at)
    SELECT patient_id, registration_id, patient_name, date_of_birth,
           contact_number, email, facility_id, registered_at, timestamptz '2025-06-01 00:00:00+00'
      FROM bench.seed
     ORDER BY patient_id;
    ALTER TABLE bench.patients ADD PRIMARY KEY (patient_id),
                               ADD UNIQUE (registration_id);
    CREATE INDEX ON bench.patients (facility_id, registered_at_ist);
    CREATE INDEX ON bench.patients (registered_at_ist);
    IF with_checks THEN
        FOR c IN SELECT conname, pg_get_constraintdef(oid) AS def
                   FROM pg_constraint
                  WHERE conrelid = 'globalsync.patient_registrations'::regclass AND contype = 'c'
                  ORDER BY conname
        LOOP
            EXECUTE format('ALTER TABLE bench.patients ADD CONSTRAINT %I %s', c.conname, c.def);
        END LOOP;
    END IF;

    TRUNCATE bench.audit RESTART IDENTITY;
    IF EXISTS (SELECT FROM pg_extension WHERE extname = 'pgq') THEN
        EXECUTE (SELECT format('TRUNCATE %s', string_agg(r::text, ', ')) FROM bench.log_relations('pgq') r);
    END IF;
    TRUNCATE globalsync.change_log;

    IF config = 'plpgsql' THEN
        CREATE TRIGGER bench_audit AFTER INSERT OR UPDATE OR DELETE ON bench.patients
            FOR EACH ROW EXECUTE FUNCTION bench.audit_trigger();
    ELSIF config = 'pgq' THEN
        CREATE TRIGGER bench_pgq AFTER INSERT OR UPDATE OR DELETE ON bench.patients
            FOR EACH ROW EXECUTE PROCEDURE pgq.logutriga('bench');
    ELSIF config = 'globalsync' THEN
        PERFORM globalsync.track('bench.patients');
    ELSIF config <> 'none' THEN
        RAISE EXCEPTION 'unknown configuration "%"', config;
    END IF;
END
$$;

SELECT count(*) AS seed_rows FROM bench.seed;
