-- bench/capture/update.sql: pgbench script, one single-row UPDATE per
-- transaction: a random prefilled patient (1..:rows) gets a new
-- contact_number.
\set id random(1, :rows)
\set c random(0, 99999999)
UPDATE bench.patients
   SET contact_number = '+91 97' || lpad(:c::text, 8, '0')
 WHERE patient_id = 'PAT_' || lpad(:id::text, 12, '0');
