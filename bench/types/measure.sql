-- bench/types/measure.sql: what is timed, and how.
--
-- Run by bench/types/run.sh after setup.sql, with psql variables n and reps.
--
-- Each query is timed inside the server (clock_timestamp() before and after
-- EXECUTE in a procedure), so client and network costs are not part of it.
-- Queries of one group run interleaved: repetition r runs them in an order
-- rotated by r, so drift of the machine (turbo, caches, a neighbour) falls
-- on every variant alike.  Repetition 0 is a warm-up and is not recorded;
-- the report takes the median of the others.  Each query runs in its own
-- transaction.

\set ON_ERROR_STOP on
SET client_min_messages = notice;

CREATE TABLE bench.q (
    grp   int  NOT NULL,
    ord   int  NOT NULL,
    label text PRIMARY KEY,
    pre   text,            -- run before the query, not timed
    q     text NOT NULL,   -- timed
    post  text             -- run after the query, not timed
);
CREATE TABLE bench.sample (label text NOT NULL, rep int NOT NULL, ms float8 NOT NULL);

CREATE PROCEDURE bench.run(reps int)
LANGUAGE plpgsql AS $$
DECLARE
    grps   int[];
    g      int;
    labels text[];
    pres   text[];
    qs     text[];
    posts  text[];
    m      int;
    r      int;
    j      int;
    k      int;
    t0     timestamptz;
    t_grp  timestamptz;
    ms     float8;
BEGIN
    SELECT array_agg(DISTINCT grp ORDER BY grp) INTO grps FROM bench.q;
    FOREACH g IN ARRAY grps LOOP
        SELECT array_agg(label ORDER BY ord), array_agg(pre ORDER BY ord),
               array_agg(q ORDER BY ord), array_agg(post ORDER BY ord)
          INTO labels, pres, qs, posts
          FROM bench.q WHERE grp = g;
        m := array_length(labels, 1);
        t_grp := clock_timestamp();
        FOR r IN 0 .. reps LOOP
            FOR j IN 0 .. m - 1 LOOP
                k := (j + r) % m + 1;
                IF pres[k] IS NOT NULL THEN
                    EXECUTE pres[k];
                END IF;
                t0 := clock_timestamp();
                EXECUTE qs[k];
                ms := 1000 * extract(epoch FROM clock_timestamp() - t0);
                IF posts[k] IS NOT NULL THEN
                    EXECUTE posts[k];
                END IF;
                IF r > 0 THEN
                    INSERT INTO bench.sample VALUES (labels[k], r, ms);
                END IF;
                COMMIT;
            END LOOP;
        END LOOP;
        RAISE NOTICE 'bench/types: group % (%) done in % s', g,
            array_to_string(labels, ', '),
            round(extract(epoch FROM clock_timestamp() - t_grp)::numeric, 1);
    END LOOP;
END
$$;

-- Session settings that must hold for every query are set by run.sh through
-- PGOPTIONS (no JIT, no parallel workers, sorts and index builds in memory).
-- TimeZone matters only for timestamptz output; it is set per group.

INSERT INTO bench.q (grp, ord, label, pre, q, post) VALUES
-- (1) input: text -> type, three literal shapes
(1, 1, 'in_offset_tz',    NULL, 'SELECT count(s::timestamptz) FROM bench.in_offset', NULL),
(1, 2, 'in_offset_ist',   NULL, 'SELECT count(s::globalsync.ist_timestamp) FROM bench.in_offset', NULL),
(1, 3, 'in_offset_zoned', NULL, 'SELECT count(s::globalsync.zoned_timestamp) FROM bench.in_offset', NULL),
(1, 4, 'in_offset_base',  NULL, 'SELECT count(s) FROM bench.in_offset', NULL),
(2, 1, 'in_iana_tz',      NULL, 'SELECT count(s::timestamptz) FROM bench.in_iana', NULL),
(2, 2, 'in_iana_ist',     NULL, 'SELECT count(s::globalsync.ist_timestamp) FROM bench.in_iana', NULL),
(2, 3, 'in_iana_zoned',   NULL, 'SELECT count(s::globalsync.zoned_timestamp) FROM bench.in_iana', NULL),
(2, 4, 'in_iana_base',    NULL, 'SELECT count(s) FROM bench.in_iana', NULL),
(3, 1, 'in_abbr_tz',      NULL, 'SELECT count(s::timestamptz) FROM bench.in_abbr', NULL),
(3, 2, 'in_abbr_ist',     NULL, 'SELECT count(s::globalsync.ist_timestamp) FROM bench.in_abbr', NULL),
(3, 3, 'in_abbr_zoned',   NULL, 'SELECT count(s::globalsync.zoned_timestamp) FROM bench.in_abbr', NULL),
(3, 4, 'in_abbr_base',    NULL, 'SELECT count(s) FROM bench.in_abbr', NULL),
-- (2) output: type -> text
(4, 1, 'out_kol_tz',      'SET TimeZone = ''Asia/Kolkata''', 'SELECT count(a::text) FROM bench.v_tz', NULL),
(4, 2, 'out_kol_ist',     'SET TimeZone = ''Asia/Kolkata''', 'SELECT count(a::text) FROM bench.v_ist', NULL),
(4, 3, 'out_kol_zoned',   'SET TimeZone = ''Asia/Kolkata''', 'SELECT count(a::text) FROM bench.v_zoned', NULL),
(4, 4, 'out_base_tz',     NULL, 'SELECT count(a) FROM bench.v_tz', NULL),
(4, 5, 'out_base_ist',    NULL, 'SELECT count(a) FROM bench.v_ist', NULL),
(4, 6, 'out_base_zoned',  NULL, 'SELECT count(a) FROM bench.v_zoned', NULL),
(5, 1, 'out_utc_tz',      'SET TimeZone = ''UTC''', 'SELECT count(a::text) FROM bench.v_tz', NULL),
(5, 2, 'out_utc_ist',     'SET TimeZone = ''UTC''', 'SELECT count(a::text) FROM bench.v_ist', NULL),
-- (3) comparison of two columns
(6, 1, 'cmp_tz',          NULL, 'SELECT count(*) FROM bench.v_tz WHERE a < b', NULL),
(6, 2, 'cmp_ist',         NULL, 'SELECT count(*) FROM bench.v_ist WHERE a < b', NULL),
(6, 3, 'cmp_zoned',       NULL, 'SELECT count(*) FROM bench.v_zoned WHERE a < b', NULL),
-- (4) sort: every row goes through the sort, one row comes out
(7, 1, 'sort_tz',         NULL, 'SELECT a FROM bench.v_tz ORDER BY a OFFSET ' || (:n - 1), NULL),
(7, 2, 'sort_ist',        NULL, 'SELECT a FROM bench.v_ist ORDER BY a OFFSET ' || (:n - 1), NULL),
(7, 3, 'sort_zoned',      NULL, 'SELECT a FROM bench.v_zoned ORDER BY a OFFSET ' || (:n - 1), NULL),
-- (4) index build
(8, 1, 'index_tz',    NULL,    'CREATE INDEX ix_tz ON bench.v_tz (a)',       'DROP INDEX bench.ix_tz'),
(8, 2, 'index_ist',   NULL,   'CREATE INDEX ix_ist ON bench.v_ist (a)',     'DROP INDEX bench.ix_ist'),
(8, 3, 'index_zoned', NULL, 'CREATE INDEX ix_zoned ON bench.v_zoned (a)', 'DROP INDEX bench.ix_zoned');

CALL bench.run(:reps);
