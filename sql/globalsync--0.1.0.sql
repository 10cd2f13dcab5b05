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

-- The operators and the min/max aggregates live in pg_catalog, like the
-- built-in ones, so they are found whatever the search_path: otherwise the
-- implicit cast to timestamptz would silently pick timestamptz's operators
-- (literals read in the session TimeZone, no index use) for users who do
-- not have globalsync on their path.  They are members of the extension and
-- go with DROP EXTENSION; their functions stay in globalsync with its grants.
CREATE OPERATOR pg_catalog.= (
    LEFTARG = globalsync.ist_timestamp, RIGHTARG = globalsync.ist_timestamp,
    PROCEDURE = globalsync.ist_timestamp_eq,
    COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR pg_catalog.<> (
    LEFTARG = globalsync.ist_timestamp, RIGHTARG = globalsync.ist_timestamp,
    PROCEDURE = globalsync.ist_timestamp_ne,
    COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR pg_catalog.< (
    LEFTARG = globalsync.ist_timestamp, RIGHTARG = globalsync.ist_timestamp,
    PROCEDURE = globalsync.ist_timestamp_lt,
    COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR pg_catalog.<= (
    LEFTARG = globalsync.ist_timestamp, RIGHTARG = globalsync.ist_timestamp,
    PROCEDURE = globalsync.ist_timestamp_le,
    COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR pg_catalog.> (
    LEFTARG = globalsync.ist_timestamp, RIGHTARG = globalsync.ist_timestamp,
    PROCEDURE = globalsync.ist_timestamp_gt,
    COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR pg_catalog.>= (
    LEFTARG = globalsync.ist_timestamp, RIGHTARG = globalsync.ist_timestamp,
    PROCEDURE = globalsync.ist_timestamp_ge,
    COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
CREATE OPERATOR pg_catalog.+ (
    LEFTARG = globalsync.ist_timestamp, RIGHTARG = interval,
    PROCEDURE = globalsync.ist_timestamp_pl_interval,
    COMMUTATOR = OPERATOR(pg_catalog.+)
);
CREATE OPERATOR pg_catalog.+ (
    LEFTARG = interval, RIGHTARG = globalsync.ist_timestamp,
    PROCEDURE = globalsync.interval_pl_ist_timestamp,
    COMMUTATOR = OPERATOR(pg_catalog.+)
);
CREATE OPERATOR pg_catalog.- (
    LEFTARG = globalsync.ist_timestamp, RIGHTARG = interval,
    PROCEDURE = globalsync.ist_timestamp_mi_interval
);
CREATE OPERATOR pg_catalog.- (
    LEFTARG = globalsync.ist_timestamp, RIGHTARG = globalsync.ist_timestamp,
    PROCEDURE = globalsync.ist_timestamp_mi
);

CREATE OPERATOR CLASS globalsync.ist_timestamp_ops
    DEFAULT FOR TYPE globalsync.ist_timestamp USING btree AS
        OPERATOR 1 pg_catalog.<,
        OPERATOR 2 pg_catalog.<=,
        OPERATOR 3 pg_catalog.=,
        OPERATOR 4 pg_catalog.>=,
        OPERATOR 5 pg_catalog.>,
        FUNCTION 1 globalsync.ist_timestamp_cmp(globalsync.ist_timestamp, globalsync.ist_timestamp),
        FUNCTION 2 globalsync.ist_timestamp_sortsupport(internal),
        FUNCTION 4 pg_catalog.btequalimage(oid);

CREATE OPERATOR CLASS globalsync.ist_timestamp_hash_ops
    DEFAULT FOR TYPE globalsync.ist_timestamp USING hash AS
        OPERATOR 1 pg_catalog.=,
        FUNCTION 1 globalsync.ist_timestamp_hash(globalsync.ist_timestamp),
        FUNCTION 2 globalsync.ist_timestamp_hash_extended(globalsync.ist_timestamp, bigint);

CREATE AGGREGATE pg_catalog.min(globalsync.ist_timestamp) (
    SFUNC = globalsync.ist_timestamp_smaller,
    STYPE = globalsync.ist_timestamp,
    COMBINEFUNC = globalsync.ist_timestamp_smaller,
    SORTOP = OPERATOR(pg_catalog.<),
    PARALLEL = SAFE
);
CREATE AGGREGATE pg_catalog.max(globalsync.ist_timestamp) (
    SFUNC = globalsync.ist_timestamp_larger,
    STYPE = globalsync.ist_timestamp,
    COMBINEFUNC = globalsync.ist_timestamp_larger,
    SORTOP = OPERATOR(pg_catalog.>),
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE pg_catalog.min(globalsync.ist_timestamp) IS 'earliest instant, as ist_timestamp';
COMMENT ON AGGREGATE pg_catalog.max(globalsync.ist_timestamp) IS 'latest instant, as ist_timestamp';

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
CREATE FUNCTION globalsync.zoned_timestamp_sortsupport(internal)
    RETURNS void AS 'MODULE_PATHNAME', 'zoned_timestamp_sortsupport' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION globalsync.zoned_timestamp_hash(globalsync.zoned_timestamp)
    RETURNS integer AS 'MODULE_PATHNAME', 'zoned_timestamp_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION globalsync.zoned_timestamp_hash_extended(globalsync.zoned_timestamp, bigint)
    RETURNS bigint AS 'MODULE_PATHNAME', 'zoned_timestamp_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR pg_catalog.= (
    LEFTARG = globalsync.zoned_timestamp, RIGHTARG = globalsync.zoned_timestamp,
    PROCEDURE = globalsync.zoned_timestamp_eq,
    COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR pg_catalog.<> (
    LEFTARG = globalsync.zoned_timestamp, RIGHTARG = globalsync.zoned_timestamp,
    PROCEDURE = globalsync.zoned_timestamp_ne,
    COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR pg_catalog.< (
    LEFTARG = globalsync.zoned_timestamp, RIGHTARG = globalsync.zoned_timestamp,
    PROCEDURE = globalsync.zoned_timestamp_lt,
    COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR pg_catalog.<= (
    LEFTARG = globalsync.zoned_timestamp, RIGHTARG = globalsync.zoned_timestamp,
    PROCEDURE = globalsync.zoned_timestamp_le,
    COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR pg_catalog.> (
    LEFTARG = globalsync.zoned_timestamp, RIGHTARG = globalsync.zoned_timestamp,
    PROCEDURE = globalsync.zoned_timestamp_gt,
    COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR pg_catalog.>= (
    LEFTARG = globalsync.zoned_timestamp, RIGHTARG = globalsync.zoned_timestamp,
    PROCEDURE = globalsync.zoned_timestamp_ge,
    COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);

CREATE OPERATOR CLASS globalsync.zoned_timestamp_ops
    DEFAULT FOR TYPE globalsync.zoned_timestamp USING btree AS
        OPERATOR 1 pg_catalog.<,
        OPERATOR 2 pg_catalog.<=,
        OPERATOR 3 pg_catalog.=,
        OPERATOR 4 pg_catalog.>=,
        OPERATOR 5 pg_catalog.>,
        FUNCTION 1 globalsync.zoned_timestamp_cmp(globalsync.zoned_timestamp, globalsync.zoned_timestamp),
        FUNCTION 2 globalsync.zoned_timestamp_sortsupport(internal),
        FUNCTION 4 pg_catalog.btequalimage(oid);

CREATE OPERATOR CLASS globalsync.zoned_timestamp_hash_ops
    DEFAULT FOR TYPE globalsync.zoned_timestamp USING hash AS
        OPERATOR 1 pg_catalog.=,
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

-- every type support function gets a comment saying what it is for
DO $comments$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure AS sig, m[1] AS typ, m[2] AS what
          FROM pg_catalog.pg_proc p
          CROSS JOIN LATERAL regexp_match(p.proname, '^(ist_timestamp|zoned_timestamp)_(.*)$') m
         WHERE p.pronamespace = 'globalsync'::regnamespace
           AND pg_catalog.obj_description(p.oid, 'pg_proc') IS NULL
    LOOP
        EXECUTE format('COMMENT ON FUNCTION %s IS %L', f.sig, f.typ || ' ' || CASE f.what
            WHEN 'in' THEN 'text input'
            WHEN 'out' THEN 'text output'
            WHEN 'recv' THEN 'binary input (COPY BINARY, binary protocol)'
            WHEN 'send' THEN 'binary output (COPY BINARY, binary protocol)'
            WHEN 'eq' THEN 'equality, operator ='
            WHEN 'ne' THEN 'inequality, operator <>'
            WHEN 'lt' THEN 'less than, operator <'
            WHEN 'le' THEN 'less than or equal, operator <='
            WHEN 'gt' THEN 'greater than, operator >'
            WHEN 'ge' THEN 'greater than or equal, operator >='
            WHEN 'cmp' THEN 'three-way comparison (btree support)'
            WHEN 'sortsupport' THEN 'sort support (btree)'
            WHEN 'hash' THEN 'hash (hash indexes and hash joins)'
            WHEN 'hash_extended' THEN 'seeded 64-bit hash (hash partitioning)'
            WHEN 'smaller' THEN 'the earlier of two values (min aggregate)'
            WHEN 'larger' THEN 'the later of two values (max aggregate)'
            ELSE f.what END);
    END LOOP;
END
$comments$;

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
    sync_id             text NOT NULL UNIQUE DEFAULT globalsync.new_id('SYN_', 12)
                        CONSTRAINT sync_id_format CHECK (sync_id ~ '^SYN_[A-Z0-9]{12}$'),
    source_facility_id  text REFERENCES globalsync.facilities (facility_id) ON UPDATE CASCADE ON DELETE SET NULL,
    target_id           text NOT NULL REFERENCES globalsync.targets (target_id) ON UPDATE CASCADE ON DELETE CASCADE,
    operation_type      text NOT NULL
                        CONSTRAINT operation_type_known CHECK (operation_type IN
                            ('MANUAL_SYNC', 'SCHEDULED_SYNC', 'REALTIME_SYNC', 'FULL_SYNC', 'RETRY')),
    record_count        integer NOT NULL DEFAULT 0 CONSTRAINT record_count_nonnegative CHECK (record_count >= 0),
    lag_seconds         double precision CONSTRAINT lag_nonnegative CHECK (lag_seconds >= 0),
    status              text NOT NULL
                        CONSTRAINT status_known CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    sync_started_at     globalsync.ist_timestamp NOT NULL DEFAULT pg_catalog.now(),
    sync_completed_at   globalsync.ist_timestamp,
    duration_seconds    double precision CONSTRAINT duration_nonnegative CHECK (duration_seconds >= 0),
    error_message       text,
    created_by_user     text NOT NULL DEFAULT CURRENT_USER,
    records_failed      integer NOT NULL DEFAULT 0 CONSTRAINT records_failed_nonnegative CHECK (records_failed >= 0),
    bytes_sent          bigint NOT NULL DEFAULT 0 CONSTRAINT bytes_sent_nonnegative CHECK (bytes_sent >= 0),
    dead_letter_id      bigint,
    CONSTRAINT completed_after_started CHECK (sync_completed_at IS NULL OR sync_completed_at >= sync_started_at),
    CONSTRAINT finished_has_completion CHECK ((status IN ('queued', 'running')) = (sync_completed_at IS NULL))
);
CREATE INDEX sync_log_target_idx ON globalsync.sync_log (target_id, sync_started_at);
CREATE INDEX sync_log_started_idx ON globalsync.sync_log (sync_started_at);
CREATE INDEX sync_log_unfinished_idx ON globalsync.sync_log (log_id) WHERE status IN ('queued', 'running');
COMMENT ON TABLE globalsync.sync_log IS
    'one row per sync operation: what, where, how many records, lag, duration, outcome (seed: SYNC_OPERATIONS_LOG)';
COMMENT ON COLUMN globalsync.sync_log.lag_seconds IS
    'the largest, over the batches of the sync, of acknowledgement time minus capture time of the batch''s oldest change';
COMMENT ON COLUMN globalsync.sync_log.sync_id IS 'SYN_ followed by 12 characters: what start_sync() returns';
COMMENT ON COLUMN globalsync.sync_log.status IS 'queued, running, completed, failed or cancelled';
COMMENT ON COLUMN globalsync.sync_log.records_failed IS 'events that went to dead_letters during this sync';
COMMENT ON COLUMN globalsync.sync_log.dead_letter_id IS 'for RETRY: the dead letter this sync replays';

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
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF active IS NULL THEN
        RAISE EXCEPTION 'active must be true or false, not null'
            USING ERRCODE = '22004', HINT = 'Pass true to activate the facility, false to deactivate it.';
    END IF;
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
       AND (NOT coalesce($2, false) OR f.is_active)
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

    email := nullif(btrim(email), '');
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
        -- a registration cannot happen in the future (a few minutes of clock skew aside)
        IF globalsync.zoned_instant(v_at) > now() + interval '5 minutes' THEN
            RAISE EXCEPTION 'local_registration_time "%" in % is in the future', local_registration_time, v_zone
                USING ERRCODE = '22008',
                      HINT = 'Give the local wall time at which the patient was registered; omit it to use now.';
        END IF;
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
           pg_catalog.max(p.last_registration_ist) AS last_registration_ist
      FROM globalsync.facilities f
      LEFT JOIN (SELECT r.facility_id, count(*) AS patients,
                        pg_catalog.max(r.registered_at_ist) AS last_registration_ist
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
           pg_catalog.min(r.registered_at_ist) AS first_registration_ist,
           pg_catalog.max(r.registered_at_ist) AS last_registration_ist
      FROM globalsync.patient_registrations r
      JOIN globalsync.facilities f ON f.facility_id = r.facility_id
     GROUP BY 1, 2, 3, 4
     ORDER BY 1, 3;
COMMENT ON VIEW globalsync.registration_calendar IS
    'registrations per IST calendar day and facility';

-- ===================================================================
-- change capture: log, ticks, consumers, rotation
-- ===================================================================

-- Which slot of the log new events go to, and the rotation in progress
-- (see globalsync.maintain_log()).  One row.
CREATE TABLE globalsync.capture_state (
    singleton       boolean PRIMARY KEY DEFAULT true CONSTRAINT capture_state_one_row CHECK (singleton),
    generation      bigint NOT NULL DEFAULT 0,
    switch_xid      xid8,
    switch_done_xid xid8,
    switched_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    rotate_interval interval NOT NULL DEFAULT '10 minutes'
                    CONSTRAINT rotate_interval_positive CHECK (rotate_interval > '0'),
    rotate_bytes    bigint NOT NULL DEFAULT 67108864
                    CONSTRAINT rotate_bytes_positive CHECK (rotate_bytes > 0)
);
INSERT INTO globalsync.capture_state DEFAULT VALUES;
COMMENT ON TABLE globalsync.capture_state IS
    'the change log''s current generation (slot = generation % 3), the rotation in progress and when to rotate';

-- Per-database key of the keyed hash that masks columns.  Only the owner
-- can read it; the capture trigger reads it directly, not through SQL.
-- The key in use is the oldest row: CREATE EXTENSION makes one, and a
-- restore from pg_dump brings back the original, older one beside it, so
-- masks stay the same across dump and restore.
CREATE TABLE globalsync.capture_secrets (
    created_at  timestamptz PRIMARY KEY DEFAULT clock_timestamp(),
    mask_key    bytea NOT NULL
                CONSTRAINT mask_key_length CHECK (length(mask_key) BETWEEN 16 AND 1024)
);
INSERT INTO globalsync.capture_secrets (mask_key)
    VALUES (decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
COMMENT ON TABLE globalsync.capture_secrets IS
    'keys of the HMAC-SHA256 that replaces masked columns, the oldest in use; readable by the owner only';

CREATE SEQUENCE globalsync.change_log_event_id_seq AS bigint;

CREATE TABLE globalsync.change_log (
    event_id        bigint NOT NULL DEFAULT nextval('globalsync.change_log_event_id_seq'),
    slot            smallint NOT NULL,
    xid             xid8 NOT NULL DEFAULT pg_current_xact_id(),
    table_oid       oid NOT NULL,
    table_name      text NOT NULL,
    op              "char" NOT NULL CONSTRAINT op_known CHECK (op IN ('I', 'U', 'D', 'T')),
    pk              jsonb,
    row_data        jsonb,
    changed_columns text[],
    old_values      jsonb,
    facility_id     text,
    captured_at     timestamptz NOT NULL DEFAULT clock_timestamp()
) PARTITION BY LIST (slot);
ALTER SEQUENCE globalsync.change_log_event_id_seq OWNED BY globalsync.change_log.event_id;
CREATE TABLE globalsync.change_log_0 PARTITION OF globalsync.change_log FOR VALUES IN (0);
CREATE TABLE globalsync.change_log_1 PARTITION OF globalsync.change_log FOR VALUES IN (1);
CREATE TABLE globalsync.change_log_2 PARTITION OF globalsync.change_log FOR VALUES IN (2);
COMMENT ON TABLE globalsync.change_log_0 IS 'change_log slot 0: events of generations 0, 3, 6, ...';
COMMENT ON TABLE globalsync.change_log_1 IS 'change_log slot 1: events of generations 1, 4, 7, ...';
COMMENT ON TABLE globalsync.change_log_2 IS 'change_log slot 2: events of generations 2, 5, 8, ...';
-- A batch is a range of xids (those a tick sees and the previous one does
-- not).  xids grow with insertion order, so a BRIN index finds a range's
-- pages for next to no WAL: the newest pages stay unsummarized (and are
-- always read) until autosummarize or VACUUM summarizes them; a btree here
-- cost about 56 bytes of WAL per event.  PostgreSQL has no BRIN operator
-- class for xid8, so here is the standard minmax one.
CREATE OPERATOR CLASS globalsync.xid8_minmax_ops
    FOR TYPE xid8 USING brin AS
        OPERATOR 1 pg_catalog.< (xid8, xid8),
        OPERATOR 2 pg_catalog.<= (xid8, xid8),
        OPERATOR 3 pg_catalog.= (xid8, xid8),
        OPERATOR 4 pg_catalog.>= (xid8, xid8),
        OPERATOR 5 pg_catalog.> (xid8, xid8),
        FUNCTION 1 pg_catalog.brin_minmax_opcinfo(internal),
        FUNCTION 2 pg_catalog.brin_minmax_add_value(internal, internal, internal, internal),
        FUNCTION 3 pg_catalog.brin_minmax_consistent(internal, internal, internal),
        FUNCTION 4 pg_catalog.brin_minmax_union(internal, internal, internal);
CREATE INDEX change_log_xid ON globalsync.change_log
    USING brin (xid globalsync.xid8_minmax_ops) WITH (pages_per_range = 32, autosummarize = on);
COMMENT ON TABLE globalsync.change_log IS
    'one row per captured row change (and per TRUNCATE), written by the capture trigger; rotated through three partitions, never deleted row by row';
COMMENT ON COLUMN globalsync.change_log.event_id IS 'capture order; within one row, also commit order';
COMMENT ON COLUMN globalsync.change_log.slot IS 'partition the event was written to (generation % 3)';
COMMENT ON COLUMN globalsync.change_log.xid IS 'the capturing transaction; batches are cut by which ticks see it committed';
COMMENT ON COLUMN globalsync.change_log.op IS 'I insert, U update, D delete, T truncate';
COMMENT ON COLUMN globalsync.change_log.pk IS 'primary key of the row as jsonb (masked if a key column is masked)';
COMMENT ON COLUMN globalsync.change_log.row_data IS 'the new row as jsonb, without excluded columns and with masked ones hashed; NULL for D and T';
COMMENT ON COLUMN globalsync.change_log.changed_columns IS 'for U: the columns whose value changed';
COMMENT ON COLUMN globalsync.change_log.old_values IS 'for U: the old values of the changed columns';
COMMENT ON COLUMN globalsync.change_log.facility_id IS 'the row''s facility_id when the table has one, so targets can filter by facility';

CREATE TABLE globalsync.ticks (
    tick_id     bigint NOT NULL,
    slot        smallint NOT NULL,
    snapshot    pg_snapshot NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
) PARTITION BY LIST (slot);
CREATE TABLE globalsync.ticks_0 PARTITION OF globalsync.ticks FOR VALUES IN (0);
CREATE TABLE globalsync.ticks_1 PARTITION OF globalsync.ticks FOR VALUES IN (1);
CREATE TABLE globalsync.ticks_2 PARTITION OF globalsync.ticks FOR VALUES IN (2);
COMMENT ON TABLE globalsync.ticks_0 IS 'ticks slot 0, truncated with change_log_0';
COMMENT ON TABLE globalsync.ticks_1 IS 'ticks slot 1, truncated with change_log_1';
COMMENT ON TABLE globalsync.ticks_2 IS 'ticks slot 2, truncated with change_log_2';
CREATE UNIQUE INDEX ticks_tick_id ON globalsync.ticks (tick_id, slot);
CREATE SEQUENCE globalsync.ticks_tick_id_seq AS bigint OWNED BY globalsync.ticks.tick_id;
ALTER TABLE globalsync.ticks ALTER tick_id SET DEFAULT nextval('globalsync.ticks_tick_id_seq');
COMMENT ON TABLE globalsync.ticks IS
    'snapshots taken by globalsync.tick(): a batch is the events committed between two consecutive ticks';

CREATE TABLE globalsync.consumers (
    consumer        text PRIMARY KEY CONSTRAINT consumer_name CHECK (consumer ~ '^[A-Za-z0-9_.:-]{1,100}$'),
    last_tick       bigint NOT NULL,
    last_snapshot   pg_snapshot NOT NULL,
    batch_id        bigint,
    batch_tick      bigint,
    batch_snapshot  pg_snapshot,
    registered_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_finished_at timestamptz,
    CONSTRAINT batch_complete CHECK ((batch_id IS NULL) = (batch_tick IS NULL) AND (batch_id IS NULL) = (batch_snapshot IS NULL))
);
CREATE SEQUENCE globalsync.batch_id_seq AS bigint;
COMMENT ON TABLE globalsync.consumers IS
    'readers of the change log: the last tick each has finished and the batch it is working on';

SELECT pg_catalog.pg_extension_config_dump('globalsync.consumers', '');
-- event ids go on after a restore, so "a higher event_id is newer" holds at targets
SELECT pg_catalog.pg_extension_config_dump('globalsync.change_log_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('globalsync.ticks_tick_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('globalsync.batch_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('globalsync.capture_secrets', '');

-- the trigger and the tracking API

CREATE FUNCTION globalsync.capture_trigger()
    RETURNS trigger
    AS 'MODULE_PATHNAME', 'gs_capture_trigger'
    LANGUAGE C;
COMMENT ON FUNCTION globalsync.capture_trigger() IS
    'the C trigger attached by globalsync.track(): logs each row change (and TRUNCATE) to globalsync.change_log';

CREATE FUNCTION globalsync.track(tbl regclass, exclude_columns text[] DEFAULT '{}', mask_columns text[] DEFAULT '{}')
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_cols text[];
    v_pk text[];
    v_bad text[];
    v_kind "char";
    v_args text;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table to track must not be null' USING ERRCODE = '22004';
    END IF;
    SELECT relkind INTO v_kind FROM pg_class WHERE oid = tbl;
    IF v_kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'cannot track "%": not a table', tbl
            USING ERRCODE = '42809', HINT = 'Only ordinary and partitioned tables can be tracked.';
    END IF;
    IF (SELECT relnamespace FROM pg_class WHERE oid = tbl) = 'globalsync'::regnamespace
       AND tbl <> 'globalsync.patient_registrations'::regclass
       AND tbl <> 'globalsync.facilities'::regclass THEN
        RAISE EXCEPTION 'cannot track "%": it belongs to globalsync itself', tbl USING ERRCODE = '42809';
    END IF;
    SELECT array_agg(attname::text ORDER BY attnum) INTO v_cols
      FROM pg_attribute WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped;
    SELECT array_agg(a.attname::text ORDER BY k.ord) INTO v_pk
      FROM pg_index i
      CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = tbl AND i.indisprimary;
    IF v_pk IS NULL THEN
        RAISE EXCEPTION 'cannot track "%": it has no primary key', tbl
            USING ERRCODE = '55000',
                  DETAIL = 'Every captured change is identified by its primary key, so targets can apply it.',
                  HINT = format('Add one, for example ALTER TABLE %s ADD PRIMARY KEY (id).', tbl);
    END IF;
    exclude_columns := coalesce(exclude_columns, '{}');
    mask_columns := coalesce(mask_columns, '{}');
    SELECT array_agg(c) INTO v_bad FROM unnest(exclude_columns || mask_columns) c WHERE c <> ALL (v_cols) OR c IS NULL;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'table "%" has no column %', tbl, array_to_string(v_bad, ', ')
            USING ERRCODE = '42703', HINT = 'Name columns exactly as in the table (case-sensitive).';
    END IF;
    SELECT array_agg(c) INTO v_bad FROM unnest(exclude_columns) c WHERE c = ANY (v_pk);
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'cannot exclude primary key column % of "%"', array_to_string(v_bad, ', '), tbl
            USING ERRCODE = '22023', HINT = 'Mask it instead: targets then see a keyed hash they can join on.';
    END IF;
    SELECT array_agg(c) INTO v_bad FROM unnest(exclude_columns) c WHERE c = ANY (mask_columns);
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'column % of "%" cannot be both excluded and masked', array_to_string(v_bad, ', '), tbl
            USING ERRCODE = '22023';
    END IF;
    -- the trigger reads its settings from its arguments: no lookups per row
    -- the trigger reads its settings from its arguments, no lookups per
    -- row; columns are named by attribute number, which RENAME COLUMN
    -- keeps: a renamed excluded or masked column stays excluded or masked
    v_args := format('%L, %L',
        'exclude=' || coalesce((SELECT string_agg(attnum::text, ',' ORDER BY attnum) FROM pg_attribute
                                 WHERE attrelid = tbl AND attname::text = ANY (exclude_columns)), ''),
        'mask=' || coalesce((SELECT string_agg(attnum::text, ',' ORDER BY attnum) FROM pg_attribute
                              WHERE attrelid = tbl AND attname::text = ANY (mask_columns)), ''));
    IF NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = tbl), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to track it', tbl
            USING ERRCODE = '42501', HINT = 'Ask the table''s owner (a member of globalsync_admin) to call globalsync.track().';
    END IF;
    -- runs with the caller's rights: only who may create triggers on the
    -- table (its owner) can change what is captured
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = tbl AND tgname = 'globalsync_capture') THEN
        EXECUTE format('DROP TRIGGER globalsync_capture ON %s', tbl);
    END IF;
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = tbl AND tgname = 'globalsync_capture_truncate') THEN
        EXECUTE format('DROP TRIGGER globalsync_capture_truncate ON %s', tbl);
    END IF;
    EXECUTE format('CREATE TRIGGER globalsync_capture AFTER INSERT OR UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION globalsync.capture_trigger(%s)', tbl, v_args);
    EXECUTE format('CREATE TRIGGER globalsync_capture_truncate AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION globalsync.capture_trigger(%s)', tbl, v_args);
END
$$;
COMMENT ON FUNCTION globalsync.track(regclass, text[], text[]) IS
    'capture every INSERT, UPDATE, DELETE and TRUNCATE of a table with a primary key; excluded columns never reach the log, masked ones are replaced by a keyed hash';

CREATE FUNCTION globalsync.untrack(tbl regclass)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_found boolean;
BEGIN
    IF NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = tbl), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to untrack it', tbl
            USING ERRCODE = '42501', HINT = 'Ask the table''s owner (a member of globalsync_admin) to call globalsync.untrack().';
    END IF;
    v_found := EXISTS (SELECT FROM pg_trigger WHERE tgrelid = tbl AND tgname = 'globalsync_capture');
    IF v_found THEN
        EXECUTE format('DROP TRIGGER globalsync_capture ON %s', tbl);
    END IF;
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = tbl AND tgname = 'globalsync_capture_truncate') THEN
        EXECUTE format('DROP TRIGGER globalsync_capture_truncate ON %s', tbl);
    END IF;
    RETURN v_found;
END
$$;
COMMENT ON FUNCTION globalsync.untrack(regclass) IS
    'stop capturing a table''s changes (events already logged stay); returns whether it was tracked';

CREATE VIEW globalsync.tracked_tables AS
    SELECT t.tgrelid::regclass AS table_name,
           n.nspname::text AS schema_name,
           c.relname::text AS relation_name,
           ARRAY(SELECT a.attname::text FROM pg_attribute a
                  WHERE a.attrelid = t.tgrelid AND NOT a.attisdropped
                    AND a.attnum::text = ANY (string_to_array(substr(split_part(encode(t.tgargs, 'escape'), '\000', 1), 9), ','))
                  ORDER BY a.attnum) AS exclude_columns,
           ARRAY(SELECT a.attname::text FROM pg_attribute a
                  WHERE a.attrelid = t.tgrelid AND NOT a.attisdropped
                    AND a.attnum::text = ANY (string_to_array(substr(split_part(encode(t.tgargs, 'escape'), '\000', 2), 6), ','))
                  ORDER BY a.attnum) AS mask_columns,
           (SELECT array_agg(a.attname::text ORDER BY k.ord)
              FROM pg_index i
              CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE i.indrelid = t.tgrelid AND i.indisprimary) AS primary_key,
           EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = t.tgrelid AND a.attname = 'facility_id'
                      AND a.attnum > 0 AND NOT a.attisdropped) AS has_facility_id,
           t.tgenabled <> 'D' AS enabled
      FROM pg_trigger t
      JOIN pg_class c ON c.oid = t.tgrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE t.tgname = 'globalsync_capture'
       AND t.tgfoid = 'globalsync.capture_trigger()'::regprocedure;
COMMENT ON VIEW globalsync.tracked_tables IS
    'tables whose changes are captured, with excluded and masked columns and the primary key';

-- ticks and consumers

CREATE FUNCTION globalsync.tick()
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tick bigint;
    v_snap pg_snapshot;
    v_own xid8;
BEGIN
    -- Ticks must be in snapshot order: a tick whose snapshot is older than
    -- the one before it would deliver events twice.  So ticks take turns
    -- (the lock is held to commit) and the snapshot is taken by the next
    -- statement, after the lock: that needs READ COMMITTED.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'globalsync.tick() must run at isolation level READ COMMITTED, not %',
                        upper(current_setting('transaction_isolation'))
            USING ERRCODE = '25001',
                  DETAIL = 'A tick records the latest snapshot; a transaction snapshot taken earlier could put ticks out of order.',
                  HINT = 'Call it in its own READ COMMITTED transaction.';
    END IF;
    LOCK TABLE globalsync.ticks IN SHARE ROW EXCLUSIVE MODE;
    v_snap := pg_current_snapshot();
    -- a snapshot leaves out its own transaction: if this one has written
    -- (changes captured, a consumer registered), record it as in progress,
    -- so its changes go into the batch after its commit like anyone's
    v_own := pg_current_xact_id_if_assigned();
    IF v_own IS NOT NULL THEN
        v_snap := format('%s:%s:%s',
                         least(pg_snapshot_xmin(v_snap), v_own),
                         greatest(pg_snapshot_xmax(v_snap), (v_own::text::numeric + 1)::text::xid8),
                         (SELECT string_agg(x::text, ',' ORDER BY x)
                            FROM (SELECT pg_snapshot_xip(v_snap) AS x UNION SELECT v_own) u))::pg_snapshot;
    END IF;
    INSERT INTO globalsync.ticks (slot, snapshot)
    SELECT (s.generation % 3)::smallint, v_snap
      FROM globalsync.capture_state s
    RETURNING tick_id INTO v_tick;
    RETURN v_tick;
END
$$;
COMMENT ON FUNCTION globalsync.tick() IS
    'record the current snapshot as a tick; events committed between two ticks form one batch';

CREATE FUNCTION globalsync.register_consumer(consumer text)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tick bigint;
    v_snap pg_snapshot;
BEGIN
    IF consumer IS NULL OR consumer !~ '^[A-Za-z0-9_.:-]{1,100}$' THEN
        RAISE EXCEPTION 'invalid consumer name: "%"', consumer
            USING ERRCODE = '22023', HINT = 'Use 1 to 100 letters, digits, or _ . : - characters, for example target:TGT_1A2B3C4D.';
    END IF;
    SELECT c.last_tick INTO v_tick FROM globalsync.consumers c WHERE c.consumer = register_consumer.consumer;
    IF FOUND THEN
        RETURN v_tick;
    END IF;
    v_tick := globalsync.tick();
    SELECT t.snapshot INTO v_snap FROM globalsync.ticks t WHERE t.tick_id = v_tick;
    INSERT INTO globalsync.consumers (consumer, last_tick, last_snapshot)
        VALUES (register_consumer.consumer, v_tick, v_snap);
    RETURN v_tick;
END
$$;
COMMENT ON FUNCTION globalsync.register_consumer(text) IS
    'register a reader of the change log; it receives the changes committed after this call; returns its starting tick';

CREATE FUNCTION globalsync.unregister_consumer(consumer text)
    RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH d AS (DELETE FROM globalsync.consumers c WHERE c.consumer = unregister_consumer.consumer RETURNING 1)
    SELECT EXISTS (SELECT FROM d)
$$;
COMMENT ON FUNCTION globalsync.unregister_consumer(text) IS
    'forget a consumer; the log no longer waits for it';

CREATE FUNCTION globalsync.next_batch(consumer text, max_tick bigint DEFAULT NULL,
        OUT batch_id bigint, OUT prev_tick bigint, OUT tick bigint,
        OUT prev_snapshot pg_snapshot, OUT snapshot pg_snapshot)
    RETURNS record
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c globalsync.consumers;
    t globalsync.ticks;
BEGIN
    SELECT * INTO c FROM globalsync.consumers x WHERE x.consumer = next_batch.consumer FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'consumer "%" is not registered', next_batch.consumer
            USING ERRCODE = '42704', HINT = 'Register it with globalsync.register_consumer().';
    END IF;
    IF c.batch_id IS NULL THEN
        -- without max_tick: the next tick after the consumer's; with it: the
        -- newest tick up to max_tick, so a consumer that fell many ticks
        -- behind takes everything since in one batch (snapshots only grow,
        -- so the events between any two ticks are exactly one batch)
        IF max_tick IS NULL THEN
            SELECT * INTO t FROM globalsync.ticks x WHERE x.tick_id > c.last_tick ORDER BY x.tick_id LIMIT 1;
        ELSE
            SELECT * INTO t FROM globalsync.ticks x WHERE x.tick_id > c.last_tick AND x.tick_id <= max_tick
             ORDER BY x.tick_id DESC LIMIT 1;
        END IF;
        IF NOT FOUND THEN
            RETURN;     -- all NULL: nothing to do until the next tick
        END IF;
        UPDATE globalsync.consumers x
           SET batch_id = nextval('globalsync.batch_id_seq'), batch_tick = t.tick_id, batch_snapshot = t.snapshot
         WHERE x.consumer = next_batch.consumer
        RETURNING * INTO c;
    END IF;
    batch_id := c.batch_id;
    prev_tick := c.last_tick;
    tick := c.batch_tick;
    prev_snapshot := c.last_snapshot;
    snapshot := c.batch_snapshot;
END
$$;
COMMENT ON FUNCTION globalsync.next_batch(text, bigint) IS
    'the consumer''s current batch: the changes committed between its last finished tick and the next one (or the newest one up to max_tick); returned again until finished (at least once); NULLs if there is no new tick';

CREATE FUNCTION globalsync.batch_events(batch_id bigint, after_event_id bigint DEFAULT 0, max_events integer DEFAULT 1000)
    RETURNS SETOF globalsync.change_log
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c globalsync.consumers;
    v_lo xid8;          -- xmin of the previous tick: older xids were all in it
    v_prev_xmax xid8;   -- xids from here on were not in the previous tick
    v_batch_xmin xid8;  -- xids below this had ended by the batch's tick
    v_hi xid8;          -- xmax of the batch's tick: newer xids are not in it
BEGIN
    IF max_events IS NULL OR max_events < 1 THEN
        RAISE EXCEPTION 'max_events must be at least 1' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO c FROM globalsync.consumers x WHERE x.batch_id = batch_events.batch_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'batch % is not open', batch_events.batch_id
            USING ERRCODE = '42704', HINT = 'Get the current batch with globalsync.next_batch(consumer); a finished batch cannot be read again.';
    END IF;
    -- committed in the batch's tick, not yet in the previous one; the
    -- xid range lets the BRIN index on xid skip older pages
    -- the snapshots are looked into only for xids between a tick's xmin and
    -- xmax (in progress at that tick); the rest is decided by comparison,
    -- which saves two function calls (and snapshot copies) per event
    v_lo := pg_snapshot_xmin(c.last_snapshot);
    v_prev_xmax := pg_snapshot_xmax(c.last_snapshot);
    v_batch_xmin := pg_snapshot_xmin(c.batch_snapshot);
    v_hi := pg_snapshot_xmax(c.batch_snapshot);
    RETURN QUERY
        SELECT l.* FROM globalsync.change_log l
         WHERE l.xid >= v_lo
           AND l.xid < v_hi
           AND (l.xid < v_batch_xmin OR pg_visible_in_snapshot(l.xid, c.batch_snapshot))
           AND (l.xid >= v_prev_xmax OR NOT pg_visible_in_snapshot(l.xid, c.last_snapshot))
           AND l.event_id > coalesce(after_event_id, 0)
         ORDER BY l.event_id
         LIMIT max_events;
END
$$;
COMMENT ON FUNCTION globalsync.batch_events(bigint, bigint, integer) IS
    'one page of a batch''s events in capture order (max_events after after_event_id); page until fewer than max_events come back';

CREATE FUNCTION globalsync.finish_batch(batch_id bigint)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE globalsync.consumers c
       SET last_tick = c.batch_tick, last_snapshot = c.batch_snapshot,
           batch_id = NULL, batch_tick = NULL, batch_snapshot = NULL,
           last_finished_at = now()
     WHERE c.batch_id = finish_batch.batch_id;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION globalsync.finish_batch(bigint) IS
    'mark a batch delivered: the consumer moves past its tick; returns false if the batch was not open';

-- rotation: no row-by-row DELETE, ever

CREATE FUNCTION globalsync.maintain_log()
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s globalsync.capture_state;
    v_old smallint;
    v_cur smallint;
    v_size bigint;
    v_had_xid boolean := pg_current_xact_id_if_assigned() IS NOT NULL;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'globalsync.maintain_log() must run at isolation level READ COMMITTED'
            USING ERRCODE = '25001', HINT = 'Call it in its own READ COMMITTED transaction.';
    END IF;
    SELECT * INTO s FROM globalsync.capture_state FOR UPDATE;
    v_cur := (s.generation % 3)::smallint;
    v_old := ((s.generation + 2) % 3)::smallint;
    IF s.switch_xid IS NOT NULL AND s.switch_done_xid IS NULL THEN
        IF v_had_xid THEN
            -- this transaction's xid may be older than writers of the old slot
            RETURN 'call again in a new transaction';
        END IF;
        -- a transaction that read the old generation got its xid before
        -- the switch committed, so before this one: older than switch_done_xid
        UPDATE globalsync.capture_state SET switch_done_xid = pg_current_xact_id();
        RETURN 'switch recorded';
    END IF;
    IF s.switch_done_xid IS NOT NULL THEN
        -- the old slot can go once every consumer has finished a tick in which
        -- all its writers are complete
        -- first wait for the old slot's last writers, then keep consumers
        -- from registering, and only then look at them (a new statement,
        -- so a new snapshot): a consumer that registered while a writer of
        -- the old slot was still open is seen and waited for
        EXECUTE format('LOCK TABLE globalsync.change_log_%s, globalsync.ticks_%s IN ACCESS EXCLUSIVE MODE', v_old, v_old);
        LOCK TABLE globalsync.consumers IN SHARE MODE;
        IF EXISTS (SELECT FROM globalsync.consumers c
                    WHERE pg_snapshot_xmin(c.last_snapshot) <= s.switch_done_xid) THEN
            RETURN 'waiting for consumers';
        END IF;
        EXECUTE format('TRUNCATE globalsync.change_log_%s, globalsync.ticks_%s', v_old, v_old);
        UPDATE globalsync.capture_state SET switch_xid = NULL, switch_done_xid = NULL;
        RETURN format('truncated slot %s', v_old);
    END IF;
    -- ticks rotate with the log, so rotate when either holds anything
    v_size := pg_relation_size(format('globalsync.change_log_%s', v_cur)::regclass)
              + pg_relation_size(format('globalsync.ticks_%s', v_cur)::regclass);
    IF v_size > 0 AND (now() - s.switched_at >= s.rotate_interval OR v_size >= s.rotate_bytes) THEN
        UPDATE globalsync.capture_state
           SET generation = generation + 1, switch_xid = pg_current_xact_id(), switched_at = now();
        RETURN format('switched to slot %s', (s.generation + 1) % 3);
    END IF;
    RETURN 'nothing to do';
END
$$;
COMMENT ON FUNCTION globalsync.maintain_log()
    IS 'one step of log rotation: switch new events to the next partition, then TRUNCATE the old one once every consumer is past it; call it repeatedly (the worker does)';

CREATE VIEW globalsync.capture_stats AS
    SELECT 'events'::text AS kind, e.table_name, e.op::text AS op, NULL::text AS consumer,
           e.events, NULL::interval AS oldest_pending_age, NULL::bigint AS bytes
      FROM (SELECT l.table_name, l.op, count(*) AS events
              FROM globalsync.change_log l GROUP BY 1, 2) e
    UNION ALL
    SELECT 'pending', NULL, NULL, c.consumer,
           (SELECT count(*) FROM globalsync.change_log l
             WHERE l.xid >= pg_snapshot_xmin(c.last_snapshot)
               AND NOT pg_visible_in_snapshot(l.xid, c.last_snapshot)),
           (SELECT CASE WHEN min(l.captured_at) IS NOT NULL
                        THEN greatest(interval '0', clock_timestamp() - min(l.captured_at)) END
              FROM globalsync.change_log l
             WHERE l.xid >= pg_snapshot_xmin(c.last_snapshot)
               AND NOT pg_visible_in_snapshot(l.xid, c.last_snapshot)),
           NULL
      FROM globalsync.consumers c
    UNION ALL
    SELECT 'log_size', NULL, NULL, NULL, NULL, NULL,
           pg_total_relation_size('globalsync.change_log_0') + pg_total_relation_size('globalsync.change_log_1')
           + pg_total_relation_size('globalsync.change_log_2');
COMMENT ON VIEW globalsync.capture_stats IS
    'kind = events: events in the log per table and operation; pending: events not yet finished per consumer and the oldest one''s age; log_size: bytes of the log';

CREATE FUNCTION globalsync.capture_pending(OUT pending_commits bigint, OUT last_commit_at timestamptz)
    RETURNS record
    AS 'MODULE_PATHNAME', 'gs_capture_pending'
    LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync.capture_pending() IS
    'commits that captured changes in this database since the server started, and when the last one happened (needs shared_preload_libraries; NULLs without it)';

SELECT globalsync.track('globalsync.patient_registrations');

-- ===================================================================
-- sync engine: targets, syncs, delivery state, dead letters
-- ===================================================================

-- Per-target delivery state, written only by the worker and the API
-- below: where the cursor is inside the consumer's open batch, the
-- circuit breaker, the last outcome.
CREATE TABLE globalsync.target_state (
    target_id           text PRIMARY KEY REFERENCES globalsync.targets (target_id) ON UPDATE CASCADE ON DELETE CASCADE,
    consumer            text NOT NULL UNIQUE,
    position_batch      bigint,
    position            bigint NOT NULL DEFAULT 0,
    consecutive_failures integer NOT NULL DEFAULT 0,
    breaker_until       timestamptz,
    last_scheduled_at   timestamptz,
    last_success_at     timestamptz,
    last_failure_at     timestamptz,
    last_error          text
);
COMMENT ON TABLE globalsync.target_state IS
    'delivery state of each target: position in its open batch, circuit breaker, last outcome (written by the worker)';

CREATE TABLE globalsync.dead_letters (
    dead_letter_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_id       text NOT NULL REFERENCES globalsync.targets (target_id) ON UPDATE CASCADE ON DELETE CASCADE,
    sync_id         text,
    batch_id        text NOT NULL,
    events          jsonb NOT NULL CONSTRAINT events_array CHECK (jsonb_typeof(events) = 'array'),
    event_count     integer NOT NULL,
    first_event_id  bigint,
    last_event_id   bigint,
    attempts        integer NOT NULL DEFAULT 0,
    error           text,
    status          text NOT NULL DEFAULT 'dead'
                    CONSTRAINT dead_letter_status CHECK (status IN ('dead', 'queued', 'replayed', 'discarded')),
    failed_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    settled_at      timestamptz,
    replay_sync_id  text
);
CREATE INDEX dead_letters_target_idx ON globalsync.dead_letters (target_id, status);
COMMENT ON TABLE globalsync.dead_letters IS
    'batches a target refused for good or that ran out of attempts, with their events, until replayed or discarded';
COMMENT ON COLUMN globalsync.dead_letters.events IS 'the events exactly as they were sent, one JSON object each';
COMMENT ON COLUMN globalsync.dead_letters.status IS
    'dead (waiting for a decision), queued (a replay is queued), replayed, discarded';

-- One row per facility per acknowledged batch: the lag statistics.
CREATE TABLE globalsync.deliveries (
    target_id       text NOT NULL REFERENCES globalsync.targets (target_id) ON UPDATE CASCADE ON DELETE CASCADE,
    sync_id         text NOT NULL,
    facility_id     text,
    events          integer NOT NULL,
    lag_seconds     double precision NOT NULL,
    acked_at        timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX deliveries_acked_idx ON globalsync.deliveries (acked_at);
CREATE INDEX deliveries_target_idx ON globalsync.deliveries (target_id, acked_at);
COMMENT ON TABLE globalsync.deliveries IS
    'per acknowledged batch and facility: events delivered and lag (acknowledgement minus capture time of the oldest event)';

-- Progress of the snapshot phase of full syncs, per table (resumable).
CREATE TABLE globalsync.full_sync_state (
    sync_id     text NOT NULL,
    table_name  text NOT NULL,
    after_pk    text[],
    chunks      bigint NOT NULL DEFAULT 0,
    rows_sent   bigint NOT NULL DEFAULT 0,
    done        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (sync_id, table_name)
);
COMMENT ON TABLE globalsync.full_sync_state IS
    'snapshot phase of full syncs: per table, the primary key of the last row acknowledged';

-- Signing secrets of targets.  Only the extension's owner can read this
-- table: no view, NOTIFY payload or error message shows a secret.  The
-- server log shows the text of a statement that fails
-- (log_min_error_statement): pass the secret as a bind parameter, which is
-- not logged unless log_parameter_max_length_on_error is set.
CREATE TABLE globalsync.target_secrets (
    target_id   text PRIMARY KEY REFERENCES globalsync.targets (target_id) ON UPDATE CASCADE ON DELETE CASCADE,
    secret      text NOT NULL,
    set_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    set_by      text NOT NULL DEFAULT session_user
);
COMMENT ON TABLE globalsync.target_secrets IS
    'secrets of targets (signing secret, access keys, private key, token; set with set_target_secret()); readable by the extension''s owner only';

SELECT pg_catalog.pg_extension_config_dump('globalsync.target_secrets', '');
SELECT pg_catalog.pg_extension_config_dump('globalsync.target_state', '');
SELECT pg_catalog.pg_extension_config_dump('globalsync.dead_letters', '');
SELECT pg_catalog.pg_extension_config_dump('globalsync.dead_letters_dead_letter_id_seq', '');

-- C entry points

CREATE FUNCTION globalsync.validate_target_kind(kind text, endpoint text, options jsonb)
    RETURNS void
    AS 'MODULE_PATHNAME', 'gs_validate_target_kind'
    LANGUAGE C STRICT;
COMMENT ON FUNCTION globalsync.validate_target_kind(text, text, jsonb) IS
    'check a target''s endpoint and kind-specific options with its driver; raises an error if they are not valid';

CREATE FUNCTION globalsync._wake_worker()
    RETURNS void
    AS 'MODULE_PATHNAME', 'gs_wake_worker'
    LANGUAGE C;
COMMENT ON FUNCTION globalsync._wake_worker() IS
    'internal: at commit, tell this database''s worker that targets or queued syncs changed';

CREATE FUNCTION globalsync._request_cancel(sync_id text)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'gs_request_cancel'
    LANGUAGE C STRICT;
COMMENT ON FUNCTION globalsync._request_cancel(text) IS
    'internal: flag a running sync for cancellation; false if no worker is running it';

CREATE FUNCTION globalsync.sync_progress_raw(
        OUT sync_id text, OUT target_id text, OUT facility_id text, OUT operation_type text,
        OUT status text, OUT step integer, OUT total_steps integer, OUT progress_percentage integer,
        OUT step_name text, OUT current_step text, OUT records_found bigint, OUT records_sent bigint,
        OUT records_acknowledged bigint, OUT records_failed bigint, OUT bytes_sent bigint,
        OUT started_at timestamptz, OUT last_updated timestamptz, OUT pid integer, OUT last_error text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'gs_sync_progress_raw'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION globalsync.sync_progress_raw() IS
    'the shared-memory progress slots of this database''s running syncs (behind the view sync_progress)';

CREATE FUNCTION globalsync.worker_info(OUT launcher_pid integer, OUT worker_pid integer)
    RETURNS record
    AS 'MODULE_PATHNAME', 'gs_worker_info'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION globalsync.worker_info() IS
    'pids of the launcher and of this database''s sync worker (0: not running; NULL: library not preloaded)';

CREATE FUNCTION globalsync.snapshot_row(tbl regclass, r record)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'gs_snapshot_row'
    LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION globalsync.snapshot_row(regclass, record) IS
    'a row of a tracked table as capture logs it: {pk, row, facility_id}, excluded columns left out, masked ones hashed';

CREATE FUNCTION globalsync.webhook_signature(secret text, msg_id text, msg_timestamp bigint, body text)
    RETURNS text
    AS 'MODULE_PATHNAME', 'gs_webhook_signature'
    LANGUAGE C IMMUTABLE STRICT;
COMMENT ON FUNCTION globalsync.webhook_signature(text, text, bigint, text) IS
    'the Standard Webhooks signature http targets send: v1, + base64(HMAC-SHA256(key, msg_id.msg_timestamp.body)), key = base64-decoded secret after an optional whsec_ prefix';

CREATE FUNCTION globalsync._check_target_secret(kind text, secret text)
    RETURNS void
    AS 'MODULE_PATHNAME', 'gs_check_target_secret'
    LANGUAGE C STRICT;
COMMENT ON FUNCTION globalsync._check_target_secret(text, text) IS
    'internal: raise an error (without showing it) if a secret is not usable by targets of this kind';

-- FHIR R4 resources (the fhir target sends these; usable on their own)

CREATE FUNCTION globalsync._fhir_resource(resource_type text, row_data jsonb,
                                          identifier_system text, organization_system text)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'gs_fhir_resource'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync._fhir_resource(text, jsonb, text, text) IS
    'internal: the FHIR R4 Patient or Organization of a row given as jsonb (what the fhir target and to_fhir_patient/to_fhir_organization share)';

CREATE FUNCTION globalsync.to_fhir_patient(patient globalsync.patient_registrations,
                                           identifier_system text DEFAULT 'urn:globalsync:patient-id',
                                           organization_system text DEFAULT 'urn:globalsync:facility-id')
    RETURNS jsonb
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    RETURN globalsync._fhir_resource('Patient', pg_catalog.to_jsonb(patient), identifier_system, organization_system);
COMMENT ON FUNCTION globalsync.to_fhir_patient(globalsync.patient_registrations, text, text) IS
    'the FHIR R4 Patient of a registration: identifier (MR), name, birthDate, telecom, managingOrganization and the registration time and zone as an extension';

CREATE FUNCTION globalsync.to_fhir_organization(facility globalsync.facilities,
                                                identifier_system text DEFAULT 'urn:globalsync:facility-id')
    RETURNS jsonb
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    RETURN globalsync._fhir_resource('Organization', pg_catalog.to_jsonb(facility), identifier_system, identifier_system);
COMMENT ON FUNCTION globalsync.to_fhir_organization(globalsync.facilities, text) IS
    'the FHIR R4 Organization of a facility: identifier, name, active, address (location) and its time zone as an extension';

CREATE FUNCTION globalsync.to_fhir_bundle(events text,
                                          identifier_system text DEFAULT 'urn:globalsync:patient-id',
                                          organization_system text DEFAULT 'urn:globalsync:facility-id')
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'gs_to_fhir_bundle'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION globalsync.to_fhir_bundle(text, text, text) IS
    'the FHIR R4 transaction Bundle a fhir target sends for events given as NDJSON lines (the file target''s format): conditional updates and deletes by identifier';

-- targets

CREATE FUNCTION globalsync._resolve_tracked(name text)
    RETURNS regclass
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_rel regclass;
    v_n integer;
BEGIN
    -- schema-qualified, however quoted
    v_rel := to_regclass(name);
    IF v_rel IS NULL THEN
        -- a bare name: the one tracked table of that name, whatever its schema
        SELECT min(t.tgrelid::regclass::oid)::regclass, count(*) INTO v_rel, v_n
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE t.tgname = 'globalsync_capture'
           AND (c.relname = name OR quote_ident(c.relname) = name);
        IF v_n > 1 THEN
            RAISE EXCEPTION 'table name "%" in option "tables" is ambiguous', name USING ERRCODE = '22023',
                DETAIL = format('%s tracked tables in different schemas have that name.', v_n),
                HINT = 'Qualify it with its schema, for example public.patients.';
        END IF;
    END IF;
    IF v_rel IS NULL OR NOT EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = v_rel AND t.tgname = 'globalsync_capture') THEN
        RAISE EXCEPTION 'table "%" in option "tables" is not a tracked table', name USING ERRCODE = '22023',
            HINT = 'Track it first with globalsync.track(), or see globalsync.tracked_tables.';
    END IF;
    RETURN v_rel;
END
$$;
COMMENT ON FUNCTION globalsync._resolve_tracked(text) IS
    'internal: the tracked table a name in a target''s tables option means (schema-qualified, or a bare name of exactly one tracked table)';

CREATE FUNCTION globalsync._check_target_options(options jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_sched text;
    v_iv interval;
    v_bad text;
    v_tables jsonb;
BEGIN
    IF options IS NULL OR jsonb_typeof(options) <> 'object' THEN
        RAISE EXCEPTION 'target options must be a JSON object'
            USING ERRCODE = '22023', HINT = 'Pass for example ''{"schedule": "15 minutes"}''.';
    END IF;
    IF options ? 'schedule' THEN
        IF jsonb_typeof(options->'schedule') <> 'string' THEN
            RAISE EXCEPTION 'option "schedule" must be a string' USING ERRCODE = '22023',
                HINT = 'Use ''realtime'', ''manual'' or an interval such as ''15 minutes''.';
        END IF;
        v_sched := options->>'schedule';
        IF v_sched NOT IN ('realtime', 'manual') THEN
            BEGIN
                v_iv := v_sched::interval;
            EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow THEN
                RAISE EXCEPTION 'invalid schedule: "%"', v_sched USING ERRCODE = '22023',
                    DETAIL = 'A schedule is ''realtime'', ''manual'' or an interval.',
                    HINT = 'Use for example ''15 minutes'' or ''1 hour''.';
            END;
            IF v_iv < interval '1 second' OR extract(epoch FROM v_iv) > 366 * 86400 THEN
                RAISE EXCEPTION 'schedule interval % is out of range', v_sched USING ERRCODE = '22023',
                    DETAIL = 'A scheduled target syncs at most once a second and at least once a year.';
            END IF;
        END IF;
    END IF;
    IF options ? 'tables' THEN
        IF jsonb_typeof(options->'tables') <> 'array' OR jsonb_array_length(options->'tables') = 0
           OR EXISTS (SELECT FROM jsonb_array_elements(options->'tables') e WHERE jsonb_typeof(e) <> 'string') THEN
            RAISE EXCEPTION 'option "tables" must be a non-empty array of table names' USING ERRCODE = '22023',
                HINT = 'Leave it out to send every tracked table.';
        END IF;
        -- a name as tracked_tables shows it (schema-qualified or not) or as
        -- the change log spells it; spelled like the change log from here on
        SELECT jsonb_agg(DISTINCT format('%I.%I', n.nspname, c.relname)) INTO v_tables
          FROM jsonb_array_elements_text(options->'tables') e
          JOIN pg_class c ON c.oid = globalsync._resolve_tracked(e)
          JOIN pg_namespace n ON n.oid = c.relnamespace;
        options := jsonb_set(options, '{tables}', v_tables);
    END IF;
    IF options ? 'facilities' THEN
        IF jsonb_typeof(options->'facilities') <> 'array' OR jsonb_array_length(options->'facilities') = 0
           OR EXISTS (SELECT FROM jsonb_array_elements(options->'facilities') e WHERE jsonb_typeof(e) <> 'string') THEN
            RAISE EXCEPTION 'option "facilities" must be a non-empty array of facility ids' USING ERRCODE = '22023',
                HINT = 'Leave it out to send every facility''s data.';
        END IF;
        SELECT e INTO v_bad FROM jsonb_array_elements_text(options->'facilities') e
         WHERE NOT EXISTS (SELECT FROM globalsync.facilities f WHERE f.facility_id = e) LIMIT 1;
        IF v_bad IS NOT NULL THEN
            RAISE EXCEPTION 'facility "%" in option "facilities" does not exist', v_bad USING ERRCODE = '22023',
                HINT = 'See globalsync.list_facilities().';
        END IF;
    END IF;
    IF options ? 'max_batch_events' AND (jsonb_typeof(options->'max_batch_events') <> 'number'
        OR (options->>'max_batch_events')::numeric NOT BETWEEN 1 AND 100000
        OR (options->>'max_batch_events')::numeric <> trunc((options->>'max_batch_events')::numeric)) THEN
        RAISE EXCEPTION 'option "max_batch_events" must be an integer between 1 and 100000' USING ERRCODE = '22023';
    END IF;
    IF options ? 'max_batch_bytes' AND (jsonb_typeof(options->'max_batch_bytes') <> 'number'
        OR (options->>'max_batch_bytes')::numeric NOT BETWEEN 1024 AND 1073741824
        OR (options->>'max_batch_bytes')::numeric <> trunc((options->>'max_batch_bytes')::numeric)) THEN
        RAISE EXCEPTION 'option "max_batch_bytes" must be an integer between 1024 and 1073741824' USING ERRCODE = '22023';
    END IF;
    RETURN options;
END
$$;
COMMENT ON FUNCTION globalsync._check_target_options(jsonb) IS
    'internal: validate the options every kind of target takes; returns them normalised';

CREATE FUNCTION globalsync.add_target(name text, kind text, endpoint text, options jsonb DEFAULT '{}')
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id text;
BEGIN
    name := btrim(name);
    IF name IS NULL OR name = '' THEN
        RAISE EXCEPTION 'target name must not be empty' USING ERRCODE = '22023';
    END IF;
    IF length(name) > 200 THEN
        RAISE EXCEPTION 'target name is longer than 200 characters' USING ERRCODE = '22023';
    END IF;
    IF kind IS NULL OR kind NOT IN ('file', 'http', 's3', 'snowflake', 'fhir') THEN
        RAISE EXCEPTION 'unknown target kind: "%"', kind USING ERRCODE = '22023',
            HINT = 'Kinds are file, http, s3, snowflake and fhir.';
    END IF;
    IF endpoint IS NULL OR btrim(endpoint) = '' THEN
        RAISE EXCEPTION 'target endpoint must not be empty' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT FROM globalsync.targets t WHERE t.name = add_target.name) THEN
        RAISE EXCEPTION 'a target named "%" already exists', name USING ERRCODE = '23505',
            HINT = 'Choose another name, or change the existing one with globalsync.alter_target().';
    END IF;
    options := globalsync._check_target_options(coalesce(options, '{}'));
    PERFORM globalsync.validate_target_kind(kind, endpoint, options);
    INSERT INTO globalsync.targets (name, kind, endpoint, options)
        VALUES (btrim(add_target.name), kind, endpoint, options)
    RETURNING target_id INTO v_id;
    INSERT INTO globalsync.target_state (target_id, consumer) VALUES (v_id, 'target:' || v_id);
    -- it receives the changes committed after this call
    PERFORM globalsync.register_consumer('target:' || v_id);
    PERFORM globalsync._wake_worker();
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION globalsync.add_target(text, text, text, jsonb) IS
    'create a target (kind file, http, s3, snowflake or fhir) with validated options; it receives changes committed from now on; returns its TGT_ id';

CREATE FUNCTION globalsync.alter_target(target_id text, name text DEFAULT NULL, endpoint text DEFAULT NULL,
                                        options jsonb DEFAULT NULL, is_active boolean DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t globalsync.targets;
BEGIN
    SELECT * INTO t FROM globalsync.targets x WHERE x.target_id = alter_target.target_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'target "%" does not exist', target_id USING ERRCODE = '42704';
    END IF;
    IF name IS NOT NULL THEN
        IF btrim(name) = '' THEN
            RAISE EXCEPTION 'target name must not be empty' USING ERRCODE = '22023';
        END IF;
        IF length(btrim(name)) > 200 THEN
            RAISE EXCEPTION 'target name is longer than 200 characters' USING ERRCODE = '22023';
        END IF;
        IF EXISTS (SELECT FROM globalsync.targets x WHERE x.name = btrim(alter_target.name)
                     AND x.target_id <> t.target_id) THEN
            RAISE EXCEPTION 'a target named "%" already exists', name USING ERRCODE = '23505';
        END IF;
        t.name := btrim(name);
    END IF;
    IF endpoint IS NOT NULL THEN
        t.endpoint := endpoint;
    END IF;
    IF options IS NOT NULL THEN
        t.options := globalsync._check_target_options(options);
    END IF;
    IF is_active IS NOT NULL THEN
        t.is_active := is_active;
    END IF;
    -- renaming or switching a target off needs no check (and must work for
    -- a target whose host has since left globalsync.allowed_hosts)
    IF endpoint IS NOT NULL OR options IS NOT NULL OR is_active THEN
        PERFORM globalsync.validate_target_kind(t.kind, t.endpoint, t.options);
    END IF;
    UPDATE globalsync.targets x
       SET name = t.name, endpoint = t.endpoint, options = t.options, is_active = t.is_active
     WHERE x.target_id = t.target_id;
    IF is_active THEN
        -- a target switched on again starts with a closed breaker
        UPDATE globalsync.target_state s SET consecutive_failures = 0, breaker_until = NULL
         WHERE s.target_id = t.target_id;
    END IF;
    PERFORM globalsync._wake_worker();
END
$$;
COMMENT ON FUNCTION globalsync.alter_target(text, text, text, jsonb, boolean) IS
    'change a target''s name, endpoint, options (replaced as a whole, validated again) or active flag; NULL leaves a field as it is';

CREATE FUNCTION globalsync.remove_target(target_id text)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_consumer text;
BEGIN
    SELECT s.consumer INTO v_consumer FROM globalsync.target_state s WHERE s.target_id = remove_target.target_id;
    DELETE FROM globalsync.targets t WHERE t.target_id = remove_target.target_id;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF v_consumer IS NOT NULL THEN
        PERFORM globalsync.unregister_consumer(v_consumer);
    END IF;
    PERFORM globalsync._wake_worker();
    RETURN true;
END
$$;
COMMENT ON FUNCTION globalsync.remove_target(text) IS
    'remove a target with its history, delivery statistics and dead letters; the change log stops waiting for it';

CREATE FUNCTION globalsync.set_target_secret(target_id text, secret text)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind text;
BEGIN
    SELECT t.kind INTO kind FROM globalsync.targets t WHERE t.target_id = set_target_secret.target_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'target "%" does not exist', target_id USING ERRCODE = '42704';
    END IF;
    IF secret IS NULL THEN
        DELETE FROM globalsync.target_secrets s WHERE s.target_id = set_target_secret.target_id;
    ELSE
        PERFORM globalsync._check_target_secret(kind, secret);
        INSERT INTO globalsync.target_secrets (target_id, secret) VALUES (target_id, secret)
        ON CONFLICT ON CONSTRAINT target_secrets_pkey
        DO UPDATE SET secret = EXCLUDED.secret, set_at = now(), set_by = session_user;
    END IF;
    PERFORM globalsync._wake_worker();
END
$$;
COMMENT ON FUNCTION globalsync.set_target_secret(text, text) IS
    'set (or with NULL remove) the secret of a target: http: whsec_ + base64 signing secret; s3: JSON access_key_id, secret_access_key, session_token; snowflake: PEM private key; fhir: bearer token. Stored where no role but the owner can read it';

-- syncs

CREATE FUNCTION globalsync.start_sync(target_id text, facility_id text DEFAULT NULL, mode text DEFAULT 'incremental')
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t globalsync.targets;
    v_id text;
BEGIN
    SELECT * INTO t FROM globalsync.targets x WHERE x.target_id = start_sync.target_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'target "%" does not exist', target_id USING ERRCODE = '42704',
            HINT = 'See globalsync.target_health for the targets.';
    END IF;
    IF NOT t.is_active THEN
        RAISE EXCEPTION 'target "%" is not active', t.name USING ERRCODE = '55000',
            HINT = 'Activate it with globalsync.alter_target(target_id, is_active => true).';
    END IF;
    IF mode IS NULL OR mode NOT IN ('incremental', 'full') THEN
        RAISE EXCEPTION 'invalid sync mode: "%"', mode USING ERRCODE = '22023',
            HINT = 'Use ''incremental'' (changes not yet delivered) or ''full'' (a snapshot of the tracked tables, then the changes).';
    END IF;
    IF facility_id IS NOT NULL AND NOT EXISTS (SELECT FROM globalsync.facilities f WHERE f.facility_id = start_sync.facility_id) THEN
        RAISE EXCEPTION 'facility "%" does not exist', facility_id USING ERRCODE = '23503',
            HINT = 'See globalsync.list_facilities().';
    END IF;
    IF NOT globalsync.library_preloaded() THEN
        RAISE WARNING 'globalsync is not in shared_preload_libraries: no worker will run this sync'
            USING HINT = 'Add globalsync to shared_preload_libraries and restart the server.';
    END IF;
    INSERT INTO globalsync.sync_log (source_facility_id, target_id, operation_type, status, created_by_user)
        VALUES (facility_id, target_id, CASE mode WHEN 'full' THEN 'FULL_SYNC' ELSE 'MANUAL_SYNC' END,
                'queued', session_user)
    RETURNING sync_id INTO v_id;
    PERFORM globalsync._wake_worker();
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION globalsync.start_sync(text, text, text) IS
    'queue a sync of a target: incremental (everything not yet delivered that committed before the worker starts the sync) or full (a snapshot, limited to facility_id when given, then the changes); returns its SYN_ id';

CREATE FUNCTION globalsync.sync_status(sync_id text)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    l globalsync.sync_log;
    p record;
BEGIN
    SELECT * INTO l FROM globalsync.sync_log x WHERE x.sync_id = sync_status.sync_id;
    SELECT * INTO p FROM globalsync.sync_progress_raw() x WHERE x.sync_id = sync_status.sync_id;
    IF l.log_id IS NULL AND p.sync_id IS NULL THEN
        RAISE EXCEPTION 'sync "%" does not exist', sync_id USING ERRCODE = '42704',
            HINT = 'See globalsync.sync_history.';
    END IF;
    IF p.sync_id IS NOT NULL AND (l.log_id IS NULL OR l.status IN ('queued', 'running')) THEN
        RETURN jsonb_build_object(
            'sync_id', p.sync_id, 'target_id', p.target_id, 'facility_id', p.facility_id,
            'operation_type', p.operation_type, 'status', p.status,
            'step', p.step, 'total_steps', p.total_steps, 'step_name', p.step_name,
            'current_step', p.current_step, 'progress_percentage', p.progress_percentage,
            'records_found', p.records_found, 'records_sent', p.records_sent,
            'records_acknowledged', p.records_acknowledged, 'records_failed', p.records_failed,
            'bytes_sent', p.bytes_sent, 'started_at', p.started_at, 'completed_at', NULL,
            'last_updated', p.last_updated, 'error', p.last_error);
    END IF;
    RETURN jsonb_build_object(
        'sync_id', l.sync_id, 'target_id', l.target_id, 'facility_id', l.source_facility_id,
        'operation_type', l.operation_type, 'status', l.status,
        'step', CASE WHEN l.status IN ('queued', 'running') THEN 0 ELSE 8 END, 'total_steps', 8,
        'step_name', CASE WHEN l.status IN ('queued', 'running') THEN 'queued' ELSE l.status END,
        'current_step', CASE l.status WHEN 'queued' THEN 'waiting for the worker'
                                      WHEN 'running' THEN 'waiting for the worker to resume it'
                                      ELSE l.status END,
        'progress_percentage', CASE WHEN l.status = 'completed' THEN 100 ELSE 0 END,
        'records_found', l.record_count + l.records_failed, 'records_sent', l.record_count,
        'records_acknowledged', l.record_count, 'records_failed', l.records_failed,
        'bytes_sent', l.bytes_sent, 'started_at', l.sync_started_at::timestamptz,
        'completed_at', l.sync_completed_at::timestamptz,
        'last_updated', coalesce(l.sync_completed_at, l.sync_started_at)::timestamptz,
        'error', l.error_message);
END
$$;
COMMENT ON FUNCTION globalsync.sync_status(text) IS
    'state of a sync as JSON: live progress while it runs (step of 8, percentage, counts), its sync_log row afterwards';

CREATE FUNCTION globalsync.cancel_sync(sync_id text)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_status text;
BEGIN
    SELECT l.status INTO v_status FROM globalsync.sync_log l WHERE l.sync_id = cancel_sync.sync_id FOR UPDATE;
    IF globalsync._request_cancel(sync_id) THEN
        RETURN true;
    END IF;
    IF v_status IS NULL THEN
        RAISE EXCEPTION 'sync "%" does not exist', sync_id USING ERRCODE = '42704';
    END IF;
    IF v_status IN ('queued', 'running') THEN
        -- no worker holds it: nothing was sent for it after its last acknowledgement
        UPDATE globalsync.sync_log l
           SET status = 'cancelled', sync_completed_at = greatest(now(), l.sync_started_at),
               duration_seconds = extract(epoch FROM greatest(now(), l.sync_started_at) - l.sync_started_at),
               error_message = coalesce(l.error_message, 'cancelled by ' || session_user)
         WHERE l.sync_id = cancel_sync.sync_id;
        UPDATE globalsync.dead_letters d SET status = 'dead', replay_sync_id = NULL
         WHERE d.replay_sync_id = cancel_sync.sync_id AND d.status = 'queued';
        DELETE FROM globalsync.full_sync_state f WHERE f.sync_id = cancel_sync.sync_id;
        -- a running sync without a progress slot notices the row when woken
        PERFORM globalsync._wake_worker();
        RETURN true;
    END IF;
    RETURN false;
END
$$;
COMMENT ON FUNCTION globalsync.cancel_sync(text) IS
    'cancel a queued or running sync (a running one stops within a second; the cursor stays after the last acknowledged batch); false if it had already finished';

CREATE FUNCTION globalsync.wait_sync(sync_id text, timeout interval DEFAULT '1 minute')
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_status text;
    v_deadline timestamptz := clock_timestamp() + least(coalesce(timeout, '1 minute'), interval '1 day');
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'globalsync.wait_sync() needs isolation level READ COMMITTED' USING ERRCODE = '25001',
            DETAIL = 'It must see the worker''s commits while it waits.';
    END IF;
    LOOP
        SELECT l.status INTO v_status FROM globalsync.sync_log l WHERE l.sync_id = wait_sync.sync_id;
        IF v_status IS NULL THEN
            RAISE EXCEPTION 'sync "%" does not exist', sync_id USING ERRCODE = '42704';
        END IF;
        EXIT WHEN v_status NOT IN ('queued', 'running') OR clock_timestamp() >= v_deadline;
        PERFORM pg_sleep(least(0.05, greatest(0, extract(epoch FROM v_deadline - clock_timestamp()))));
    END LOOP;
    RETURN v_status;
END
$$;
COMMENT ON FUNCTION globalsync.wait_sync(text, interval) IS
    'wait until a sync has finished or timeout has passed; returns its status (completed, failed, cancelled, or queued/running at timeout)';

CREATE FUNCTION globalsync.replay_dead_letter(dead_letter_id bigint)
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d globalsync.dead_letters;
    v_id text;
BEGIN
    SELECT * INTO d FROM globalsync.dead_letters x WHERE x.dead_letter_id = replay_dead_letter.dead_letter_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'dead letter % does not exist', dead_letter_id USING ERRCODE = '42704';
    END IF;
    IF d.status <> 'dead' THEN
        RAISE EXCEPTION 'dead letter % is %, not waiting', dead_letter_id, d.status USING ERRCODE = '55000',
            HINT = 'Only dead letters with status dead can be replayed.';
    END IF;
    INSERT INTO globalsync.sync_log (target_id, operation_type, status, created_by_user, dead_letter_id)
        VALUES (d.target_id, 'RETRY', 'queued', session_user, d.dead_letter_id)
    RETURNING sync_id INTO v_id;
    UPDATE globalsync.dead_letters x SET status = 'queued', replay_sync_id = v_id
     WHERE x.dead_letter_id = d.dead_letter_id;
    PERFORM globalsync._wake_worker();
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION globalsync.replay_dead_letter(bigint) IS
    'send a dead letter''s events again, under the original batch id, as a RETRY sync; returns its sync id';

CREATE FUNCTION globalsync.discard_dead_letter(dead_letter_id bigint)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE globalsync.dead_letters d SET status = 'discarded', settled_at = now()
     WHERE d.dead_letter_id = discard_dead_letter.dead_letter_id AND d.status = 'dead';
    IF FOUND THEN
        RETURN true;
    END IF;
    IF NOT EXISTS (SELECT FROM globalsync.dead_letters d WHERE d.dead_letter_id = discard_dead_letter.dead_letter_id) THEN
        RAISE EXCEPTION 'dead letter % does not exist', dead_letter_id USING ERRCODE = '42704';
    END IF;
    RETURN false;
END
$$;
COMMENT ON FUNCTION globalsync.discard_dead_letter(bigint) IS
    'give up on a dead letter (kept as discarded until history retention purges it); false if it was not waiting';

-- full sync: PK-ordered chunks of a tracked table

CREATE FUNCTION globalsync.snapshot_chunk(tbl regclass, after_pk text[], max_rows integer, facilities text[] DEFAULT NULL)
    RETURNS TABLE (pk_values text[], line text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_cols text[];
    v_types text[];
    v_has_fac boolean;
    v_sql text;
    v_qual text;
BEGIN
    SELECT array_agg(quote_ident(a.attname) ORDER BY k.ord), array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY k.ord)
      INTO v_cols, v_types
      FROM pg_index i
      CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = tbl AND i.indisprimary;
    IF v_cols IS NULL THEN
        RAISE EXCEPTION 'table % has no primary key', tbl USING ERRCODE = '55000';
    END IF;
    SELECT format('%I.%I', n.nspname, c.relname) INTO v_qual
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
    v_has_fac := EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = 'facility_id'
                           AND a.attnum > 0 AND NOT a.attisdropped);
    IF facilities IS NOT NULL AND NOT v_has_fac THEN
        RETURN;     -- a table without facilities has no rows of these facilities
    END IF;
    v_sql := format('SELECT ARRAY[%s]::text[], (jsonb_build_object(''table'', %L, ''op'', ''R'') || globalsync.snapshot_row(%L::regclass, t))::text FROM %s t',
                    (SELECT string_agg(format('t.%s::text', c), ', ') FROM unnest(v_cols) c),
                    v_qual, tbl::oid::text, v_qual);
    v_sql := v_sql || ' WHERE true';
    IF after_pk IS NOT NULL THEN
        v_sql := v_sql || format(' AND (%s) > (%s)',
            (SELECT string_agg(format('t.%s', c), ', ') FROM unnest(v_cols) c),
            (SELECT string_agg(format('$1[%s]::%s', o, v_types[o]), ', ')
               FROM generate_series(1, array_length(v_cols, 1)) o));
    END IF;
    IF facilities IS NOT NULL THEN
        v_sql := v_sql || ' AND t.facility_id::text = ANY ($2)';
    END IF;
    v_sql := v_sql || format(' ORDER BY %s LIMIT %s',
        (SELECT string_agg(format('t.%s', c), ', ') FROM unnest(v_cols) c), max_rows);
    RETURN QUERY EXECUTE v_sql USING after_pk, facilities;
END
$$;
COMMENT ON FUNCTION globalsync.snapshot_chunk(regclass, text[], integer, text[]) IS
    'internal to full syncs: the next max_rows rows of a tracked table after a primary key, in key order (only rows of the given facilities, if any), as NDJSON event lines';

-- what the worker calls (internal: one short transaction each)

CREATE FUNCTION globalsync._worker_targets()
    RETURNS TABLE (target_id text, name text, kind text, endpoint text, options jsonb, is_active boolean,
                   schedule text, schedule_ms bigint, tables text[], facilities text[],
                   max_events bigint, max_bytes bigint, consumer text, last_tick bigint,
                   consecutive_failures bigint, breaker_until timestamptz, last_scheduled_at timestamptz,
                   secret text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t globalsync.targets;
    s globalsync.target_state;
    v_last bigint;
BEGIN
    -- consumers of targets deleted from the table directly would hold the
    -- log back for ever
    DELETE FROM globalsync.consumers c
     WHERE c.consumer LIKE 'target:%'
       AND NOT EXISTS (SELECT FROM globalsync.targets x WHERE 'target:' || x.target_id = c.consumer);
    FOR t IN SELECT * FROM globalsync.targets x ORDER BY x.target_id LOOP
        BEGIN
            -- a target inserted into the table directly gets its state here
            SELECT * INTO s FROM globalsync.target_state x WHERE x.target_id = t.target_id;
            IF NOT FOUND THEN
                INSERT INTO globalsync.target_state (target_id, consumer)
                    VALUES (t.target_id, 'target:' || t.target_id) RETURNING * INTO s;
            END IF;
            SELECT c.last_tick INTO v_last FROM globalsync.consumers c WHERE c.consumer = s.consumer;
            IF NOT FOUND THEN
                v_last := globalsync.register_consumer(s.consumer);
            END IF;
            -- rows written to the table directly are checked like add_target's
            -- (an inactive target is not: a host may have left allowed_hosts)
            PERFORM globalsync._check_target_options(t.options);
            IF t.is_active THEN
                PERFORM globalsync.validate_target_kind(t.kind, t.endpoint, t.options);
            END IF;
            target_id := t.target_id;
            name := t.name;
            kind := t.kind;
            endpoint := t.endpoint;
            options := t.options;
            is_active := t.is_active;
            schedule := CASE WHEN coalesce(t.options->>'schedule', 'realtime') IN ('realtime', 'manual')
                             THEN coalesce(t.options->>'schedule', 'realtime') ELSE 'interval' END;
            schedule_ms := CASE WHEN schedule = 'interval'
                                THEN (extract(epoch FROM (t.options->>'schedule')::interval) * 1000)::bigint END;
            tables := CASE WHEN t.options ? 'tables' THEN ARRAY(SELECT jsonb_array_elements_text(t.options->'tables')) END;
            facilities := CASE WHEN t.options ? 'facilities'
                               THEN ARRAY(SELECT jsonb_array_elements_text(t.options->'facilities')) END;
            max_events := (t.options->>'max_batch_events')::bigint;
            max_bytes := (t.options->>'max_batch_bytes')::bigint;
            consumer := s.consumer;
            last_tick := v_last;
            consecutive_failures := s.consecutive_failures;
            breaker_until := s.breaker_until;
            last_scheduled_at := s.last_scheduled_at;
            SELECT x.secret INTO secret FROM globalsync.target_secrets x WHERE x.target_id = t.target_id;
            RETURN NEXT;
        EXCEPTION WHEN OTHERS THEN
            -- one broken row must not stop the other targets
            RAISE WARNING 'globalsync worker skips target %: %', t.target_id, SQLERRM
                USING HINT = 'Fix it with globalsync.alter_target().';
        END;
    END LOOP;
END
$$;
COMMENT ON FUNCTION globalsync._worker_targets() IS
    'internal: the targets as the worker reads them; a broken row is skipped with a WARNING, a missing state row made';

CREATE FUNCTION globalsync._log_row(sync_id text, target_id text)
    RETURNS void
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO globalsync.sync_log (sync_id, target_id, operation_type, status, created_by_user)
    SELECT _log_row.sync_id, _log_row.target_id, 'REALTIME_SYNC', 'running', 'globalsync worker'
     WHERE NOT EXISTS (SELECT FROM globalsync.sync_log l WHERE l.sync_id = _log_row.sync_id);
$$;
COMMENT ON FUNCTION globalsync._log_row(text, text) IS
    'internal: the sync_log row of a realtime run, made when it first delivers or fails';

CREATE FUNCTION globalsync._run_begin(sync_id text, target_id text, operation_type text, facility_id text, dead_letter_id bigint)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_found bigint := 0;
    v_tables text[];
    v_tbl text;
    v_n bigint;
    v_facs text[];
BEGIN
    UPDATE globalsync.sync_log l
       SET status = 'running',
           sync_started_at = CASE WHEN l.status = 'queued' THEN now() ELSE l.sync_started_at END
     WHERE l.sync_id = _run_begin.sync_id;
    -- a realtime run gets its row with its first delivery or failure
    -- (globalsync._log_row), so runs that find nothing leave no trace
    IF NOT FOUND AND operation_type <> 'REALTIME_SYNC' THEN
        INSERT INTO globalsync.sync_log (sync_id, target_id, operation_type, status, source_facility_id, created_by_user)
            VALUES (_run_begin.sync_id, target_id, operation_type, 'running', facility_id, 'globalsync worker');
    END IF;
    IF operation_type = 'SCHEDULED_SYNC' THEN
        UPDATE globalsync.target_state s SET last_scheduled_at = now() WHERE s.target_id = _run_begin.target_id;
    END IF;
    IF operation_type = 'FULL_SYNC' THEN
        SELECT ARRAY(SELECT jsonb_array_elements_text(t.options->'tables')) INTO v_tables
          FROM globalsync.targets t WHERE t.target_id = _run_begin.target_id AND t.options ? 'tables';
        INSERT INTO globalsync.full_sync_state (sync_id, table_name)
        SELECT _run_begin.sync_id, format('%I.%I', tt.schema_name, tt.relation_name)
          FROM globalsync.tracked_tables tt
         WHERE v_tables IS NULL OR format('%I.%I', tt.schema_name, tt.relation_name) = ANY (v_tables)
        ON CONFLICT DO NOTHING;
        -- the facility asked for, else the target's facilities, else all
        IF facility_id IS NOT NULL THEN
            v_facs := ARRAY[facility_id];
        ELSE
            SELECT ARRAY(SELECT jsonb_array_elements_text(t.options->'facilities')) INTO v_facs
              FROM globalsync.targets t WHERE t.target_id = _run_begin.target_id AND t.options ? 'facilities';
        END IF;
        FOR v_tbl IN SELECT f.table_name FROM globalsync.full_sync_state f WHERE f.sync_id = _run_begin.sync_id LOOP
            IF v_facs IS NULL THEN
                EXECUTE format('SELECT count(*) FROM %s', v_tbl) INTO v_n;
            ELSIF EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = v_tbl::regclass AND a.attname = 'facility_id'
                            AND NOT a.attisdropped) THEN
                EXECUTE format('SELECT count(*) FROM %s WHERE facility_id::text = ANY ($1)', v_tbl) INTO v_n USING v_facs;
            ELSE
                v_n := 0;
            END IF;
            v_found := v_found + v_n;
        END LOOP;
    END IF;
    RETURN v_found;
END
$$;
COMMENT ON FUNCTION globalsync._run_begin(text, text, text, text, bigint) IS 'internal: a sync starts running';

CREATE FUNCTION globalsync._run_end(sync_id text, status text, error text)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    l globalsync.sync_log;
BEGIN
    DELETE FROM globalsync.full_sync_state f WHERE f.sync_id = _run_end.sync_id;
    SELECT * INTO l FROM globalsync.sync_log x WHERE x.sync_id = _run_end.sync_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF l.operation_type = 'REALTIME_SYNC' AND status = 'completed' AND l.record_count = 0 AND l.records_failed = 0 THEN
        -- a realtime run that found nothing for this target leaves no trace
        DELETE FROM globalsync.sync_log x WHERE x.sync_id = _run_end.sync_id;
        RETURN;
    END IF;
    UPDATE globalsync.sync_log x
       SET status = _run_end.status,
           sync_completed_at = greatest(now(), x.sync_started_at),
           duration_seconds = extract(epoch FROM greatest(now(), x.sync_started_at) - x.sync_started_at),
           error_message = coalesce(_run_end.error, x.error_message)
     WHERE x.sync_id = _run_end.sync_id;
    IF l.dead_letter_id IS NOT NULL AND status <> 'completed' THEN
        UPDATE globalsync.dead_letters d SET status = 'dead', error = coalesce(_run_end.error, d.error)
         WHERE d.dead_letter_id = l.dead_letter_id AND d.status = 'queued';
    END IF;
    IF status = 'completed' AND l.source_facility_id IS NOT NULL THEN
        UPDATE globalsync.facilities f SET last_sync_time = now() WHERE f.facility_id = l.source_facility_id;
    END IF;
    DELETE FROM globalsync.full_sync_state f WHERE f.sync_id = _run_end.sync_id;
END
$$;
COMMENT ON FUNCTION globalsync._run_end(text, text, text) IS 'internal: a sync has finished';

CREATE FUNCTION globalsync._advance(target_id text, batch_id bigint, new_position bigint, finish boolean)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF finish THEN
        PERFORM globalsync.finish_batch(batch_id);
        UPDATE globalsync.target_state s SET position_batch = NULL, position = 0 WHERE s.target_id = _advance.target_id;
    ELSE
        UPDATE globalsync.target_state s SET position_batch = batch_id, position = _advance.new_position
         WHERE s.target_id = _advance.target_id;
    END IF;
END
$$;
COMMENT ON FUNCTION globalsync._advance(text, bigint, bigint, boolean) IS
    'internal: move a target''s cursor inside (or past) its open batch';

CREATE FUNCTION globalsync._ack(target_id text, sync_id text, batch_id bigint, new_position bigint, finish boolean,
                                events integer, bytes bigint, facility_ids text[], facility_events integer[],
                                facility_oldest timestamptz[], dead_letter_id bigint)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_lag double precision;
BEGIN
    PERFORM globalsync._log_row(sync_id, target_id);
    IF batch_id IS NOT NULL THEN
        PERFORM globalsync._advance(target_id, batch_id, new_position, finish);
    END IF;
    SELECT max(extract(epoch FROM greatest(interval '0', now() - o))) INTO v_lag FROM unnest(facility_oldest) o;
    UPDATE globalsync.sync_log l
       SET record_count = l.record_count + events, bytes_sent = l.bytes_sent + bytes,
           lag_seconds = greatest(l.lag_seconds, v_lag)
     WHERE l.sync_id = _ack.sync_id;
    INSERT INTO globalsync.deliveries (target_id, sync_id, facility_id, events, lag_seconds)
    SELECT _ack.target_id, _ack.sync_id, f, n, extract(epoch FROM greatest(interval '0', now() - o))
      FROM unnest(facility_ids, facility_events, facility_oldest) u(f, n, o);
    UPDATE globalsync.target_state s
       SET consecutive_failures = 0, breaker_until = NULL, last_success_at = now()
     WHERE s.target_id = _ack.target_id;
    UPDATE globalsync.targets t SET last_sync_time = now()
     WHERE t.target_id = _ack.target_id AND (t.last_sync_time IS NULL OR t.last_sync_time < now() - interval '1 second');
    UPDATE globalsync.facilities f SET last_sync_time = now()
     WHERE f.facility_id = ANY (facility_ids)
       AND (f.last_sync_time IS NULL OR f.last_sync_time < now() - interval '1 minute');
    IF dead_letter_id IS NOT NULL THEN
        UPDATE globalsync.dead_letters d SET status = 'replayed', settled_at = now()
         WHERE d.dead_letter_id = _ack.dead_letter_id;
    END IF;
END
$$;
COMMENT ON FUNCTION globalsync._ack(text, text, bigint, bigint, boolean, integer, bigint, text[], integer[], timestamptz[], bigint) IS
    'internal: a target acknowledged a batch: cursor, sync_log, deliveries and state in one transaction';

CREATE FUNCTION globalsync._ack_snapshot(target_id text, sync_id text, table_name text, after_pk text[],
                                         events integer, done boolean, bytes bigint)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE globalsync.full_sync_state f
       SET after_pk = coalesce(_ack_snapshot.after_pk, f.after_pk), chunks = f.chunks + 1,
           rows_sent = f.rows_sent + events, done = _ack_snapshot.done
     WHERE f.sync_id = _ack_snapshot.sync_id AND f.table_name = _ack_snapshot.table_name;
    IF events > 0 THEN
        UPDATE globalsync.sync_log l
           SET record_count = l.record_count + events, bytes_sent = l.bytes_sent + bytes
         WHERE l.sync_id = _ack_snapshot.sync_id;
        UPDATE globalsync.target_state s
           SET consecutive_failures = 0, breaker_until = NULL, last_success_at = now()
         WHERE s.target_id = _ack_snapshot.target_id;
    END IF;
END
$$;
COMMENT ON FUNCTION globalsync._ack_snapshot(text, text, text, text[], integer, boolean, bigint) IS
    'internal: a target acknowledged a chunk of a full sync''s snapshot';

CREATE FUNCTION globalsync._dead_letter(target_id text, sync_id text, batch_key text, lines text[],
                                        first_event_id bigint, last_event_id bigint, attempts integer, error text,
                                        batch_id bigint, new_position bigint, finish boolean, unused text[])
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM globalsync._log_row(sync_id, target_id);
    INSERT INTO globalsync.dead_letters (target_id, sync_id, batch_id, events, event_count,
                                         first_event_id, last_event_id, attempts, error)
    VALUES (target_id, sync_id, batch_key, (SELECT jsonb_agg(x::jsonb ORDER BY o) FROM unnest(lines) WITH ORDINALITY u(x, o)),
            cardinality(lines), first_event_id, last_event_id, attempts, error);
    IF batch_id IS NOT NULL THEN
        PERFORM globalsync._advance(target_id, batch_id, new_position, finish);
    END IF;
    UPDATE globalsync.sync_log l SET records_failed = l.records_failed + cardinality(lines),
           error_message = _dead_letter.error
     WHERE l.sync_id = _dead_letter.sync_id;
    UPDATE globalsync.target_state s SET last_error = _dead_letter.error, last_failure_at = now()
     WHERE s.target_id = _dead_letter.target_id;
END
$$;
COMMENT ON FUNCTION globalsync._dead_letter(text, text, text, text[], bigint, bigint, integer, text, bigint, bigint, boolean, text[]) IS
    'internal: keep a batch the target will not take in dead_letters and move the cursor past it';

CREATE FUNCTION globalsync._dead_letter_snapshot(target_id text, sync_id text, batch_key text, lines text[],
                                                 attempts integer, error text, table_name text, after_pk text[],
                                                 done boolean, first_event_id bigint, last_event_id bigint, new_position bigint)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO globalsync.dead_letters (target_id, sync_id, batch_id, events, event_count, attempts, error)
    VALUES (target_id, sync_id, batch_key, (SELECT jsonb_agg(x::jsonb ORDER BY o) FROM unnest(lines) WITH ORDINALITY u(x, o)),
            cardinality(lines), attempts, error);
    UPDATE globalsync.full_sync_state f
       SET after_pk = _dead_letter_snapshot.after_pk, chunks = f.chunks + 1, done = _dead_letter_snapshot.done
     WHERE f.sync_id = _dead_letter_snapshot.sync_id AND f.table_name = _dead_letter_snapshot.table_name;
    UPDATE globalsync.sync_log l SET records_failed = l.records_failed + cardinality(lines),
           error_message = _dead_letter_snapshot.error
     WHERE l.sync_id = _dead_letter_snapshot.sync_id;
END
$$;
COMMENT ON FUNCTION globalsync._dead_letter_snapshot(text, text, text, text[], integer, text, text, text[], boolean, bigint, bigint, bigint) IS
    'internal: keep snapshot rows the target will not take in dead_letters and move past them';

CREATE FUNCTION globalsync._failure(target_id text, sync_id text, error text, breaker_until timestamptz)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM globalsync._log_row(sync_id, target_id);
    UPDATE globalsync.target_state s
       SET consecutive_failures = s.consecutive_failures + 1, last_failure_at = now(),
           last_error = _failure.error, breaker_until = _failure.breaker_until
     WHERE s.target_id = _failure.target_id;
    UPDATE globalsync.sync_log l SET error_message = _failure.error WHERE l.sync_id = _failure.sync_id;
END
$$;
COMMENT ON FUNCTION globalsync._failure(text, text, text, timestamptz) IS 'internal: an attempt to deliver failed';

CREATE FUNCTION globalsync._disable_target(target_id text, error text)
    RETURNS void
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE globalsync.targets t SET is_active = false WHERE t.target_id = _disable_target.target_id;
    UPDATE globalsync.target_state s SET last_error = 'target disabled: ' || _disable_target.error, last_failure_at = now()
     WHERE s.target_id = _disable_target.target_id;
$$;
COMMENT ON FUNCTION globalsync._disable_target(text, text) IS 'internal: the target said it is gone; stop sending to it';

CREATE FUNCTION globalsync._purge_history(retention interval)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    m bigint;
BEGIN
    DELETE FROM globalsync.sync_log l
     WHERE l.status NOT IN ('queued', 'running') AND l.sync_completed_at < now() - retention;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM globalsync.deliveries d WHERE d.acked_at < now() - retention;
    DELETE FROM globalsync.dead_letters d WHERE d.status IN ('replayed', 'discarded') AND d.settled_at < now() - retention;
    GET DIAGNOSTICS m = ROW_COUNT;
    -- snapshot progress of syncs that no longer run (or no longer exist)
    DELETE FROM globalsync.full_sync_state f
     WHERE NOT EXISTS (SELECT FROM globalsync.sync_log l
                        WHERE l.sync_id = f.sync_id AND l.status IN ('queued', 'running'));
    RETURN n + m;
END
$$;
COMMENT ON FUNCTION globalsync._purge_history(interval) IS
    'internal: delete finished syncs, delivery statistics and settled dead letters older than retention';

-- views

CREATE VIEW globalsync.sync_progress AS
    SELECT p.sync_id, p.target_id, t.name AS target_name, p.facility_id, p.operation_type, p.status,
           p.step, p.total_steps, p.progress_percentage, p.step_name, p.current_step,
           p.records_found, p.records_sent, p.records_acknowledged, p.records_failed, p.bytes_sent,
           p.started_at::globalsync.ist_timestamp AS started_at,
           p.last_updated::globalsync.ist_timestamp AS last_updated,
           p.pid, p.last_error,
           '[' || repeat('#', p.progress_percentage / 5) || repeat('.', 20 - p.progress_percentage / 5) || '] '
               || lpad(p.progress_percentage::text, 3) || '% ' || p.step || '/' || p.total_steps || ' ' || p.step_name
               AS progress_bar
      FROM globalsync.sync_progress_raw() p
      LEFT JOIN globalsync.targets t ON t.target_id = p.target_id
     WHERE p.status NOT IN ('completed', 'failed', 'cancelled');
COMMENT ON VIEW globalsync.sync_progress IS
    'one row per running sync, live from shared memory: step of 8, percentage, counts, bytes, last error and a progress bar';

CREATE VIEW globalsync.sync_history AS
    SELECT l.sync_id, l.log_id, l.target_id, t.name AS target_name, t.kind AS target_kind,
           l.source_facility_id AS facility_id, f.name AS facility_name,
           l.operation_type, l.status, l.record_count, l.records_failed, l.bytes_sent, l.lag_seconds,
           l.sync_started_at, l.sync_completed_at, l.duration_seconds, l.error_message, l.created_by_user,
           l.dead_letter_id
      FROM globalsync.sync_log l
      JOIN globalsync.targets t ON t.target_id = l.target_id
      LEFT JOIN globalsync.facilities f ON f.facility_id = l.source_facility_id
     ORDER BY l.log_id DESC;
COMMENT ON VIEW globalsync.sync_history IS
    'every sync, newest first, with target and facility names (times in IST)';

-- events of a consumer not delivered yet, with their facility and age
CREATE FUNCTION globalsync._pending_events(target_id text)
    RETURNS TABLE (facility_id text, events bigint, oldest timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT l.facility_id, count(*), min(l.captured_at)
      FROM globalsync.target_state s
      JOIN globalsync.targets t ON t.target_id = s.target_id
      JOIN globalsync.consumers c ON c.consumer = s.consumer
      JOIN globalsync.change_log l
        ON l.xid >= pg_snapshot_xmin(c.last_snapshot) AND NOT pg_visible_in_snapshot(l.xid, c.last_snapshot)
     WHERE s.target_id = _pending_events.target_id
       -- the target's filters, as the worker applies them
       AND (NOT t.options ? 'tables' OR l.table_name IN (SELECT jsonb_array_elements_text(t.options->'tables')))
       AND (NOT t.options ? 'facilities' OR l.op = 'T'
            OR l.facility_id IN (SELECT jsonb_array_elements_text(t.options->'facilities')))
     GROUP BY l.facility_id
$$;
COMMENT ON FUNCTION globalsync._pending_events(text) IS
    'internal: events a target has not received yet (committed or in progress after its last finished tick, through its tables and facilities filters), per facility';

CREATE VIEW globalsync.target_health AS
    SELECT t.target_id, t.name, t.kind, t.is_active,
           coalesce(t.options->>'schedule', 'realtime') AS schedule,
           CASE WHEN NOT t.is_active THEN 'inactive'
                WHEN s.breaker_until > now() THEN 'breaker_open'
                WHEN s.breaker_until IS NOT NULL THEN 'half_open'
                WHEN s.consecutive_failures > 0 THEN 'failing'
                WHEN EXISTS (SELECT FROM globalsync.sync_progress_raw() p WHERE p.target_id = t.target_id) THEN 'syncing'
                ELSE 'idle' END AS state,
           CASE WHEN s.breaker_until > now() THEN 'open'
                WHEN s.breaker_until IS NOT NULL THEN 'half_open'
                ELSE 'closed' END AS breaker,
           s.consecutive_failures,
           s.last_success_at::globalsync.ist_timestamp AS last_success_at,
           s.last_failure_at::globalsync.ist_timestamp AS last_failure_at,
           s.last_error,
           coalesce(p.events, 0) AS pending_events,
           CASE WHEN p.oldest IS NOT NULL THEN greatest(interval '0', clock_timestamp() - p.oldest) END AS oldest_pending_age,
           (SELECT count(*) FROM globalsync.dead_letters d WHERE d.target_id = t.target_id AND d.status IN ('dead', 'queued'))
               AS dead_letters,
           t.last_sync_time
      FROM globalsync.targets t
      JOIN globalsync.target_state s ON s.target_id = t.target_id
      LEFT JOIN LATERAL (SELECT sum(e.events)::bigint AS events, min(e.oldest) AS oldest
                           FROM globalsync._pending_events(t.target_id) e) p ON true;
COMMENT ON VIEW globalsync.target_health IS
    'per target: state, circuit breaker, consecutive failures, last success and error, events not yet delivered and the oldest one''s age, dead letters';

CREATE VIEW globalsync.lag_stats AS
    SELECT 'target'::text AS scope, t.target_id, t.name AS target_name, NULL::text AS timezone,
           d.deliveries, d.events_delivered,
           d.p50 AS p50_lag_seconds, d.p95 AS p95_lag_seconds, d.p99 AS p99_lag_seconds, d.mx AS max_lag_seconds,
           coalesce(p.events, 0) AS pending_events
      FROM globalsync.targets t
      JOIN globalsync.target_state s ON s.target_id = t.target_id
      LEFT JOIN LATERAL (SELECT count(*) AS deliveries, coalesce(sum(x.events), 0) AS events_delivered,
                                percentile_cont(0.5) WITHIN GROUP (ORDER BY x.lag_seconds) AS p50,
                                percentile_cont(0.95) WITHIN GROUP (ORDER BY x.lag_seconds) AS p95,
                                percentile_cont(0.99) WITHIN GROUP (ORDER BY x.lag_seconds) AS p99,
                                max(x.lag_seconds) AS mx
                           FROM globalsync.deliveries x
                          WHERE x.target_id = t.target_id AND x.acked_at > now() - interval '24 hours') d ON true
      LEFT JOIN LATERAL (SELECT sum(e.events)::bigint AS events FROM globalsync._pending_events(t.target_id) e) p ON true
    UNION ALL
    SELECT 'timezone', t.target_id, t.name, z.timezone,
           count(x.*), coalesce(sum(x.events), 0),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY x.lag_seconds),
           percentile_cont(0.95) WITHIN GROUP (ORDER BY x.lag_seconds),
           percentile_cont(0.99) WITHIN GROUP (ORDER BY x.lag_seconds),
           max(x.lag_seconds),
           coalesce((SELECT sum(e.events) FROM globalsync._pending_events(t.target_id) e
                       JOIN globalsync.facilities f2 ON f2.facility_id = e.facility_id
                      WHERE f2.timezone::text = z.timezone), 0)::bigint
      FROM globalsync.targets t
      CROSS JOIN (SELECT DISTINCT f.timezone::text AS timezone FROM globalsync.facilities f) z
      LEFT JOIN (globalsync.deliveries x JOIN globalsync.facilities fx ON fx.facility_id = x.facility_id)
        ON x.target_id = t.target_id AND fx.timezone::text = z.timezone AND x.acked_at > now() - interval '24 hours'
     GROUP BY t.target_id, t.name, z.timezone;
COMMENT ON VIEW globalsync.lag_stats IS
    'delivery lag over the last 24 hours (p50, p95, p99, max seconds) and events pending, per target (scope target) and per target and facility time zone (scope timezone)';

CREATE VIEW globalsync.dashboard_overview AS
    SELECT (SELECT count(*) FROM globalsync.facilities) AS facilities,
           (SELECT count(*) FROM globalsync.facilities WHERE is_active) AS active_facilities,
           (SELECT count(*) FROM globalsync.patient_registrations) AS patients,
           (SELECT count(*) FROM globalsync.patient_registrations r
             WHERE r.registered_at_ist >= globalsync.ist_date(now()::globalsync.ist_timestamp)::timestamp::globalsync.ist_timestamp)
               AS registrations_today_ist,
           (SELECT count(*) FROM globalsync.sync_log l
             WHERE l.sync_started_at >= globalsync.ist_date(now()::globalsync.ist_timestamp)::timestamp::globalsync.ist_timestamp)
               AS syncs_today_ist,
           (SELECT round(100.0 * count(*) FILTER (WHERE l.status = 'completed' AND l.records_failed = 0)
                         / nullif(count(*) FILTER (WHERE l.status IN ('completed', 'failed')), 0), 1)
              FROM globalsync.sync_log l WHERE l.sync_started_at > now() - interval '24 hours') AS success_rate_24h,
           (SELECT round((sum(d.lag_seconds * d.events) / nullif(sum(d.events), 0))::numeric, 3)
              FROM globalsync.deliveries d WHERE d.acked_at > now() - interval '24 hours') AS avg_lag_seconds_24h,
           (SELECT round(percentile_cont(0.95) WITHIN GROUP (ORDER BY d.lag_seconds)::numeric, 3)
              FROM globalsync.deliveries d WHERE d.acked_at > now() - interval '24 hours') AS p95_lag_seconds_24h,
           (SELECT count(*) FROM globalsync.sync_log l WHERE l.status = 'running') AS running_syncs,
           (SELECT count(*) FROM globalsync.sync_log l WHERE l.status = 'queued') AS queued_syncs,
           (SELECT count(*) FROM globalsync.dead_letters d WHERE d.status IN ('dead', 'queued')) AS dead_letters,
           (SELECT count(*) FROM globalsync.target_state s WHERE s.breaker_until > now()) AS breakers_open,
           (SELECT max(l.sync_completed_at) FROM globalsync.sync_log l WHERE l.status = 'completed') AS last_sync_completed_at;
COMMENT ON VIEW globalsync.dashboard_overview IS
    'the seed''s dashboard in one row: facilities, patients, registrations and syncs today (IST day), 24-hour success rate and lag, running syncs, dead letters, open breakers';

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
        'targets', (SELECT count(*) FROM globalsync.targets),
        'launcher_pid', (SELECT w.launcher_pid FROM globalsync.worker_info() w),
        'worker_pid', (SELECT w.worker_pid FROM globalsync.worker_info() w),
        'worker_running', coalesce((SELECT w.worker_pid > 0 FROM globalsync.worker_info() w), false),
        'running_syncs', (SELECT count(*) FROM globalsync.sync_log l WHERE l.status = 'running'),
        'queued_syncs', (SELECT count(*) FROM globalsync.sync_log l WHERE l.status = 'queued'),
        'dead_letters', (SELECT count(*) FROM globalsync.dead_letters d WHERE d.status IN ('dead', 'queued')))
$$;
COMMENT ON FUNCTION globalsync.health() IS
    'health check: version, database, server time in IST, whether the library is preloaded, launcher and worker pids, counts';

-- CREATE EXTENSION in a preloaded server: have the launcher look at this
-- database when this transaction commits
SELECT globalsync._wake_worker();

-- ===================================================================
-- privileges: PUBLIC gets nothing
-- ===================================================================

REVOKE ALL ON ALL TABLES IN SCHEMA globalsync FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA globalsync FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA globalsync FROM PUBLIC;
REVOKE USAGE ON TYPE globalsync.ist_timestamp, globalsync.zoned_timestamp, globalsync.zone_name FROM PUBLIC;

REVOKE EXECUTE ON FUNCTION pg_catalog.min(globalsync.ist_timestamp), pg_catalog.max(globalsync.ist_timestamp) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_catalog.min(globalsync.ist_timestamp), pg_catalog.max(globalsync.ist_timestamp) TO globalsync_reader;

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

-- capture: tracking is for table owners in globalsync_admin; the log, ticks,
-- consumers and the key stay with the owner (the worker runs as the owner)
REVOKE EXECUTE ON FUNCTION
    globalsync.capture_trigger(),
    globalsync.track(regclass, text[], text[]),
    globalsync.untrack(regclass),
    globalsync.tick(),
    globalsync.register_consumer(text),
    globalsync.unregister_consumer(text),
    globalsync.next_batch(text, bigint),
    globalsync.batch_events(bigint, bigint, integer),
    globalsync.finish_batch(bigint),
    globalsync.maintain_log()
    FROM globalsync_reader;
GRANT EXECUTE ON FUNCTION
    globalsync.capture_trigger(),
    globalsync.track(regclass, text[], text[]),
    globalsync.untrack(regclass)
    TO globalsync_admin;
GRANT SELECT ON globalsync.tracked_tables, globalsync.capture_stats TO globalsync_reader;

-- admins: facilities and targets
GRANT EXECUTE ON FUNCTION
    globalsync.new_id(text, integer),
    globalsync.add_facility(text, text, text),
    globalsync.set_facility_active(text, boolean)
    TO globalsync_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON globalsync.facilities, globalsync.targets TO globalsync_admin;
GRANT SELECT ON globalsync.patient_registrations, globalsync.sync_log TO globalsync_admin;

-- sync engine: readers watch, operators start and cancel, admins manage
-- targets and dead letters; the worker's internal functions are the owner's
REVOKE EXECUTE ON FUNCTION
    globalsync.add_target(text, text, text, jsonb),
    globalsync.alter_target(text, text, text, jsonb, boolean),
    globalsync.remove_target(text),
    globalsync.start_sync(text, text, text),
    globalsync.cancel_sync(text),
    globalsync.replay_dead_letter(bigint),
    globalsync.discard_dead_letter(bigint),
    globalsync.snapshot_row(regclass, record),
    globalsync.snapshot_chunk(regclass, text[], integer, text[]),
    globalsync._check_target_options(jsonb),
    globalsync._resolve_tracked(text),
    globalsync._check_target_secret(text, text),
    globalsync.set_target_secret(text, text),
    globalsync._wake_worker(),
    globalsync._request_cancel(text),
    globalsync._worker_targets(),
    globalsync._log_row(text, text),
    globalsync._run_begin(text, text, text, text, bigint),
    globalsync._run_end(text, text, text),
    globalsync._advance(text, bigint, bigint, boolean),
    globalsync._ack(text, text, bigint, bigint, boolean, integer, bigint, text[], integer[], timestamptz[], bigint),
    globalsync._ack_snapshot(text, text, text, text[], integer, boolean, bigint),
    globalsync._dead_letter(text, text, text, text[], bigint, bigint, integer, text, bigint, bigint, boolean, text[]),
    globalsync._dead_letter_snapshot(text, text, text, text[], integer, text, text, text[], boolean, bigint, bigint, bigint),
    globalsync._failure(text, text, text, timestamptz),
    globalsync._disable_target(text, text),
    globalsync._purge_history(interval)
    FROM globalsync_reader;
GRANT SELECT ON globalsync.sync_progress, globalsync.sync_history, globalsync.dashboard_overview,
    globalsync.lag_stats, globalsync.target_health TO globalsync_reader;
GRANT EXECUTE ON FUNCTION
    globalsync.start_sync(text, text, text),
    globalsync.cancel_sync(text)
    TO globalsync_operator;
GRANT EXECUTE ON FUNCTION
    globalsync.add_target(text, text, text, jsonb),
    globalsync.alter_target(text, text, text, jsonb, boolean),
    globalsync.remove_target(text),
    globalsync.replay_dead_letter(bigint),
    globalsync.discard_dead_letter(bigint),
    globalsync.set_target_secret(text, text)
    TO globalsync_admin;
GRANT SELECT ON globalsync.dead_letters, globalsync.target_state TO globalsync_admin;
