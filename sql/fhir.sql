-- FHIR R4 converters: to_fhir_patient, to_fhir_organization, to_fhir_bundle
SET client_min_messages = warning;
SET search_path = public;

INSERT INTO globalsync.facilities (facility_id, name, timezone, location, is_active) VALUES
    ('FAC_FHIR0001', 'Lotus Clinic', 'Asia/Kolkata', 'Pune, Maharashtra', true),
    ('FAC_FHIR0002', 'Harbor Health', 'America/New_York', NULL, true),
    ('FAC_FHIR0003', 'Himal Care', 'Asia/Kathmandu', 'Kathmandu', false);

INSERT INTO globalsync.patient_registrations
    (patient_id, registration_id, patient_name, date_of_birth, contact_number, email, facility_id, registered_at)
VALUES
    ('PAT_FHIR00000001', 'REG_FHIR00000001', 'Asha Rao', '1988-04-02', '+91 20 2612 0000', 'asha@example.org',
     'FAC_FHIR0001', '2025-10-12 10:15:00 Asia/Kolkata'),
    -- the hour before the spring-forward gap in New York: EST, -05:00
    ('PAT_FHIR00000002', 'REG_FHIR00000002', 'Smith, John   Paul', '1970-01-31', '(212) 555-0100', NULL,
     'FAC_FHIR0002', '2025-03-09 01:30:00 America/New_York'),
    -- after it: EDT, -04:00
    ('PAT_FHIR00000003', 'REG_FHIR00000003', '  Maria   de la   Cruz  ', '1999-12-31', '212-555-0101', NULL,
     'FAC_FHIR0002', '2025-03-09 03:30:00.25 America/New_York'),
    -- the second 01:30 of the fall-back night: -05:00 (the text carries the offset)
    ('PAT_FHIR00000004', 'REG_FHIR00000004', 'Prince', '2001-07-04', '2125550102', NULL,
     'FAC_FHIR0002', '2025-11-02 01:30:00-05 America/New_York'),
    -- the first 01:30 of the fall-back night: still EDT, -04:00
    ('PAT_FHIR00000008', 'REG_FHIR00000008', 'Li Wei', '2002-02-02', '2125550103', 'li.wei@example.net',
     'FAC_FHIR0002', '2025-11-02 01:30:00-04 America/New_York'),
    -- Nepal: +05:45
    ('PAT_FHIR00000005', 'REG_FHIR00000005', 'Bishnu Prasad Sharma Koirala', '1965-05-05', '+977 1 4000000', 'b.k@example.com',
     'FAC_FHIR0003', '2025-01-15 23:50:00 Asia/Kathmandu'),
    -- an offset as the zone, and a name with a comma first and another later
    ('PAT_FHIR00000006', 'REG_FHIR00000006', ', Lee, Ann', '1990-02-28', '+65 6000 0000', NULL,
     'FAC_FHIR0003', '2025-06-01 08:00:00+05:45'),
    ('PAT_FHIR00000007', 'REG_FHIR00000007', 'Ó''Brien,Siobhán', '1985-03-17', '+353 1 000 0000', NULL,
     'FAC_FHIR0001', '2025-06-01 08:00:00 UTC');

-- Organizations: location null, inactive facility
SELECT facility_id, jsonb_pretty(globalsync.to_fhir_organization(f))
  FROM globalsync.facilities f WHERE facility_id LIKE 'FAC_FHIR%' ORDER BY facility_id;
SELECT globalsync.to_fhir_organization(f, 'https://hospital.example.org/ids/facility')
  FROM globalsync.facilities f WHERE facility_id = 'FAC_FHIR0003';

-- one Patient in full
SELECT jsonb_pretty(globalsync.to_fhir_patient(p)) FROM globalsync.patient_registrations p
 WHERE patient_id = 'PAT_FHIR00000001';

-- names, telecom, times of all of them
SELECT patient_id, patient_name,
       r->'name'->0->>'text' AS text, r->'name'->0->>'family' AS family, r->'name'->0->'given' AS given
  FROM globalsync.patient_registrations p, globalsync.to_fhir_patient(p) r
 WHERE patient_id LIKE 'PAT_FHIR%' ORDER BY patient_id;
SELECT patient_id, registered_at::text,
       r->'extension'->0->'extension'->0->>'valueDateTime' AS registered_at_fhir,
       r->'extension'->0->'extension'->1->>'valueString' AS timezone,
       r->'telecom' AS telecom
  FROM globalsync.patient_registrations p, globalsync.to_fhir_patient(p) r
 WHERE patient_id LIKE 'PAT_FHIR%' ORDER BY patient_id;

-- the offset is the wall time minus the instant: check it against PostgreSQL
SELECT count(*) AS offsets_checked
  FROM globalsync.patient_registrations p, globalsync.to_fhir_patient(p) r
 WHERE patient_id LIKE 'PAT_FHIR%'
   AND (r->'extension'->0->'extension'->0->>'valueDateTime')::timestamptz
       = (p.registered_at_ist::text)::timestamptz;

-- other systems, and a value that needs escaping in the conditional reference
SELECT globalsync.to_fhir_patient(p, 'https://hospital.example.org/ids/mrn', 'urn:oid:1.2.3')->'managingOrganization'
  FROM globalsync.patient_registrations p WHERE patient_id = 'PAT_FHIR00000001';
SELECT globalsync._fhir_resource('Patient', '{"patient_id": "A|B, C$D\\E%F G", "facility_id": "F|1&x=2"}',
                                 'urn:x:p', 'urn:x:o');

-- masked columns (hashes) pass through; a masked date of birth is left out
SELECT globalsync._fhir_resource('Patient',
    '{"patient_id": "PAT_M1", "patient_name": "3f9a1c0b77", "contact_number": "c0ffee", "date_of_birth": "9d1e77aa"}',
    'urn:globalsync:patient-id', 'urn:globalsync:facility-id');

-- errors
\set VERBOSITY default
SELECT globalsync._fhir_resource('Patient', '{"patient_name": "No Id"}', 'urn:a:b', 'urn:a:c');
SELECT globalsync._fhir_resource('Patient', '{"patient_id": "  "}', 'urn:a:b', 'urn:a:c');
SELECT globalsync._fhir_resource('Organization', '{"name": "No Id"}', 'urn:a:b', 'urn:a:b');
SELECT globalsync._fhir_resource('Encounter', '{}', 'urn:a:b', 'urn:a:b');
SELECT globalsync._fhir_resource('Patient', '[1]', 'urn:a:b', 'urn:a:b');
SELECT globalsync.to_fhir_patient(p, 'not a uri') FROM globalsync.patient_registrations p
 WHERE patient_id = 'PAT_FHIR00000001';
SELECT globalsync.to_fhir_patient(p, 'urn:a:b', 'urn:x|y') FROM globalsync.patient_registrations p
 WHERE patient_id = 'PAT_FHIR00000001';
SELECT globalsync.to_fhir_organization(f, 'relative/path') FROM globalsync.facilities f
 WHERE facility_id = 'FAC_FHIR0001';

-- bundles: I, U, D, R, T; other tables skipped; collapse per resource to the last event
CREATE TEMP TABLE ev (n int, line text);
INSERT INTO ev
SELECT n, jsonb_build_object('batch_id', 'TGT_FHIRTEST-1-2-10-19', 'target_id', 'TGT_FHIRTEST',
                             'event_id', 9 + n, 'table', tbl, 'op', op, 'pk', pk, 'row', r)::text
  FROM (VALUES
    (1, 'globalsync.patient_registrations', 'I', '{"patient_id": "PAT_FHIR00000001"}'::jsonb,
        (SELECT to_jsonb(p) FROM globalsync.patient_registrations p WHERE patient_id = 'PAT_FHIR00000001')),
    (2, 'globalsync.patient_registrations', 'I', '{"patient_id": "PAT_FHIR00000002"}',
        (SELECT to_jsonb(p) FROM globalsync.patient_registrations p WHERE patient_id = 'PAT_FHIR00000002')),
    (3, 'public.other', 'I', '{"id": 1}', '{"id": 1}'),
    (4, 'globalsync.patient_registrations', 'U', '{"patient_id": "PAT_FHIR00000001"}',
        (SELECT to_jsonb(p) || '{"email": "asha.rao@example.org"}' FROM globalsync.patient_registrations p
          WHERE patient_id = 'PAT_FHIR00000001')),
    (5, 'globalsync.patient_registrations', 'D', '{"patient_id": "PAT_FHIR00000009"}', NULL),
    (6, 'globalsync.facilities', 'U', '{"facility_id": "FAC_FHIR0002"}',
        (SELECT to_jsonb(f) FROM globalsync.facilities f WHERE facility_id = 'FAC_FHIR0002')),
    (7, 'globalsync.patient_registrations', 'T', NULL, NULL),
    (8, 'globalsync.patient_registrations', 'D', '{"patient_id": "PAT_FHIR00000002"}', NULL),
    (9, 'globalsync.patient_registrations', 'R', '{"patient_id": "PAT_FHIR00000003"}',
        (SELECT to_jsonb(p) FROM globalsync.patient_registrations p WHERE patient_id = 'PAT_FHIR00000003'))
  ) v(n, tbl, op, pk, r);

SELECT globalsync.to_fhir_bundle(string_agg(line, E'\n' ORDER BY n) || E'\n') AS b INTO TEMP bundle FROM ev;
SELECT b->>'resourceType' AS resource_type, b->>'type' AS type, b->'identifier' AS identifier,
       jsonb_array_length(b->'entry') AS entries FROM bundle;
-- Organization first, then the patients in the order of their last event
SELECT i, e->'request'->>'method' AS method, e->'request'->>'url' AS url, e->>'fullUrl' AS full_url,
       e->'resource'->>'resourceType' AS resource,
       e->'resource'->'telecom'->1->>'value' AS email
  FROM bundle, jsonb_array_elements(b->'entry') WITH ORDINALITY x(e, i) ORDER BY i;
-- the fullUrl of a resource is the same in every bundle
SELECT (SELECT b->'entry'->1->>'fullUrl' FROM bundle)
     = (globalsync.to_fhir_bundle((SELECT line FROM ev WHERE n = 1)))->'entry'->0->>'fullUrl' AS same_full_url;
-- a bundle of nothing to send has no entries
SELECT globalsync.to_fhir_bundle((SELECT line FROM ev WHERE n = 7) || E'\n' || (SELECT line FROM ev WHERE n = 3));
SELECT globalsync.to_fhir_bundle('');
-- other systems reach the URLs
SELECT e->'request'->>'url' FROM jsonb_array_elements(
    globalsync.to_fhir_bundle((SELECT string_agg(line, E'\n') FROM ev WHERE n IN (5, 6)),
                              'https://h.example.org/mrn', 'https://h.example.org/fac')->'entry') e;

-- errors
SELECT globalsync.to_fhir_bundle('{"table": "globalsync.patient_registrations", "op": "I", "pk": {}, "row": {"patient_name": "x"}}');
SELECT globalsync.to_fhir_bundle('{"table": "globalsync.patient_registrations", "op": "D", "pk": null}');
SELECT globalsync.to_fhir_bundle('{"table": "globalsync.patient_registrations", "op": "U", "pk": {"patient_id": "PAT_X1"}}');
SELECT globalsync.to_fhir_bundle('not json');
SELECT globalsync.to_fhir_bundle('[1, 2]');
SELECT globalsync.to_fhir_bundle('{"table": "globalsync.facilities", "op": "X"}');
SELECT globalsync.to_fhir_bundle((SELECT line FROM ev WHERE n = 1) || E'\n{"op": "I"');
SELECT globalsync.to_fhir_bundle('', 'urn:a:b', 'nope');

DELETE FROM globalsync.patient_registrations WHERE patient_id LIKE 'PAT_FHIR%';
DELETE FROM globalsync.facilities WHERE facility_id LIKE 'FAC_FHIR%';
