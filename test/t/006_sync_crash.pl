
# 006_sync_crash.pl: the sync engine loses nothing across a kill -9 of its
# worker and an immediate server stop, each in the middle of deliveries.
#
# A realtime target ("rt", 50 events per batch) and a manual target
# ("full", 100 rows per snapshot chunk) of a tracked table with 30,000
# rows; a consumer of the test keeps the change log from rotation.
#
#  1. 35,000 changes; while the realtime run is delivering them and a full
#     sync of "full" is sending its snapshot, kill -9 of the globalsync
#     worker: the postmaster restarts everything, a new worker comes, the
#     interrupted full sync is resumed and completes, the realtime target
#     catches up;
#  2. 10,000 more changes and a second full sync; while both are under way,
#     an immediate stop (no shutdown checkpoint) and a start: again both
#     complete;
#  2b. the same with a fast stop: it takes less than 10 s (the worker
#     exits promptly on SIGTERM, also in the middle of a batch);
#  3. in the end: no batch file is partial (every .ndjson ends with a
#     newline, every line is a JSON object of its batch), the realtime
#     folder holds every logged event (set of event ids in the files
#     contains every captured one, nothing else; duplicates only identical
#     resends; per row increasing event ids), and the state rebuilt from
#     each folder equals the table; no sync is left queued or running.
#
# Every wait is bounded: pg_ctl -w for start/stop, a timeout on each psql
# call, a deadline on each poll, wait_sync() with a timeout.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use GsSyncTest;

my $node = gs_node('sync_crash', "restart_after_crash = on\n");
my $out = $node->basedir . '/out';

sql($node, q{
CREATE EXTENSION globalsync;
SELECT globalsync.register_consumer('test_hold');
CREATE TABLE c (id int PRIMARY KEY, facility_id text, v text);
});
my $fac = sql($node, q{SELECT globalsync.add_facility('Crash Clinic', 'Asia/Kolkata')});
sql($node, qq{
INSERT INTO c SELECT g, '$fac', 'initial-' || g FROM generate_series(1, 30000) g;
SELECT globalsync.track('c');
});
my $rt = sql($node, q{SELECT globalsync.add_target('rt', 'file', 'rt', '{"max_batch_events": 50}')});
my $full = sql($node,
	q{SELECT globalsync.add_target('full', 'file', 'full', '{"schedule": "manual", "max_batch_events": 100}')});

# both targets have a run that has sent something, and the realtime one
# has more to deliver
my $both_busy = qq{
SELECT (SELECT count(*) FROM globalsync.sync_progress WHERE records_sent > 0 AND target_id IN ('$rt', '$full')) = 2
   AND (SELECT pending_events > 0 FROM globalsync.target_health WHERE target_id = '$rt')};

# --------------------------------------------------------------------
# 1. kill -9 of the worker
# --------------------------------------------------------------------
sql($node, q{
DO $$
BEGIN
    FOR k IN 0..29 LOOP
        INSERT INTO c SELECT 100000 + k * 1000 + g, (SELECT facility_id FROM c WHERE id = 1), 'ins-' || g
          FROM generate_series(1, 1000) g;
        COMMIT;
    END LOOP;
    FOR k IN 0..4 LOOP
        UPDATE c SET v = 'upd-' || id WHERE id BETWEEN k * 1000 + 1 AND k * 1000 + 1000;
        COMMIT;
    END LOOP;
END
$$;
});
my $full1 = sql($node, qq{SELECT globalsync.start_sync('$full', NULL, 'full')});
ok(wait_until($node, $both_busy, 't', 30), 'the realtime run and the full sync are both delivering');

my $pid = crash_worker($node, 'while a realtime run and a full sync deliver');
ok( wait_until($node, qq{SELECT coalesce((globalsync.health()->>'worker_pid')::int, 0) NOT IN (0, $pid)}, 't', 30),
	'a new worker runs');

is(sql($node, qq{SELECT globalsync.wait_sync('$full1', '90 s')}), 'completed',
	'the full sync interrupted by the crash is resumed and completes');
ok( wait_until($node, qq{SELECT pending_events FROM globalsync.target_health WHERE target_id = '$rt'}, '0', 90),
	'the realtime target catches up after the crash');

# --------------------------------------------------------------------
# 2. immediate stop
# --------------------------------------------------------------------
sql($node, qq{
DO \$\$
BEGIN
    FOR k IN 0..9 LOOP
        INSERT INTO c SELECT 200000 + k * 1000 + g, '$fac', 'second-' || g FROM generate_series(1, 1000) g;
        COMMIT;
    END LOOP;
END
\$\$;
});
my $full2 = sql($node, qq{SELECT globalsync.start_sync('$full', NULL, 'full')});
ok(wait_until($node, $both_busy, 't', 30), 'again both targets are delivering');
$node->stop('immediate');
$node->start;
ok( wait_until($node, q{SELECT coalesce((globalsync.health()->>'worker_pid')::int, 0) > 0}, 't', 30),
	'after the immediate stop and start a worker runs');
is(sql($node, qq{SELECT globalsync.wait_sync('$full2', '90 s')}), 'completed',
	'the full sync interrupted by the immediate stop is resumed and completes');
ok( wait_until($node, qq{SELECT pending_events FROM globalsync.target_health WHERE target_id = '$rt'}, '0', 90),
	'the realtime target catches up after the immediate stop');

# --------------------------------------------------------------------
# 2b. a fast stop in the middle of deliveries: the worker exits promptly
# on SIGTERM (else pg_ctl would wait), and carries on after the start
# --------------------------------------------------------------------
sql($node, q{UPDATE c SET v = v || '-third' WHERE id > 200000});
my $full3 = sql($node, qq{SELECT globalsync.start_sync('$full', NULL, 'full')});
ok(wait_until($node, $both_busy, 't', 30), 'a third time both targets are delivering');
my $t0 = time();
$node->stop('fast');
my $stop_secs = time() - $t0;
cmp_ok($stop_secs, '<', 10, sprintf('a fast stop in the middle of the deliveries takes %.1f s', $stop_secs));
$node->start;
is(sql($node, qq{SELECT globalsync.wait_sync('$full3', '90 s')}), 'completed',
	'the full sync interrupted by the fast stop is resumed and completes');
ok( wait_until($node, qq{SELECT pending_events FROM globalsync.target_health WHERE target_id = '$rt'}, '0', 90),
	'the realtime target catches up after the fast stop');

ok( wait_until($node, q{SELECT count(*) FROM globalsync.sync_log WHERE status IN ('queued', 'running')}, '0', 30),
	'no sync is left queued or running');

# --------------------------------------------------------------------
# 3. nothing lost, nothing partial
# --------------------------------------------------------------------
my $logged = logged_event_ids($node, 'public.c');
is(scalar(@$logged), 55000, 'the log holds the 55,000 changes');
my $want = table_state($node, 'c');

my $got = read_target("$out/rt");
is_deeply($got->{bad}, [], 'realtime: no partial batch file, every line a JSON object of its batch');
note('realtime: ' . scalar(@{ $got->{tmp} }) . ' temporary files left: ' . join(' ', @{ $got->{tmp} }));
check_changes($got, $logged, 'realtime across the crashes', 'public.c');
# the realtime target never saw the initial rows 5001..30000 (unchanged since
# it exists): compare the rows changed since then
compare_states(final_state($got, 'public.c'), table_state($node, 'c', 'id <= 5000 OR id > 30000'),
	'realtime across the crashes (rows changed since the target exists)');

$got = read_target("$out/full");
is_deeply($got->{bad}, [], 'full: no partial batch file, every line a JSON object of its batch');
note('full: ' . scalar(@{ $got->{tmp} }) . ' temporary files left');
check_changes($got, $logged, 'full syncs across the crashes', 'public.c');
compare_states(final_state($got, 'public.c'), $want, 'full syncs across the crashes');

my $n1 = grep { $_->{sync} eq $full1 } @{ $got->{snapshots} };
my $n2 = grep { $_->{sync} eq $full2 } @{ $got->{snapshots} };
my $n3 = grep { $_->{sync} eq $full3 } @{ $got->{snapshots} };
cmp_ok($n1 * $n2 * $n3, '>', 0, "the three full syncs wrote snapshot chunks ($n1, $n2, $n3)");

my $log = slurp_file($node->logfile);
like($log, qr/background worker "globalsync worker" \(PID $pid\) was terminated by signal 9/,
	'the server log shows the killed worker');
unlike($log, qr/(PANIC|TRAP)/, 'no PANIC or assertion failure in the server log');

$node->stop;
done_testing();
