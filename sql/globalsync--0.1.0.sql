\echo Use "CREATE EXTENSION globalsync" to load this file. \quit

--
-- globalsync 0.1.0
--
-- Schema globalsync (not relocatable).  Everything is schema-qualified and
-- PUBLIC gets nothing: privileges go to three roles, created if missing.
--

DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'globalsync_reader') THEN
        CREATE ROLE globalsync_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'globalsync_operator') THEN
        CREATE ROLE globalsync_operator NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'globalsync_admin') THEN
        CREATE ROLE globalsync_admin NOLOGIN;
    END IF;
    -- admin can do what operator can, operator what reader can
    IF NOT pg_catalog.pg_has_role('globalsync_operator', 'globalsync_reader', 'MEMBER') THEN
        GRANT globalsync_reader TO globalsync_operator;
    END IF;
    IF NOT pg_catalog.pg_has_role('globalsync_admin', 'globalsync_operator', 'MEMBER') THEN
        GRANT globalsync_operator TO globalsync_admin;
    END IF;
END
$roles$;

REVOKE ALL ON SCHEMA globalsync FROM PUBLIC;
GRANT USAGE ON SCHEMA globalsync TO globalsync_reader;

-- ===================================================================
-- ist_timestamp: an instant, shown in India Standard Time
-- ===================================================================

CREATE TYPE globalsync.ist_timestamp;

CREATE FUNCTION globalsync.ist_timestamp_in(cstring)
    RETURNS globalsync.ist_timestamp
    AS 'MODULE_PATHNAME', 'ist_timestamp_in'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION globalsync.ist_timestamp_out(globalsync.ist_timestamp)
    RETURNS cstring
    AS 'MODULE_PATHNAME', 'ist_timestamp_out'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION globalsync.ist_timestamp_recv(internal)
    RETURNS globalsync.ist_timestamp
    AS 'MODULE_PATHNAME', 'ist_timestamp_recv'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION globalsync.ist_timestamp_send(globalsync.ist_timestamp)
    RETURNS bytea
    AS 'MODULE_PATHNAME', 'ist_timestamp_send'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE globalsync.ist_timestamp (
    INPUT = globalsync.ist_timestamp_in,
    OUTPUT = globalsync.ist_timestamp_out,
    RECEIVE = globalsync.ist_timestamp_recv,
    SEND = globalsync.ist_timestamp_send,
    INTERNALLENGTH = 8,
    PASSEDBYVALUE,
    ALIGNMENT = double,
    STORAGE = plain,
    CATEGORY = 'D'
);
COMMENT ON TYPE globalsync.ist_timestamp IS
    'an instant, always shown in India Standard Time (+05:30); input takes a zone (IANA name, abbreviation or offset), a bare literal is IST';

-- The representation is timestamptz's (microseconds since 2000-01-01 UTC),
-- so comparison, hashing and sorting are PostgreSQL's own functions.
CREATE FUNCTION globalsync.ist_timestamp_eq(globalsync.ist_timestamp, globalsync.ist_timestamp)
    RETURNS boolean AS 'timestamp_eq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION globalsync.ist_timestamp_ne(globalsync.ist_timestamp, globalsync.ist_timestamp)
    RETURNS boolean AS 'timestamp_ne' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION globalsync.ist_timestamp_lt(globalsync.ist_timestamp, globalsync.ist_timestamp)
    RETURNS boolean AS 'timestamp_lt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION globalsync.ist_timestamp_le(globalsync.ist_timestamp, globalsync.ist_timestamp)
    RETURNS boolean AS 'timestamp_le' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION globalsync.ist_timestamp_gt(globalsync.ist_timestamp, globalsync.ist_timestamp)
    RETURNS boolean AS 'timestamp_gt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION globalsync.ist_timestamp_ge(globalsync.ist_timestamp, globalsync.ist_timestamp)
    RETURNS boolean AS 'timestamp_ge' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION globalsync.ist_timestamp_cmp(globalsync.ist_timestamp, globalsync.ist_timestamp)
    RETURNS integer AS 'timestamp_cmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION globalsync.ist_timestamp_sortsupport(internal)
    RETURNS void AS 'timestamp_sortsupport' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION globalsync.ist_timestamp_hash(globalsync.ist_timestamp)
    RETURNS integer AS 'timestamp_hash' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION globalsync.ist_timestamp_hash_extended(globalsync.ist_timestamp, bigint)
    RETURNS bigint AS 'timestamp_hash_extended' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION globalsync.ist_timestamp_smaller(globalsync.ist_timestamp, globalsync.ist_timestamp)
    RETURNS globalsync.ist_timestamp AS 'timestamp_smaller' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION globalsync.ist_timestamp_larger(globalsync.ist_timestamp, globalsync.ist_timestamp)
    RETURNS globalsync.ist_timestamp AS 'timestamp_larger' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION globalsync.ist_timestamp_mi(globalsync.ist_timestamp, globalsync.ist_timestamp)
    RETURNS interval AS 'timestamp_mi' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION globalsync.ist_timestamp_pl_interval(globalsync.ist_timestamp, interval)
    RETURNS globalsync.ist_timestamp
    AS 'MODULE_PATHNAME', 'ist_timestamp_pl_interval'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION globalsync.interval_pl_ist_timestamp(interval, globalsync.ist_timestamp)
    RETURNS globalsync.ist_timestamp
    AS 'MODULE_PATHNAME', 'interval_pl_ist_timestamp'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION globalsync.ist_timestamp_mi_interval(globalsync.ist_timestamp, interval)
    RETURNS globalsync.ist_timestamp
    AS 'MODULE_PATHNAME', 'ist_timestamp_mi_interval'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION globalsync.ist_timestamp_pl_interval(globalsync.ist_timestamp, interval) IS
    'add an interval on the IST calendar (months and days as IST wall time)';
COMMENT ON FUNCTION globalsync.interval_pl_ist_timestamp(interval, globalsync.ist_timestamp) IS
    'add an interval on the IST calendar (months and days as IST wall time)';
COMMENT ON FUNCTION globalsync.ist_timestamp_mi_interval(globalsync.ist_timestamp, interval) IS
    'subtract an interval on the IST calendar';
COMMENT ON FUNCTION globalsync.ist_timestamp_mi(globalsync.ist_timestamp, globalsync.ist_timestamp) IS
    'time between two instants, as an interval';

CREATE OPERATOR globalsync.= (
    LEFTARG = globalsync.ist_timestamp, RIGHTARG = globalsync.ist_timestamp,
    PROCEDURE = globalsync.ist_timestamp_eq,
    COMMUTATOR = OPERATOR(globalsync.=), NEGATOR = OPERATOR(globalsync.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR globalsync.<> (
    LEFTARG = globalsync.ist_timestamp, RIGHTARG = globalsync.ist_timestamp,
    PROCEDURE = globalsync.ist_timestamp_ne,
    COMMUTATOR = OPERATOR(globalsync.<>), NEGATOR = OPERATOR(globalsync.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR globalsync.< (
    LEFTARG = globalsync.ist_timestamp, RIGHTARG = globalsync.ist_timestamp,
    PROCEDURE = globalsync.ist_timestamp_lt,
    COMMUTATOR = OPERATOR(globalsync.>), NEGATOR = OPERATOR(globalsync.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR globalsync.<= (
    LEFTARG = globalsync.ist_timestamp, RIGHTARG = globalsync.ist_timestamp,
    PROCEDURE = globalsync.ist_timestamp_le,
    COMMUTATOR = OPERATOR(globalsync.>=), NEGATOR = OPERATOR(globalsync.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR globalsync.> (
    LEFTARG = globalsync.ist_timestamp, RIGHTARG = globalsync.ist_timestamp,
    PROCEDURE = globalsync.ist_timestamp_gt,
    COMMUTATOR = OPERATOR(globalsync.<), NEGATOR = OPERATOR(globalsync.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR globalsync.>= (
    LEFTARG = globalsync.ist_timestamp, RIGHTARG = globalsync.ist_timestamp,
    PROCEDURE = globalsync.ist_timestamp_ge,
    COMMUTATOR = OPERATOR(globalsync.<=), NEGATOR = OPERATOR(globalsync.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
CREATE OPERATOR globalsync.+ (
    LEFTARG = globalsync.ist_timestamp, RIGHTARG = interval,
    PROCEDURE = globalsync.ist_timestamp_pl_interval,
    COMMUTATOR = OPERATOR(globalsync.+)
);
CREATE OPERATOR globalsync.+ (
    LEFTARG = interval, RIGHTARG = globalsync.ist_timestamp,
    PROCEDURE = globalsync.interval_pl_ist_timestamp,
    COMMUTATOR = OPERATOR(globalsync.+)
);
CREATE OPERATOR globalsync.- (
    LEFTARG = globalsync.ist_timestamp, RIGHTARG = interval,
    PROCEDURE = globalsync.ist_timestamp_mi_interval
);
CREATE OPERATOR globalsync.- (
    LEFTARG = globalsync.ist_timestamp, RIGHTARG = globalsync.ist_timestamp,
    PROCEDURE = globalsync.ist_timestamp_mi
);

CREATE OPERATOR CLASS globalsync.ist_timestamp_ops
    DEFAULT FOR TYPE globalsync.ist_timestamp USING btree AS
        OPERATOR 1 globalsync.<,
        OPERATOR 2 globalsync.<=,
        OPERATOR 3 globalsync.=,
        OPERATOR 4 globalsync.>=,
        OPERATOR 5 globalsync.>,
        FUNCTION 1 globalsync.ist_timestamp_cmp(globalsync.ist_timestamp, globalsync.ist_timestamp),
        FUNCTION 2 globalsync.ist_timestamp_sortsupport(internal),
        FUNCTION 4 pg_catalog.btequalimage(oid);

CREATE OPERATOR CLASS globalsync.ist_timestamp_hash_ops
    DEFAULT FOR TYPE globalsync.ist_timestamp USING hash AS
        OPERATOR 1 globalsync.=,
        FUNCTION 1 globalsync.ist_timestamp_hash(globalsync.ist_timestamp),
        FUNCTION 2 globalsync.ist_timestamp_hash_extended(globalsync.ist_timestamp, bigint);

CREATE AGGREGATE globalsync.min(globalsync.ist_timestamp) (
    SFUNC = globalsync.ist_timestamp_smaller,
    STYPE = globalsync.ist_timestamp,
    COMBINEFUNC = globalsync.ist_timestamp_smaller,
    SORTOP = OPERATOR(globalsync.<),
    PARALLEL = SAFE
);
CREATE AGGREGATE globalsync.max(globalsync.ist_timestamp) (
    SFUNC = globalsync.ist_timestamp_larger,
    STYPE = globalsync.ist_timestamp,
    COMBINEFUNC = globalsync.ist_timestamp_larger,
    SORTOP = OPERATOR(globalsync.>),
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE globalsync.min(globalsync.ist_timestamp) IS 'earliest instant, as ist_timestamp';
COMMENT ON AGGREGATE globalsync.max(globalsync.ist_timestamp) IS 'latest instant, as ist_timestamp';

-- Casts.  To and from timestamptz the bits are the same instant.
CREATE CAST (globalsync.ist_timestamp AS timestamptz) WITHOUT FUNCTION AS IMPLICIT;
CREATE CAST (timestamptz AS globalsync.ist_timestamp) WITHOUT FUNCTION AS ASSIGNMENT;

CREATE FUNCTION globalsync.ist_timestamp(timestamp)
    RETURNS globalsync.ist_timestamp
    AS 'MODULE_PATHNAME', 'ist_timestamp_from_timestamp'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync.ist_timestamp(timestamp) IS
    'read a timestamp without time zone as IST wall time';
CREATE FUNCTION globalsync.ist_wall_time(globalsync.ist_timestamp)
    RETURNS timestamp
    AS 'MODULE_PATHNAME', 'ist_timestamp_to_timestamp'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync.ist_wall_time(globalsync.ist_timestamp) IS
    'the IST wall time of an instant, as timestamp without time zone';
CREATE CAST (timestamp AS globalsync.ist_timestamp)
    WITH FUNCTION globalsync.ist_timestamp(timestamp) AS ASSIGNMENT;
CREATE CAST (globalsync.ist_timestamp AS timestamp)
    WITH FUNCTION globalsync.ist_wall_time(globalsync.ist_timestamp) AS ASSIGNMENT;

CREATE FUNCTION globalsync.ist_date(globalsync.ist_timestamp)
    RETURNS date
    AS 'MODULE_PATHNAME', 'ist_timestamp_date'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync.ist_date(globalsync.ist_timestamp) IS
    'the IST calendar day of an instant';

CREATE FUNCTION globalsync.to_ist(local_time timestamp, zone text)
    RETURNS globalsync.ist_timestamp
    AS 'MODULE_PATHNAME', 'ist_timestamp_to_ist'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync.to_ist(timestamp, text) IS
    'read a local wall time in a zone (IANA name, abbreviation or offset) and return the instant; globalsync.dst_policy decides skipped and repeated times';

CREATE FUNCTION globalsync.ist_offset(zone text, at timestamptz DEFAULT pg_catalog.now())
    RETURNS interval
    AS 'MODULE_PATHNAME', 'ist_timestamp_ist_offset'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync.ist_offset(text, timestamptz) IS
    'offset of a zone relative to IST at an instant (EST: -10:30:00)';

-- ===================================================================
-- zoned_timestamp: an instant plus the zone it was recorded in
-- ===================================================================

CREATE TYPE globalsync.zoned_timestamp;

CREATE FUNCTION globalsync.zoned_timestamp_in(cstring)
    RETURNS globalsync.zoned_timestamp
    AS 'MODULE_PATHNAME', 'zoned_timestamp_in'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION globalsync.zoned_timestamp_out(globalsync.zoned_timestamp)
    RETURNS cstring
    AS 'MODULE_PATHNAME', 'zoned_timestamp_out'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION globalsync.zoned_timestamp_recv(internal)
    RETURNS globalsync.zoned_timestamp
    AS 'MODULE_PATHNAME', 'zoned_timestamp_recv'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION globalsync.zoned_timestamp_send(globalsync.zoned_timestamp)
    RETURNS bytea
    AS 'MODULE_PATHNAME', 'zoned_timestamp_send'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE globalsync.zoned_timestamp (
    INPUT = globalsync.zoned_timestamp_in,
    OUTPUT = globalsync.zoned_timestamp_out,
    RECEIVE = globalsync.zoned_timestamp_recv,
    SEND = globalsync.zoned_timestamp_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = plain,
    CATEGORY = 'D'
);
COMMENT ON TYPE globalsync.zoned_timestamp IS
    'an instant plus the zone it was recorded in; text form is local wall time then zone, e.g. 2025-10-10 09:30:00 America/New_York';

CREATE FUNCTION globalsync.zoned_timestamp_eq(globalsync.zoned_timestamp, globalsync.zoned_timestamp)
    RETURNS boolean AS 'MODULE_PATHNAME', 'zoned_timestamp_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION globalsync.zoned_timestamp_ne(globalsync.zoned_timestamp, globalsync.zoned_timestamp)
    RETURNS boolean AS 'MODULE_PATHNAME', 'zoned_timestamp_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION globalsync.zoned_timestamp_lt(globalsync.zoned_timestamp, globalsync.zoned_timestamp)
    RETURNS boolean AS 'MODULE_PATHNAME', 'zoned_timestamp_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION globalsync.zoned_timestamp_le(globalsync.zoned_timestamp, globalsync.zoned_timestamp)
    RETURNS boolean AS 'MODULE_PATHNAME', 'zoned_timestamp_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION globalsync.zoned_timestamp_gt(globalsync.zoned_timestamp, globalsync.zoned_timestamp)
    RETURNS boolean AS 'MODULE_PATHNAME', 'zoned_timestamp_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION globalsync.zoned_timestamp_ge(globalsync.zoned_timestamp, globalsync.zoned_timestamp)
    RETURNS boolean AS 'MODULE_PATHNAME', 'zoned_timestamp_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION globalsync.zoned_timestamp_cmp(globalsync.zoned_timestamp, globalsync.zoned_timestamp)
    RETURNS integer AS 'MODULE_PATHNAME', 'zoned_timestamp_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION globalsync.zoned_timestamp_hash(globalsync.zoned_timestamp)
    RETURNS integer AS 'MODULE_PATHNAME', 'zoned_timestamp_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION globalsync.zoned_timestamp_hash_extended(globalsync.zoned_timestamp, bigint)
    RETURNS bigint AS 'MODULE_PATHNAME', 'zoned_timestamp_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR globalsync.= (
    LEFTARG = globalsync.zoned_timestamp, RIGHTARG = globalsync.zoned_timestamp,
    PROCEDURE = globalsync.zoned_timestamp_eq,
    COMMUTATOR = OPERATOR(globalsync.=), NEGATOR = OPERATOR(globalsync.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR globalsync.<> (
    LEFTARG = globalsync.zoned_timestamp, RIGHTARG = globalsync.zoned_timestamp,
    PROCEDURE = globalsync.zoned_timestamp_ne,
    COMMUTATOR = OPERATOR(globalsync.<>), NEGATOR = OPERATOR(globalsync.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR globalsync.< (
    LEFTARG = globalsync.zoned_timestamp, RIGHTARG = globalsync.zoned_timestamp,
    PROCEDURE = globalsync.zoned_timestamp_lt,
    COMMUTATOR = OPERATOR(globalsync.>), NEGATOR = OPERATOR(globalsync.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR globalsync.<= (
    LEFTARG = globalsync.zoned_timestamp, RIGHTARG = globalsync.zoned_timestamp,
    PROCEDURE = globalsync.zoned_timestamp_le,
    COMMUTATOR = OPERATOR(globalsync.>=), NEGATOR = OPERATOR(globalsync.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR globalsync.> (
    LEFTARG = globalsync.zoned_timestamp, RIGHTARG = globalsync.zoned_timestamp,
    PROCEDURE = globalsync.zoned_timestamp_gt,
    COMMUTATOR = OPERATOR(globalsync.<), NEGATOR = OPERATOR(globalsync.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR globalsync.>= (
    LEFTARG = globalsync.zoned_timestamp, RIGHTARG = globalsync.zoned_timestamp,
    PROCEDURE = globalsync.zoned_timestamp_ge,
    COMMUTATOR = OPERATOR(globalsync.<=), NEGATOR = OPERATOR(globalsync.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);

CREATE OPERATOR CLASS globalsync.zoned_timestamp_ops
    DEFAULT FOR TYPE globalsync.zoned_timestamp USING btree AS
        OPERATOR 1 globalsync.<,
        OPERATOR 2 globalsync.<=,
        OPERATOR 3 globalsync.=,
        OPERATOR 4 globalsync.>=,
        OPERATOR 5 globalsync.>,
        FUNCTION 1 globalsync.zoned_timestamp_cmp(globalsync.zoned_timestamp, globalsync.zoned_timestamp),
        FUNCTION 4 pg_catalog.btequalimage(oid);

CREATE OPERATOR CLASS globalsync.zoned_timestamp_hash_ops
    DEFAULT FOR TYPE globalsync.zoned_timestamp USING hash AS
        OPERATOR 1 globalsync.=,
        FUNCTION 1 globalsync.zoned_timestamp_hash(globalsync.zoned_timestamp),
        FUNCTION 2 globalsync.zoned_timestamp_hash_extended(globalsync.zoned_timestamp, bigint);

CREATE FUNCTION globalsync.to_ist(globalsync.zoned_timestamp)
    RETURNS globalsync.ist_timestamp
    AS 'MODULE_PATHNAME', 'zoned_timestamp_instant'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync.to_ist(globalsync.zoned_timestamp) IS
    'the instant of a zoned_timestamp, as ist_timestamp';
CREATE FUNCTION globalsync.zoned_instant(globalsync.zoned_timestamp)
    RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'zoned_timestamp_instant'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync.zoned_instant(globalsync.zoned_timestamp) IS
    'the instant of a zoned_timestamp, as timestamptz';
CREATE CAST (globalsync.zoned_timestamp AS globalsync.ist_timestamp)
    WITH FUNCTION globalsync.to_ist(globalsync.zoned_timestamp) AS ASSIGNMENT;
CREATE CAST (globalsync.zoned_timestamp AS timestamptz)
    WITH FUNCTION globalsync.zoned_instant(globalsync.zoned_timestamp) AS ASSIGNMENT;

CREATE FUNCTION globalsync.local_time(globalsync.zoned_timestamp)
    RETURNS timestamp
    AS 'MODULE_PATHNAME', 'zoned_timestamp_local_time'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync.local_time(globalsync.zoned_timestamp) IS
    'the wall time in the zone the value was recorded in';
CREATE FUNCTION globalsync.zone_name(globalsync.zoned_timestamp)
    RETURNS text
    AS 'MODULE_PATHNAME', 'zoned_timestamp_zone_name'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync.zone_name(globalsync.zoned_timestamp) IS
    'the canonical name of the zone the value was recorded in';
CREATE FUNCTION globalsync.utc_offset(globalsync.zoned_timestamp)
    RETURNS interval
    AS 'MODULE_PATHNAME', 'zoned_timestamp_utc_offset'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync.utc_offset(globalsync.zoned_timestamp) IS
    'the UTC offset of the zone at the value''s instant';
CREATE FUNCTION globalsync.make_zoned(local_time timestamp, zone text)
    RETURNS globalsync.zoned_timestamp
    AS 'MODULE_PATHNAME', 'zoned_timestamp_make'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync.make_zoned(timestamp, text) IS
    'a zoned_timestamp from a local wall time and a zone; globalsync.dst_policy decides skipped and repeated times';
CREATE FUNCTION globalsync.to_zoned(instant timestamptz, zone text)
    RETURNS globalsync.zoned_timestamp
    AS 'MODULE_PATHNAME', 'zoned_timestamp_at_zone'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync.to_zoned(timestamptz, text) IS
    'an instant as seen in a zone';

-- ===================================================================
-- the zone registry
-- ===================================================================

CREATE FUNCTION globalsync.is_valid_zone(zone text)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'gs_is_valid_zone'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync.is_valid_zone(text) IS
    'whether the zone registry knows this zone: an IANA name, a globalsync abbreviation or a numeric offset';
CREATE FUNCTION globalsync.canonical_zone(zone text)
    RETURNS text
    AS 'MODULE_PATHNAME', 'gs_canonical_zone'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync.canonical_zone(text) IS
    'the canonical spelling of a zone (america/new_york: America/New_York, est: EST, +0545: +05:45); error if unknown';
CREATE FUNCTION globalsync.zone_abbreviations(
        OUT abbrev text, OUT utc_offset interval, OUT ist_offset interval,
        OUT is_dst boolean, OUT description text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'gs_zone_abbreviations'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 24;
COMMENT ON FUNCTION globalsync.zone_abbreviations() IS
    'globalsync''s own zone abbreviations: fixed offsets, whatever timezone_abbreviations says';
CREATE FUNCTION globalsync.zone_info(zone text, at timestamptz DEFAULT pg_catalog.now(),
        OUT canonical_name text, OUT kind text, OUT utc_offset interval,
        OUT ist_offset interval, OUT is_dst boolean, OUT observes_dst boolean)
    RETURNS record
    AS 'MODULE_PATHNAME', 'gs_zone_info'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync.zone_info(text, timestamptz) IS
    'a zone''s canonical name, kind (iana, abbreviation, offset), UTC and IST offsets and DST state at an instant';

CREATE DOMAIN globalsync.zone_name AS text
    CONSTRAINT zone_name_known CHECK (globalsync.is_valid_zone(VALUE));
COMMENT ON DOMAIN globalsync.zone_name IS 'a zone name the globalsync zone registry knows';

CREATE FUNCTION globalsync.library_preloaded()
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'gs_library_preloaded'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync.library_preloaded() IS
    'whether globalsync is in shared_preload_libraries (needed for the background worker and shared memory)';

-- ===================================================================
-- data model (from the seed system's tables)
-- ===================================================================

CREATE FUNCTION globalsync.new_id(prefix text, len integer DEFAULT 8)
    RETURNS text
    LANGUAGE sql VOLATILE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    RETURN prefix || upper(substr(replace(gen_random_uuid()::text, '-', ''), 1, len));
COMMENT ON FUNCTION globalsync.new_id(text, integer) IS
    'a new random identifier: prefix followed by len upper-case hexadecimal characters (FAC_1A2B3C4D)';

CREATE TABLE globalsync.facilities (
    facility_id     text PRIMARY KEY DEFAULT globalsync.new_id('FAC_')
                    CONSTRAINT facility_id_format CHECK (facility_id ~ '^FAC_[A-Z0-9]{8}$'),
    name            text NOT NULL
                    CONSTRAINT facility_name_length CHECK (btrim(name) <> '' AND length(name) <= 200),
    timezone        globalsync.zone_name NOT NULL
                    CONSTRAINT facility_timezone_canonical CHECK (timezone::text = globalsync.canonical_zone(timezone)),
    location        text
                    CONSTRAINT facility_location_length CHECK (location IS NULL OR (btrim(location) <> '' AND length(location) <= 100)),
    is_active       boolean NOT NULL DEFAULT true,
    last_sync_time  globalsync.ist_timestamp,
    created_at      globalsync.ist_timestamp NOT NULL DEFAULT pg_catalog.now()
);
CREATE UNIQUE INDEX facilities_name_location_key
    ON globalsync.facilities (lower(name), lower(coalesce(location, '')));
CREATE INDEX facilities_timezone_idx ON globalsync.facilities (timezone);
COMMENT ON TABLE globalsync.facilities IS
    'facilities that register patients, each in its local time zone (seed: SOURCE_FACILITIES)';
COMMENT ON COLUMN globalsync.facilities.facility_id IS 'FAC_ followed by 8 characters';
COMMENT ON COLUMN globalsync.facilities.timezone IS 'the facility''s zone, canonical spelling from the zone registry';
COMMENT ON COLUMN globalsync.facilities.last_sync_time IS 'when a sync last delivered this facility''s data';

CREATE TABLE globalsync.targets (
    target_id       text PRIMARY KEY DEFAULT globalsync.new_id('TGT_')
                    CONSTRAINT target_id_format CHECK (target_id ~ '^TGT_[A-Z0-9]{8}$'),
    name            text NOT NULL UNIQUE
                    CONSTRAINT target_name_length CHECK (btrim(name) <> '' AND length(name) <= 200),
    kind            text NOT NULL
                    CONSTRAINT target_kind_known CHECK (kind IN ('file', 'http', 's3', 'snowflake', 'fhir')),
    endpoint        text NOT NULL
                    CONSTRAINT target_endpoint_nonempty CHECK (btrim(endpoint) <> ''),
    options         jsonb NOT NULL DEFAULT '{}'
                    CONSTRAINT target_options_object CHECK (jsonb_typeof(options) = 'object'),
    is_active       boolean NOT NULL DEFAULT true,
    last_sync_time  globalsync.ist_timestamp,
    created_at      globalsync.ist_timestamp NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE globalsync.targets IS
    'external systems data is synced to (seed: SYNC_TARGETS); secrets are never stored here';
COMMENT ON COLUMN globalsync.targets.kind IS 'file, http, s3, snowflake or fhir';
COMMENT ON COLUMN globalsync.targets.endpoint IS 'where the target is: a folder for file, a URL otherwise (never with a password)';

CREATE TABLE globalsync.patient_registrations (
    patient_id          text PRIMARY KEY DEFAULT globalsync.new_id('PAT_', 12)
                        CONSTRAINT patient_id_format CHECK (patient_id ~ '^PAT_[A-Z0-9]{8,32}$'),
    registration_id     text NOT NULL UNIQUE DEFAULT globalsync.new_id('REG_', 12)
                        CONSTRAINT registration_id_format CHECK (registration_id ~ '^REG_[A-Z0-9]{8,32}$'),
    patient_name        text NOT NULL
                        CONSTRAINT patient_name_length CHECK (btrim(patient_name) <> '' AND length(patient_name) <= 200),
    date_of_birth       date NOT NULL,
    contact_number      text NOT NULL
                        CONSTRAINT contact_number_format CHECK (
                            contact_number ~ '^\+?[0-9(][0-9 ().-]*[0-9]$'
                            AND length(regexp_replace(contact_number, '[^0-9]', '', 'g')) BETWEEN 7 AND 15),
    email               text
                        CONSTRAINT email_format CHECK (email IS NULL OR (
                            length(email) <= 254
                            AND email ~ '^[A-Za-z0-9.!#$%&''*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$')),
    facility_id         text NOT NULL
                        REFERENCES globalsync.facilities (facility_id) ON UPDATE CASCADE ON DELETE RESTRICT,
    registered_at       globalsync.zoned_timestamp NOT NULL,
    registration_timezone text NOT NULL
                        GENERATED ALWAYS AS (globalsync.zone_name(registered_at)) STORED,
    registered_at_ist   globalsync.ist_timestamp NOT NULL
                        GENERATED ALWAYS AS (globalsync.to_ist(registered_at)) STORED,
    created_at          globalsync.ist_timestamp NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT born_before_registration CHECK (date_of_birth <= globalsync.ist_date(registered_at_ist) + 1)
);
CREATE INDEX patient_registrations_facility_idx
    ON globalsync.patient_registrations (facility_id, registered_at_ist);
CREATE INDEX patient_registrations_ist_idx
    ON globalsync.patient_registrations (registered_at_ist);
COMMENT ON TABLE globalsync.patient_registrations IS
    'patients registered at facilities, in local time with its zone and normalised to IST (seed: PATIENT_REGISTRATIONS)';
COMMENT ON COLUMN globalsync.patient_registrations.registered_at IS
    'the registration as local wall time in the zone it was recorded in';
COMMENT ON COLUMN globalsync.patient_registrations.registration_timezone IS
    'zone of registered_at (generated)';
COMMENT ON COLUMN globalsync.patient_registrations.registered_at_ist IS
    'the registration instant normalised to IST (generated from registered_at)';

CREATE TABLE globalsync.sync_log (
    log_id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_facility_id  text REFERENCES globalsync.facilities (facility_id) ON UPDATE CASCADE ON DELETE SET NULL,
    target_id           text NOT NULL REFERENCES globalsync.targets (target_id) ON UPDATE CASCADE ON DELETE CASCADE,
    operation_type      text NOT NULL
                        CONSTRAINT operation_type_known CHECK (operation_type IN
                            ('MANUAL_SYNC', 'SCHEDULED_SYNC', 'REALTIME_SYNC', 'FULL_SYNC', 'RETRY')),
    record_count        integer NOT NULL DEFAULT 0 CONSTRAINT record_count_nonnegative CHECK (record_count >= 0),
    lag_seconds         double precision CONSTRAINT lag_nonnegative CHECK (lag_seconds >= 0),
    status              text NOT NULL
                        CONSTRAINT status_known CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
    sync_started_at     globalsync.ist_timestamp NOT NULL DEFAULT pg_catalog.now(),
    sync_completed_at   globalsync.ist_timestamp,
    duration_seconds    double precision CONSTRAINT duration_nonnegative CHECK (duration_seconds >= 0),
    error_message       text,
    created_by_user     text NOT NULL DEFAULT CURRENT_USER,
    CONSTRAINT completed_after_started CHECK (sync_completed_at IS NULL OR sync_completed_at >= sync_started_at),
    CONSTRAINT finished_has_completion CHECK ((status = 'running') = (sync_completed_at IS NULL))
);
CREATE INDEX sync_log_target_idx ON globalsync.sync_log (target_id, sync_started_at);
CREATE INDEX sync_log_started_idx ON globalsync.sync_log (sync_started_at);
COMMENT ON TABLE globalsync.sync_log IS
    'one row per sync operation: what, where, how many records, lag, duration, outcome (seed: SYNC_OPERATIONS_LOG)';
COMMENT ON COLUMN globalsync.sync_log.lag_seconds IS
    'acknowledgement time minus commit time of the oldest change delivered';

SELECT pg_catalog.pg_extension_config_dump('globalsync.facilities', '');
SELECT pg_catalog.pg_extension_config_dump('globalsync.targets', '');
SELECT pg_catalog.pg_extension_config_dump('globalsync.patient_registrations', '');
SELECT pg_catalog.pg_extension_config_dump('globalsync.sync_log', '');
SELECT pg_catalog.pg_extension_config_dump('globalsync.sync_log_log_id_seq', '');

-- ===================================================================
-- functions of the seed's API
-- ===================================================================

CREATE FUNCTION globalsync.add_facility(name text, timezone text, location text DEFAULT NULL)
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_zone text;
    v_id text;
BEGIN
    IF name IS NULL OR btrim(name) = '' THEN
        RAISE EXCEPTION 'facility name must not be empty'
            USING ERRCODE = '22023', HINT = 'Give the facility''s name, for example ''Mount Sinai Clinic''.';
    END IF;
    IF length(name) > 200 THEN
        RAISE EXCEPTION 'facility name is too long (% characters)', length(name)
            USING ERRCODE = '22001', HINT = 'Facility names are at most 200 characters.';
    END IF;
    IF timezone IS NULL THEN
        RAISE EXCEPTION 'facility timezone must not be null'
            USING ERRCODE = '22004', HINT = 'Give an IANA zone such as America/New_York, or an abbreviation such as EST.';
    END IF;
    IF location IS NOT NULL AND (btrim(location) = '' OR length(location) > 100) THEN
        RAISE EXCEPTION 'invalid facility location: "%"', location
            USING ERRCODE = '22023', HINT = 'A location is 1 to 100 characters, or NULL.';
    END IF;
    v_zone := globalsync.canonical_zone(timezone);
    FOR attempt IN 1..5 LOOP
        BEGIN
            v_id := globalsync.new_id('FAC_');
            INSERT INTO globalsync.facilities (facility_id, name, timezone, location)
                VALUES (v_id, btrim(add_facility.name), v_zone, btrim(add_facility.location));
            RETURN v_id;
        EXCEPTION WHEN unique_violation THEN
            IF EXISTS (SELECT FROM globalsync.facilities f
                        WHERE lower(f.name) = lower(btrim(add_facility.name))
                          AND lower(coalesce(f.location, '')) = lower(coalesce(btrim(add_facility.location), ''))) THEN
                RAISE EXCEPTION 'facility "%" at "%" already exists', btrim(add_facility.name), coalesce(location, '')
                    USING ERRCODE = '23505', HINT = 'Facility names are unique per location.';
            END IF;
            -- else an id collision: draw again
        END;
    END LOOP;
    RAISE EXCEPTION 'could not allocate a facility id' USING ERRCODE = '55000';
END
$$;
COMMENT ON FUNCTION globalsync.add_facility(text, text, text) IS
    'add a facility in a zone (IANA name, abbreviation or offset, stored canonically); returns its FAC_ id';

CREATE FUNCTION globalsync.set_facility_active(facility_id text, active boolean)
    RETURNS void
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE globalsync.facilities f SET is_active = active WHERE f.facility_id = set_facility_active.facility_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'facility "%" does not exist', facility_id
            USING ERRCODE = '42704', HINT = 'List facilities with globalsync.list_facilities().';
    END IF;
END
$$;
COMMENT ON FUNCTION globalsync.set_facility_active(text, boolean) IS
    'activate or deactivate a facility; inactive facilities cannot register patients';

CREATE FUNCTION globalsync.list_facilities(timezone text DEFAULT NULL, active_only boolean DEFAULT false)
    RETURNS TABLE (facility_id text, name text, timezone text, location text, is_active boolean,
                   utc_offset interval, ist_offset interval, patients bigint,
                   last_sync_time globalsync.ist_timestamp, created_at globalsync.ist_timestamp)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT f.facility_id, f.name, f.timezone, f.location, f.is_active,
           z.utc_offset, z.ist_offset,
           (SELECT count(*) FROM globalsync.patient_registrations p WHERE p.facility_id = f.facility_id),
           f.last_sync_time, f.created_at
      FROM globalsync.facilities f
      CROSS JOIN LATERAL globalsync.zone_info(f.timezone) z
     WHERE ($1 IS NULL OR f.timezone = globalsync.canonical_zone($1))
       AND (NOT $2 OR f.is_active)
     ORDER BY z.utc_offset, f.name
$$;
COMMENT ON FUNCTION globalsync.list_facilities(text, boolean) IS
    'facilities, optionally of one zone (any spelling) and only active ones, with current UTC and IST offsets';

CREATE FUNCTION globalsync.register_patient(
        full_name text,
        date_of_birth date,
        contact_number text,
        email text,
        registration_facility text,
        local_time_zone text DEFAULT NULL,
        local_registration_time timestamp DEFAULT NULL)
    RETURNS globalsync.patient_registrations
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_fac globalsync.facilities;
    v_zone text;
    v_at globalsync.zoned_timestamp;
    v_digits text;
    v_row globalsync.patient_registrations;
    v_today date := globalsync.ist_date(now()::globalsync.ist_timestamp);
BEGIN
    IF full_name IS NULL OR btrim(full_name) = '' THEN
        RAISE EXCEPTION 'full_name must not be empty'
            USING ERRCODE = '22023', HINT = 'Give the patient''s full name, for example ''Asha Rao''.';
    END IF;
    IF length(full_name) > 200 THEN
        RAISE EXCEPTION 'full_name is too long (% characters)', length(full_name)
            USING ERRCODE = '22001', HINT = 'Names are at most 200 characters.';
    END IF;

    IF date_of_birth IS NULL THEN
        RAISE EXCEPTION 'date_of_birth must not be null'
            USING ERRCODE = '22004', HINT = 'Give the date of birth as YYYY-MM-DD.';
    END IF;
    IF date_of_birth > v_today THEN
        RAISE EXCEPTION 'date_of_birth "%" is in the future', date_of_birth
            USING ERRCODE = '22008', DETAIL = format('Today is %s in IST.', v_today),
                  HINT = 'Check the year, month and day order (YYYY-MM-DD).';
    END IF;
    IF date_of_birth < (v_today - interval '150 years')::date THEN
        RAISE EXCEPTION 'date_of_birth "%" is more than 150 years ago', date_of_birth
            USING ERRCODE = '22008', HINT = 'Check the year of birth.';
    END IF;

    IF contact_number IS NULL OR btrim(contact_number) = '' THEN
        RAISE EXCEPTION 'contact_number must not be empty'
            USING ERRCODE = '22023', HINT = 'Give a phone number of 7 to 15 digits, for example +1-234-567-8900.';
    END IF;
    v_digits := regexp_replace(contact_number, '[^0-9]', '', 'g');
    IF btrim(contact_number) !~ '^\+?[0-9(][0-9 ().-]*[0-9]$'
       OR length(v_digits) NOT BETWEEN 7 AND 15 THEN
        RAISE EXCEPTION 'invalid contact_number: "%"', contact_number
            USING ERRCODE = '22023',
                  DETAIL = format('It has %s digits; a phone number has 7 to 15, with an optional leading + and spaces, dots, dashes or parentheses between.', length(v_digits)),
                  HINT = 'For example +1-234-567-8900 or (022) 2345 6789.';
    END IF;

    IF email IS NOT NULL AND (length(email) > 254 OR email !~ '^[A-Za-z0-9.!#$%&''*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$') THEN
        RAISE EXCEPTION 'invalid email: "%"', email
            USING ERRCODE = '22023', HINT = 'An email address looks like name@example.org; pass NULL if there is none.';
    END IF;

    IF registration_facility IS NULL THEN
        RAISE EXCEPTION 'registration_facility must not be null'
            USING ERRCODE = '22004', HINT = 'Give a facility id such as FAC_12345678.';
    END IF;
    SELECT * INTO v_fac FROM globalsync.facilities f WHERE f.facility_id = registration_facility;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'registration_facility "%" does not exist', registration_facility
            USING ERRCODE = '42704', HINT = 'List facilities with globalsync.list_facilities().';
    END IF;
    IF NOT v_fac.is_active THEN
        RAISE EXCEPTION 'registration_facility "%" is not active', registration_facility
            USING ERRCODE = '55000', HINT = 'Activate it with globalsync.set_facility_active(facility_id, true).';
    END IF;

    v_zone := coalesce(local_time_zone, v_fac.timezone);
    IF NOT globalsync.is_valid_zone(v_zone) THEN
        RAISE EXCEPTION 'invalid local_time_zone: "%"', v_zone
            USING ERRCODE = '22023',
                  HINT = 'Use an IANA zone (America/New_York), an abbreviation from globalsync.time_zones (EST) or an offset (-05:00).';
    END IF;
    IF local_registration_time IS NULL THEN
        v_at := globalsync.to_zoned(now(), v_zone);
    ELSE
        IF NOT isfinite(local_registration_time) THEN
            RAISE EXCEPTION 'local_registration_time must be finite'
                USING ERRCODE = '22008', HINT = 'Give the local wall time of the registration, for example 2025-10-10 09:30:00.';
        END IF;
        v_at := globalsync.make_zoned(local_registration_time, v_zone);
    END IF;
    IF date_of_birth > globalsync.local_time(v_at)::date THEN
        RAISE EXCEPTION 'date_of_birth "%" is after the registration date "%"', date_of_birth, globalsync.local_time(v_at)::date
            USING ERRCODE = '22008', HINT = 'Check date_of_birth and local_registration_time.';
    END IF;

    INSERT INTO globalsync.patient_registrations AS r
           (patient_name, date_of_birth, contact_number, email, facility_id, registered_at)
    VALUES (btrim(full_name), date_of_birth, btrim(contact_number), lower(btrim(email)),
            v_fac.facility_id, v_at)
    RETURNING r.* INTO v_row;
    RETURN v_row;
END
$$;
COMMENT ON FUNCTION globalsync.register_patient(text, date, text, text, text, text, timestamp) IS
    'validate and register a patient at an active facility; local time is read in local_time_zone (default: the facility''s zone; default time: now); returns the stored row with local and IST times';

CREATE FUNCTION globalsync.health()
    RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object(
        'status', 'ok',
        'version', (SELECT extversion FROM pg_extension WHERE extname = 'globalsync'),
        'database', current_database(),
        'server_time_ist', now()::globalsync.ist_timestamp::text,
        'postgres_version', current_setting('server_version'),
        'library_preloaded', globalsync.library_preloaded(),
        'dst_policy', current_setting('globalsync.dst_policy'),
        'facilities', (SELECT count(*) FROM globalsync.facilities),
        'active_facilities', (SELECT count(*) FROM globalsync.facilities WHERE is_active),
        'patients', (SELECT count(*) FROM globalsync.patient_registrations),
        'targets', (SELECT count(*) FROM globalsync.targets))
$$;
COMMENT ON FUNCTION globalsync.health() IS
    'health check: version, database, server time in IST, whether the library is preloaded, counts';

-- ===================================================================
-- views for administrators and BI tools
-- ===================================================================

CREATE VIEW globalsync.time_zones AS
    WITH names AS (
        SELECT a.abbrev AS zone, a.description FROM globalsync.zone_abbreviations() a
        UNION
        SELECT DISTINCT f.timezone::text, NULL FROM globalsync.facilities f
         WHERE f.timezone::text NOT IN (SELECT abbrev FROM globalsync.zone_abbreviations())
    )
    SELECT z.canonical_name AS zone,
           z.kind,
           z.utc_offset,
           z.ist_offset,
           z.is_dst,
           z.observes_dst,
           n.description,
           (SELECT count(*) FROM globalsync.facilities f WHERE f.timezone::text = n.zone) AS facilities
      FROM names n
      CROSS JOIN LATERAL globalsync.zone_info(n.zone) z
     ORDER BY z.utc_offset, z.canonical_name;
COMMENT ON VIEW globalsync.time_zones IS
    'every globalsync abbreviation and every zone the facilities use, with UTC and IST offsets now and whether DST applies';

CREATE VIEW globalsync.facility_stats AS
    SELECT f.timezone::text AS timezone,
           f.location,
           z.utc_offset,
           z.ist_offset,
           count(*) AS facilities,
           count(*) FILTER (WHERE f.is_active) AS active_facilities,
           coalesce(sum(p.patients), 0)::bigint AS patients,
           globalsync.max(p.last_registration_ist) AS last_registration_ist
      FROM globalsync.facilities f
      LEFT JOIN (SELECT r.facility_id, count(*) AS patients,
                        globalsync.max(r.registered_at_ist) AS last_registration_ist
                   FROM globalsync.patient_registrations r GROUP BY r.facility_id) p
             ON p.facility_id = f.facility_id
      CROSS JOIN LATERAL globalsync.zone_info(f.timezone) z
     GROUP BY f.timezone, f.location, z.utc_offset, z.ist_offset
     ORDER BY z.utc_offset, f.timezone, f.location;
COMMENT ON VIEW globalsync.facility_stats IS
    'facilities, active facilities and patients by time zone and location, with current offsets';

CREATE VIEW globalsync.registration_calendar AS
    SELECT globalsync.ist_date(r.registered_at_ist) AS ist_day,
           r.facility_id,
           f.name AS facility_name,
           f.timezone::text AS facility_timezone,
           count(*) AS registrations,
           globalsync.min(r.registered_at_ist) AS first_registration_ist,
           globalsync.max(r.registered_at_ist) AS last_registration_ist
      FROM globalsync.patient_registrations r
      JOIN globalsync.facilities f ON f.facility_id = r.facility_id
     GROUP BY 1, 2, 3, 4
     ORDER BY 1, 3;
COMMENT ON VIEW globalsync.registration_calendar IS
    'registrations per IST calendar day and facility';

-- ===================================================================
-- privileges: PUBLIC gets nothing
-- ===================================================================

REVOKE ALL ON ALL TABLES IN SCHEMA globalsync FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA globalsync FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA globalsync FROM PUBLIC;
REVOKE USAGE ON TYPE globalsync.ist_timestamp, globalsync.zoned_timestamp, globalsync.zone_name FROM PUBLIC;

-- readers: the types, the zone registry, the views, health
GRANT USAGE ON TYPE globalsync.ist_timestamp, globalsync.zoned_timestamp, globalsync.zone_name TO globalsync_reader;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA globalsync TO globalsync_reader;
REVOKE EXECUTE ON FUNCTION
    globalsync.new_id(text, integer),
    globalsync.add_facility(text, text, text),
    globalsync.set_facility_active(text, boolean),
    globalsync.register_patient(text, date, text, text, text, text, timestamp)
    FROM globalsync_reader;
GRANT SELECT ON globalsync.time_zones, globalsync.facility_stats, globalsync.registration_calendar
    TO globalsync_reader;

-- operators: register patients
GRANT EXECUTE ON FUNCTION globalsync.register_patient(text, date, text, text, text, text, timestamp)
    TO globalsync_operator;

-- admins: facilities and targets
GRANT EXECUTE ON FUNCTION
    globalsync.add_facility(text, text, text),
    globalsync.set_facility_active(text, boolean)
    TO globalsync_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON globalsync.facilities, globalsync.targets TO globalsync_admin;
GRANT SELECT ON globalsync.patient_registrations, globalsync.sync_log TO globalsync_admin;
