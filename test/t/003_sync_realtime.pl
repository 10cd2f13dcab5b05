
# 003_sync_realtime.pl: realtime delivery to the embedded file target, and
# the worker's life cycle with databases and the extension.
#
#  1. a tracked table and a realtime file target; 10,000 row changes
#     (inserts, updates, deletes) in many transactions, two sessions
#     writing at the same time, one transaction rolled back: the worker
#     delivers without anyone asking; once target_health says nothing is
#     pending and no sync runs, the NDJSON files in the folder hold every
#     event the change log captured for the table (compared by event_id
#     with the log, which a consumer of the test keeps from rotation),
#     nothing else, duplicates only as identical resends, for each row the
#     event ids increase in delivery order (files ordered by tick and first
#     event id, parsed from the batch id), every line is a complete JSON
#     object with the documented keys, and the state rebuilt from the files
#     equals the table; sync_history holds REALTIME_SYNC rows that add up
#     to the changes, lag_stats and dashboard_overview see the deliveries;
#     a second target with option facilities receives exactly the events
#     of that facility;
#  2. CREATE EXTENSION in a new database starts a worker there; DROP
#     EXTENSION stops it; DROP DATABASE of a database whose worker runs
#     succeeds.
#
# Every wait is bounded: a timeout on each psql call and background
# session, and a deadline on each poll (wait_until).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use GsSyncTest;

my $node = gs_node('sync_realtime');
my $out = $node->basedir . '/out';

sql($node, q{
CREATE EXTENSION globalsync;
CREATE TABLE t (id int PRIMARY KEY, facility_id text, v text);
SELECT globalsync.track('t');
-- a consumer that never reads: the log keeps every event for the checks
SELECT globalsync.register_consumer('test_hold');
});
my $fac1 = sql($node, q{SELECT globalsync.add_facility('Realtime Clinic A', 'Asia/Kolkata')});
my $fac2 = sql($node, q{SELECT globalsync.add_facility('Realtime Clinic B', 'America/New_York')});
my $tgt = sql($node, q{SELECT globalsync.add_target('files', 'file', 'rt')});
my $tgt_fac = sql($node, qq{SELECT globalsync.add_target('fac1 only', 'file', 'rt-fac1', '{"facilities": ["$fac1"]}')});
like($tgt, qr/^TGT_[A-Z0-9]{8}$/, 'add_target returns a TGT_ id');

ok( wait_until($node,
		q{SELECT (globalsync.health()->>'worker_pid')::int > 0}, 't', 30),
	'a worker runs for the database with the extension');

# --------------------------------------------------------------------
# 1. 10,000 changes from three sessions
# --------------------------------------------------------------------
my $timeout = $PostgreSQL::Test::Utils::timeout_default;
my $bg_a = $node->background_psql('postgres', timeout => $timeout);
my $bg_b = $node->background_psql('postgres', timeout => $timeout);

# phase 1 (concurrently): A and B insert 3000 rows each, 50 per transaction
sub insert_loop
{
	my ($base, $fac) = @_;
	return qq{
DO \$\$
BEGIN
    FOR k IN 0..59 LOOP
        INSERT INTO t SELECT $base + k * 50 + g, '$fac', 'ins-' || ($base + k * 50 + g)
          FROM generate_series(1, 50) g;
        COMMIT;
        PERFORM pg_sleep(0.01);
    END LOOP;
END
\$\$;
};
}
bg_send($bg_a, insert_loop(0, $fac1), 'phase1 done');
bg_send($bg_b, insert_loop(100000, $fac2), 'phase1 done');
# meanwhile, a transaction that rolls back: none of it may arrive
sql($node, qq{
BEGIN;
INSERT INTO t SELECT 500000 + g, '$fac1', 'rolled back' FROM generate_series(1, 100) g;
ROLLBACK;
});
# wait for both (bounded by the sessions' timeouts)
ok(bg_wait($_, 'phase1 done'), 'a writer session finished its 60 insert transactions') for ($bg_a, $bg_b);

# phase 2 (concurrently): A updates 2000 rows, 100 per transaction; B updates
# 1000 rows, 50 per transaction, then deletes 500, 50 per transaction
bg_send($bg_a, q{
DO $$
BEGIN
    FOR k IN 0..19 LOOP
        UPDATE t SET v = 'upd-a-' || id WHERE id BETWEEN k * 100 + 1 AND k * 100 + 100;
        COMMIT;
        PERFORM pg_sleep(0.01);
    END LOOP;
END
$$;
}, 'phase2 done');
bg_send($bg_b, q{
DO $$
BEGIN
    FOR k IN 0..19 LOOP
        UPDATE t SET v = 'upd-b-' || id WHERE id BETWEEN 100000 + k * 50 + 1 AND 100000 + k * 50 + 50;
        COMMIT;
        PERFORM pg_sleep(0.01);
    END LOOP;
    FOR k IN 0..9 LOOP
        DELETE FROM t WHERE id BETWEEN 102000 + k * 50 + 1 AND 102000 + k * 50 + 50;
        COMMIT;
        PERFORM pg_sleep(0.01);
    END LOOP;
END
$$;
}, 'phase2 done');
ok(bg_wait($_, 'phase2 done'), 'a writer session finished its update/delete transactions') for ($bg_a, $bg_b);
$bg_a->quit;
$bg_b->quit;

# phase 3: one transaction changing the same rows several times, deleting
# and re-inserting keys (500 changes)
sql($node, qq{
BEGIN;
UPDATE t SET v = v || '+1' WHERE id BETWEEN 1 AND 100;
UPDATE t SET v = v || '+2' WHERE id BETWEEN 1 AND 100;
UPDATE t SET v = v || '+3' WHERE id BETWEEN 1 AND 100;
DELETE FROM t WHERE id BETWEEN 2901 AND 3000;
INSERT INTO t SELECT g, '$fac2', 'again-' || g FROM generate_series(2901, 2950) g;
INSERT INTO t SELECT g, '$fac1', 'late-' || g FROM generate_series(200001, 200050) g;
COMMIT;
});

my $changes = 3000 + 3000 + 2000 + 1000 + 500 + 500;
is( sql($node, q{SELECT count(*) FROM globalsync.change_log WHERE table_name = 'public.t'}),
	$changes, "the log captured the $changes changes");

ok( wait_until($node, qq{
SELECT h.pending_events = 0 AND h.state = 'idle'
       AND NOT EXISTS (SELECT FROM globalsync.sync_progress p WHERE p.target_id = h.target_id)
       AND NOT EXISTS (SELECT FROM globalsync.sync_log l WHERE l.target_id = h.target_id
                         AND l.status IN ('queued', 'running'))
  FROM globalsync.target_health h WHERE h.target_id = '$tgt'}, 't', 90),
	'the realtime target catches up by itself: nothing pending, no sync running');

my $got = read_target("$out/rt");
is_deeply($got->{bad}, [], 'every batch file is complete and every line a JSON object of its batch');
is_deeply($got->{tmp}, [], 'no temporary file left in the folder');
is(scalar(@{ $got->{snapshots} }), 0, 'no snapshot batch for a realtime target');
cmp_ok(scalar(@{ $got->{batches} }), '>', 1, 'the changes came in several batch files (' . scalar(@{ $got->{batches} }) . ')');

my $logged = logged_event_ids($node, 'public.t');
my $seen = check_changes($got, $logged, 'realtime', 'public.t');

# the lines carry what the spec says
my ($first) = @{ $got->{batches}[0]{events} };
for my $key (qw(batch_id target_id event_id table op pk row old changed facility_id xid captured_at))
{
	ok(exists $first->{$key}, "an event line has the key $key");
}
is($first->{target_id}, $tgt, 'an event line names its target');
my %ops;
$ops{ $_->{op} }++ for values %$seen;
is(join(' ', map { "$_:$ops{$_}" } sort keys %ops), 'D:600 I:6100 U:3300',
	'inserts, updates and deletes delivered by count');
my @bad_xid = grep { ($_->{xid} // '') !~ /^\d+$/ } values %$seen;
is(scalar(@bad_xid), 0, 'every event has its transaction id');
is(scalar(grep { ($_->{row}{v} // '') eq 'rolled back' } values %$seen), 0,
	'nothing of the rolled back transaction arrived');
# the three updates of one row in one transaction arrive in that order
my @row1 = sort { $a->{event_id} <=> $b->{event_id} } grep { $_->{pk}{id} == 1 } values %$seen;
is(join(',', map { $_->{op} . ':' . ($_->{row}{v} // '') } @row1),
	'I:ins-1,U:upd-a-1,U:upd-a-1+1,U:upd-a-1+1+2,U:upd-a-1+1+2+3',
	'the changes of one row arrive in commit order');

compare_states(final_state($got, 'public.t'), table_state($node, 't'), 'realtime');

# the target limited to one facility: exactly that facility's events
ok( wait_until($node, qq{SELECT pending_events = 0 FROM globalsync.target_health WHERE target_id = '$tgt_fac'}, 't', 60),
	'the facility target caught up too');
my $got_fac = read_target("$out/rt-fac1");
is_deeply($got_fac->{bad}, [], 'facility target: complete files of JSON lines');
my @fac_logged = split /\n/,
  sql($node, qq{SELECT event_id FROM globalsync.change_log WHERE table_name = 'public.t' AND facility_id = '$fac1' ORDER BY 1});
check_changes($got_fac, \@fac_logged, "facility target ($fac1)", 'public.t');

# history, statistics
my ($runs, $recs, $bad_status) = split /\|/, sql($node, qq{
SELECT count(*), sum(record_count), count(*) FILTER (WHERE status <> 'completed' OR operation_type <> 'REALTIME_SYNC')
  FROM globalsync.sync_history WHERE target_id = '$tgt'});
cmp_ok($runs, '>=', 1, "sync_history has REALTIME_SYNC runs ($runs)");
is($bad_status, 0, 'all of them REALTIME_SYNC and completed');
cmp_ok($recs, '>=', $changes, "their record counts add up to at least the $changes changes ($recs)");
is( sql($node, qq{SELECT events_delivered >= $changes AND p50_lag_seconds IS NOT NULL AND pending_events = 0
                    FROM globalsync.lag_stats WHERE scope = 'target' AND target_id = '$tgt'}),
	't', 'lag_stats: the events delivered, a lag, nothing pending');
is( sql($node, q{SELECT syncs_today_ist >= 1 AND running_syncs = 0 AND dead_letters = 0 AND breakers_open = 0
                   FROM globalsync.dashboard_overview}),
	't', 'dashboard_overview: syncs today, nothing running, no dead letter, no open breaker');
is( sql($node, qq{SELECT breaker || ' ' || consecutive_failures || ' ' || dead_letters || ' ' || (last_success_at IS NOT NULL)
                    FROM globalsync.target_health WHERE target_id = '$tgt'}),
	'closed 0 0 true', 'target_health: breaker closed, no failure, no dead letter, a last success');

# a change after the catch-up arrives by itself, too
sql($node, qq{INSERT INTO t VALUES (300000, '$fac1', 'after')});
ok( wait_until($node, qq{SELECT pending_events = 0 FROM globalsync.target_health WHERE target_id = '$tgt'}, 't', 30),
	'a later change is delivered');
$got = read_target("$out/rt");
is(scalar(grep { ($_->{row}{v} // '') eq 'after' } map { @{ $_->{events} } } @{ $got->{batches} }), 1,
	'... and it is in the folder');

# --------------------------------------------------------------------
# 2. databases and the extension
# --------------------------------------------------------------------
my $worker_in = q{
SELECT count(*) FROM pg_stat_activity a JOIN pg_database d ON d.oid = a.datid
 WHERE a.backend_type = 'globalsync worker' AND d.datname = };

sql($node, 'CREATE DATABASE db2');
sql_db($node, 'db2', 'CREATE EXTENSION globalsync');
ok(wait_until($node, $worker_in . q{'db2'}, '1', 15), 'CREATE EXTENSION in a new database starts a worker there');
ok( wait_until($node, q{SELECT (globalsync.health()->>'worker_running')::bool}, 't', 15, 'db2'),
	"health() in the new database reports its worker");

sql_db($node, 'db2', 'DROP EXTENSION globalsync');
ok(wait_until($node, $worker_in . q{'db2'}, '0', 10), 'DROP EXTENSION stops the worker of that database');
sql_db($node, 'db2', 'CREATE EXTENSION globalsync');
ok(wait_until($node, $worker_in . q{'db2'}, '1', 15), 'CREATE EXTENSION again starts a worker again');
my ($ok, $stdout, $stderr) = try_sql($node, 'DROP DATABASE db2');
ok($ok, 'DROP DATABASE of a database whose worker runs succeeds') or diag($stderr);
is(sql($node, q{SELECT count(*) FROM pg_database WHERE datname = 'db2'}), '0', 'the database is gone');
ok(wait_until($node, $worker_in . q{'db2'}, '0', 10), 'no worker left for it');

# the first database's worker was not disturbed
ok(wait_until($node, q{SELECT (globalsync.health()->>'worker_running')::bool}, 't', 15),
	'the worker of the first database still runs');
sql($node, qq{INSERT INTO t VALUES (300001, '$fac1', 'after-drop')});
ok( wait_until($node, qq{SELECT pending_events = 0 FROM globalsync.target_health WHERE target_id = '$tgt'}, 't', 30),
	'and still delivers');

my $log = slurp_file($node->logfile);
unlike($log, qr/(PANIC|TRAP|terminated by signal|server process .* exited with exit code [^0])/,
	'no crash in the server log');

$node->stop;
done_testing();
