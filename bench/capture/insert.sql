-- bench/capture/insert.sql: pgbench script, one single-row INSERT per
-- transaction into bench.patients (a new random patient id, 'PAT_N' + up
-- to 15 digits: never one of the prefilled ids).
\set r random(1, 999999999999999)
\set f random(0, 19)
\set z random(1, 5)
\set s random(0, 31535999)
\set c random(0, 99999999)
INSERT INTO bench.patients (patient_id, registration_id, patient_name, date_of_birth,
                            contact_number, email, facility_id, registered_at)
VALUES ('PAT_N' || :r::text, 'REG_N' || :r::text, 'Bench Patient ' || :r::text,
        date '1980-01-01' + :s::int % 15000,
        '+91 98' || lpad(:c::text, 8, '0'), 'bench' || :r::text || '@example.org',
        'FAC_' || lpad(:f::text, 8, '0'),
        globalsync.make_zoned(timestamp '2025-01-01' + :s::int * interval '1 second',
                              (ARRAY['Asia/Kolkata', 'America/New_York', 'Europe/London',
                                     'Asia/Tokyo', 'Australia/Sydney'])[:z::int]));
