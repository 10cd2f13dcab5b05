-- bench/deliver/latency.sql: one captured row per transaction, for
-- pgbench -R (bench/deliver/run.sh, latency phase).  The ids come from a
-- sequence that starts above every id the throughput phases used.
INSERT INTO public.bench_rows (id, facility_id, payload)
VALUES (nextval('public.bench_lat_id'),
        'FAC_' || lpad((:client_id % 50)::text, 8, '0'),
        md5(random()::text) || md5(random()::text));
