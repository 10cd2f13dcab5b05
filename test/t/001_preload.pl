# 001_preload.pl: globalsync loaded through shared_preload_libraries and on
# demand, and its values across a clean restart and a crash restart.
#
#  1. preloaded: CREATE EXTENSION works, library_preloaded() and health()
#     say so;
#  2. ist_timestamp / zoned_timestamp values (stored, and computed from
#     literals) and a registered patient read back the same text after a
#     restart and after a crash (immediate stop, WAL replay) -- including
#     rows written after the last checkpoint; the btree index on
#     ist_timestamp is used with the default search_path;
#  3. without shared_preload_libraries the library loads on first use: the
#     types and functions still work, the data reads the same, and
#     library_preloaded() says false.
#
# Every server wait is bounded: pg_ctl -w (60 s) for start/stop, and a
# timeout on every psql call.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $timeout = $PostgreSQL::Test::Utils::timeout_default;

my $node = PostgreSQL::Test::Cluster->new('node');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'globalsync'");
$node->start;

# psql with a bound on how long it may take; dies on any error.
sub run_sql
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql, timeout => $timeout);
}

# --------------------------------------------------------------------
# 1. preloaded
# --------------------------------------------------------------------
is(run_sql("SHOW shared_preload_libraries"), 'globalsync',
	'server started with shared_preload_libraries = globalsync');
is(run_sql("CREATE EXTENSION globalsync; SELECT extversion FROM pg_extension WHERE extname = 'globalsync'"),
	'0.1.0', 'CREATE EXTENSION globalsync works');
is(run_sql("SELECT globalsync.library_preloaded()"), 't',
	'library_preloaded() is true when preloaded');
is(run_sql("SELECT globalsync.health()->>'library_preloaded'"), 'true',
	"health()->>'library_preloaded' is true when preloaded");

# --------------------------------------------------------------------
# 2. data that must survive restarts
# --------------------------------------------------------------------
run_sql(q{
CREATE TABLE t_times (
    id  int PRIMARY KEY,
    ist globalsync.ist_timestamp,
    z   globalsync.zoned_timestamp
);
CREATE INDEX t_times_ist ON t_times (ist);
CREATE INDEX t_times_z ON t_times (z);
INSERT INTO t_times VALUES
    (1, '2025-10-10 09:30:00 America/New_York', '2025-10-10 09:30:00 America/New_York'),
    (2, '2025-10-10 09:30:00 EST',              '2025-10-10 09:30:00 EST'),
    (3, '2025-10-10T09:30:00-04:00',            '2025-10-10 09:30:00+05:45'),
    (4, '2025-11-02 01:30:00 America/New_York', '2025-11-02 01:30:00 America/New_York'),
    (5, '2025-04-06 02:30:00 Australia/Adelaide', '2025-04-06 02:30:00 Australia/Adelaide'),
    (6, '2027-05-27 13:19:08.852315',           '2027-05-27 13:19:08.852315 Asia/Kathmandu'),
    (7, 'infinity',                             '2025-03-09 02:30:00 America/New_York'),
    (8, '-infinity',                            '2025-01-01 00:00:00 NZST');
});

my $fac = run_sql("SELECT globalsync.add_facility('Harbourview Clinic', 'America/New_York', 'Boston')");
like($fac, qr/^FAC_[A-Z0-9]{8}$/, 'add_facility returns a FAC_ id');
run_sql(qq{
SELECT globalsync.register_patient('Maria Lopez', '1984-02-29', '+1-617-555-0142',
    'maria.lopez\@example.org', '$fac', NULL, '2025-10-10 09:30:00');
});

# The text a reader sees: stored values, values computed from literals
# (the zone registry after a restart), and the patient row.
my $times_sql = q{
SELECT id, ist, z, z::globalsync.ist_timestamp, globalsync.local_time(z),
       globalsync.zone_name(z), globalsync.utc_offset(z)
  FROM t_times ORDER BY id;
};
my $literals_sql = q{
SELECT '2025-10-10 09:30:00 America/New_York'::globalsync.ist_timestamp,
       '2025-10-10 09:30:00 EST'::globalsync.zoned_timestamp,
       globalsync.to_ist('2025-10-10 09:30:00', 'Asia/Kathmandu'),
       globalsync.ist_offset('EST', '2025-10-10 00:00:00+00');
};
my $patients_sql = q{
SELECT patient_name, date_of_birth, contact_number, email, facility_id,
       registered_at, registration_timezone, registered_at_ist
  FROM globalsync.patient_registrations ORDER BY patient_name;
};
# With the default search_path: = must still be the ist_timestamp operator
# of the btree opclass, not timestamptz's through the implicit cast (which
# would read the literal's IST as Israel time and not use the index).
my $index_sql = q{
SET enable_seqscan = off;
SELECT id FROM t_times WHERE ist = '2025-10-10 19:00:00 IST' ORDER BY id;
};

my $times    = run_sql($times_sql);
my $literals = run_sql($literals_sql);
my $patients = run_sql($patients_sql);

is( $literals,
	'2025-10-10 19:00:00+05:30|2025-10-10 09:30:00 EST|2025-10-10 09:15:00+05:30|-10:30:00',
	'literals have their expected values before any restart');
like($patients,
	qr/^Maria Lopez\|1984-02-29\|.*\|2025-10-10 09:30:00 America\/New_York\|America\/New_York\|2025-10-10 19:00:00\+05:30$/,
	'registered patient has local and IST times');
like(run_sql("SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM t_times WHERE ist = '2025-10-10 19:00:00+05:30'"),
	qr/Index|Bitmap/, 'the btree index on ist_timestamp is used');
# rows 1 and 3 are the same instant written two ways
is(run_sql($index_sql), "1\n3", 'index lookup on ist_timestamp finds both rows');

# ---- clean restart
$node->restart;
is(run_sql("SELECT globalsync.library_preloaded()"), 't', 'still preloaded after restart');
is(run_sql($times_sql),    $times,    'stored times unchanged after restart');
is(run_sql($literals_sql), $literals, 'computed values unchanged after restart');
is(run_sql($patients_sql), $patients, 'patient unchanged after restart');

# ---- crash restart: rows written after the restart are only in WAL
run_sql(q{
INSERT INTO t_times VALUES
    (9,  '2025-03-30 01:30:00 Europe/London', '2025-03-30 01:30:00 Europe/London'),
    (10, '2025-10-26 01:30:00 Europe/London', '2025-10-26 01:30:00 GMT');
});
run_sql(qq{
SELECT globalsync.register_patient('Kenji Watanabe', '1990-07-14', '+1 (617) 555-0199',
    'kenji.watanabe\@example.org', '$fac', 'EST', '2025-11-02 01:30:00');
});
$times    = run_sql($times_sql);
$patients = run_sql($patients_sql);
is(scalar(split /\n/, $patients), 2, 'two patients before the crash');

$node->stop('immediate');
$node->start;
is(run_sql($times_sql),    $times,    'stored times unchanged after crash restart');
is(run_sql($literals_sql), $literals, 'computed values unchanged after crash restart');
is(run_sql($patients_sql), $patients, 'patients unchanged after crash restart');
is(run_sql($index_sql), "1\n3", 'index still usable after crash restart');
is(run_sql("SELECT globalsync.library_preloaded()"), 't', 'still preloaded after crash restart');

# --------------------------------------------------------------------
# 3. not preloaded: loaded on demand
# --------------------------------------------------------------------
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->restart;
is(run_sql("SHOW shared_preload_libraries"), '', 'globalsync no longer preloaded');
is(run_sql($times_sql),    $times,    'types work on demand: stored times read the same');
is(run_sql($literals_sql), $literals, 'types work on demand: literals parse the same');
is(run_sql($patients_sql), $patients, 'patients read the same without preloading');
is(run_sql("SELECT globalsync.library_preloaded()"), 'f',
	'library_preloaded() is false when loaded on demand');
is(run_sql("SELECT globalsync.health()->>'library_preloaded'"), 'false',
	"health()->>'library_preloaded' is false when loaded on demand");
is( run_sql(qq{
SELECT (globalsync.register_patient('Amara Okafor', '2001-12-05', '617.555.0123',
        'amara.okafor\@example.org', '$fac', NULL, '2025-06-01 08:00:00')).registered_at_ist
}),
	'2025-06-01 17:30:00+05:30',
	'register_patient works when loaded on demand');
is(run_sql("SELECT count(*) FROM globalsync.patient_registrations"), '3',
	'three patients registered');

$node->stop;
done_testing();
