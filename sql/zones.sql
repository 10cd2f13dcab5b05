--
-- the zone registry: validation, canonical names, abbreviations, offsets
--
SET search_path = public, globalsync;

SELECT z, is_valid_zone(z) AS valid
  FROM unnest(ARRAY['America/New_York', 'america/new_york', 'EST', 'est', 'IST', 'Asia/Kolkata',
                    '+05:45', '-0930', '+5', 'Z', 'UTC', 'Etc/GMT+5', 'EST5EDT', 'GMT0',
                    'XYZ5', 'EST5EDT,M3.2.0,M11.1.0', '<+05>-5', 'Mars/Base', '', ' ', 'America/',
                    '/etc/passwd', '../../etc/passwd', 'America//New_York', '+16:00', '+05:60', 'localtime', 'posixrules', 'Factory',
                    repeat('A', 100)]) z;

SELECT z, canonical_zone(z)
  FROM unnest(ARRAY['america/new_york', 'ASIA/KATHMANDU', 'est', 'nzdt', '+0545', '-03',
                    'Z', '+00:00', '-00', 'utc', 'Asia/Calcutta', 'us/eastern', 'etc/gmt-14']) z;
SELECT canonical_zone('Mars/Base');
SELECT canonical_zone(NULL) IS NULL AS strict;

-- globalsync's own abbreviation table
SELECT * FROM zone_abbreviations();

-- zone_info at fixed instants
SELECT z, (zone_info(z, '2025-01-15 12:00+00')).*
  FROM unnest(ARRAY['America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Adelaide',
                    'EST', 'CEST', '+05:45']) z;
SELECT z, (zone_info(z, '2025-07-15 12:00+00')).*
  FROM unnest(ARRAY['America/New_York', 'Australia/Adelaide', 'Europe/London']) z;
SELECT zone_info('Nowhere/Land');

-- the domain used by facilities
SELECT 'Europe/Paris'::zone_name AS ok;
SELECT 'Europe/Atlantis'::zone_name;

-- the time_zones view: every abbreviation (no facility uses an IANA zone yet)
SELECT zone, kind, utc_offset, ist_offset, is_dst, observes_dst, description, facilities
  FROM time_zones;
