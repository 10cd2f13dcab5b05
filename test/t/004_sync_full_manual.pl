
# 004_sync_full_manual.pl: scheduled, manual and full syncs, and cancel.
#
#  1. a scheduled target ({"schedule": "2 seconds"}) receives the changes
#     without anyone asking, in SCHEDULED_SYNC runs; a manual target
#     receives nothing until start_sync(target), then wait_sync() says
#     completed and every change is in its folder; sync_history shows
#     MANUAL_SYNC / SCHEDULED_SYNC rows with their record counts and
#     sync_status() the finished run;
#  2. a full sync of a 100,000-row table while a background session keeps
#     updating, inserting and deleting: start_sync(target, NULL, 'full')
#     completes; after the writer stops, an incremental start_sync
#     completes; the state rebuilt from the folder (per key the event with
#     the highest event_id, else the snapshot row; deletes remove) equals
#     the table, and the change events are exactly the logged ones;
#  3. a full sync limited to one facility sends only that facility's rows,
#     all of them;
#  4. cancel_sync() of a long full sync (100-row batches): wait_sync()
#     returns 'cancelled' within about two seconds, the run is gone from
#     sync_progress, it sent less than everything, and nothing is left
#     half-written;
#  5. the "tables" option keeps a target to its tables; remove_target() of
#     a target in the middle of its full sync ends that run, the worker
#     carries on (same pid) and other targets still sync.
#
# Every wait is bounded: a timeout on each psql call and background
# session, a deadline on each poll, wait_sync() with a timeout.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use JSON::PP;
use GsSyncTest;

my $node = gs_node('sync_full_manual');
my $out = $node->basedir . '/out';

sql($node, q{
CREATE EXTENSION globalsync;
SELECT globalsync.register_consumer('test_hold');
CREATE TABLE s (id int PRIMARY KEY, facility_id text, v text);
SELECT globalsync.track('s');
CREATE TABLE stop_flag (stop boolean);
});
my $fac1 = sql($node, q{SELECT globalsync.add_facility('Full Clinic A', 'Asia/Kolkata')});
my $fac2 = sql($node, q{SELECT globalsync.add_facility('Full Clinic B', 'Europe/London')});

# --------------------------------------------------------------------
# 1. scheduled and manual
# --------------------------------------------------------------------
# option "tables" takes table names as tracked_tables.table_name shows them
# (regclass text: unqualified for a table on the search_path)
my $shown = sql($node, q{SELECT table_name::text FROM globalsync.tracked_tables WHERE relation_name = 's'});
is($shown, 's', 'tracked_tables shows the table as s');
my ($ok, $o, $err) = try_sql($node,
	qq{SELECT globalsync.remove_target(globalsync.add_target('unq', 'file', 'unq', '{"schedule": "manual", "tables": ["$shown"]}'))});
ok($ok, 'option "tables" accepts a table name as tracked_tables shows it') or diag($err);

my $sched = sql($node,
	q{SELECT globalsync.add_target('sched', 'file', 'sched', '{"schedule": "2 seconds", "tables": ["public.s"]}')});
my $manual = sql($node,
	q{SELECT globalsync.add_target('manual', 'file', 'manual', '{"schedule": "manual", "tables": ["public.s"]}')});

for my $k (0 .. 3)
{
	sql($node, qq{INSERT INTO s SELECT g, '$fac1', 'v' || g FROM generate_series($k * 50 + 1, $k * 50 + 50) g});
}
sql($node, q{UPDATE s SET v = v || '-u' WHERE id <= 20; DELETE FROM s WHERE id > 190});
my $s_changes = 200 + 20 + 10;

# the scheduled target gets them by itself
my $t0 = time();
ok( wait_until($node, qq{SELECT coalesce(sum(record_count), 0) FROM globalsync.sync_history
                          WHERE target_id = '$sched' AND status = 'completed'}, $s_changes, 20),
	"the scheduled target received the $s_changes changes without manual action");
my $got = read_target("$out/sched");
is_deeply($got->{bad}, [], 'scheduled: complete files of JSON lines');
check_changes($got, logged_event_ids($node, 'public.s'), 'scheduled', 'public.s');
compare_states(final_state($got, 'public.s'), table_state($node, 's'), 'scheduled');
is( sql($node, qq{SELECT string_agg(DISTINCT operation_type, ',') FROM globalsync.sync_history WHERE target_id = '$sched'}),
	'SCHEDULED_SYNC', 'sync_history: its runs are SCHEDULED_SYNC');

# the manual target: nothing yet (the scheduled one had a few seconds)
sleep 1 if time() - $t0 < 2.5;
$got = read_target("$out/manual");
is(scalar(@{ $got->{batches} }) + scalar(@{ $got->{snapshots} }), 0, 'the manual target received nothing by itself');
is(sql($node, qq{SELECT count(*) FROM globalsync.sync_log WHERE target_id = '$manual'}), '0',
	'and no run was logged for it');
is(sql($node, qq{SELECT pending_events FROM globalsync.target_health WHERE target_id = '$manual'}), $s_changes,
	"target_health: $s_changes events pending for it");

my $sid = sql($node, qq{SELECT globalsync.start_sync('$manual')});
like($sid, qr/^SYN_[A-Z0-9]+$/, 'start_sync returns a SYN_ id');
is(sql($node, qq{SELECT globalsync.wait_sync('$sid', '30 s')}), 'completed', 'wait_sync: the manual sync completed');
$got = read_target("$out/manual");
is_deeply($got->{bad}, [], 'manual: complete files of JSON lines');
check_changes($got, logged_event_ids($node, 'public.s'), 'manual', 'public.s');
compare_states(final_state($got, 'public.s'), table_state($node, 's'), 'manual');
is( sql($node, qq{SELECT operation_type || ' ' || status || ' ' || record_count || ' ' || records_failed || ' '
                         || (bytes_sent > 0) || ' ' || target_name || ' ' || created_by_user
                    FROM globalsync.sync_history WHERE sync_id = '$sid'}),
	"MANUAL_SYNC completed $s_changes 0 true manual postgres",
	'sync_history: the MANUAL_SYNC row with its record count, bytes and user');
is( sql($node, qq{SELECT s->>'status' || ' ' || (s->>'step') || '/' || (s->>'total_steps') || ' '
                         || (s->>'progress_percentage') || ' ' || (s->>'records_sent')
                    FROM globalsync.sync_status('$sid') s}),
	"completed 8/8 100 $s_changes", 'sync_status of the finished sync');
is(sql($node, qq{SELECT pending_events FROM globalsync.target_health WHERE target_id = '$manual'}), '0',
	'nothing pending for the manual target any more');

# a second round: the scheduled target again by itself, the manual one not
sql($node, qq{INSERT INTO s SELECT g, '$fac2', 'second' FROM generate_series(1001, 1010) g});
ok( wait_until($node, qq{SELECT coalesce(sum(record_count), 0) FROM globalsync.sync_history
                          WHERE target_id = '$sched' AND status = 'completed'}, $s_changes + 10, 20),
	'the scheduled target gets later changes at its next interval');
cmp_ok(sql($node, qq{SELECT count(*) FROM globalsync.sync_history WHERE target_id = '$sched'
                       AND operation_type = 'SCHEDULED_SYNC' AND status = 'completed'}),
	'>=', 2, 'in another SCHEDULED_SYNC run');
is(sql($node, qq{SELECT pending_events FROM globalsync.target_health WHERE target_id = '$manual'}), '10',
	'the manual target waits for the next start_sync');

# --------------------------------------------------------------------
# 2. full sync of 100,000 rows while writes continue
# --------------------------------------------------------------------
sql($node, qq{
CREATE TABLE big (id int PRIMARY KEY, facility_id text, v text);
INSERT INTO big SELECT g, CASE WHEN g % 3 = 0 THEN '$fac1' ELSE '$fac2' END, 'initial-' || g
  FROM generate_series(1, 100000) g;
SELECT globalsync.track('big');
});
my $full = sql($node,
	q{SELECT globalsync.add_target('full', 'file', 'full', '{"schedule": "manual", "tables": ["public.big"]}')});

my $timeout = $PostgreSQL::Test::Utils::timeout_default;
my $writer = $node->background_psql('postgres', timeout => $timeout);
bg_send($writer, qq{
DO \$\$
BEGIN
    FOR k IN 1..6000 LOOP
        EXIT WHEN EXISTS (SELECT FROM stop_flag);
        UPDATE big SET v = 'w' || k WHERE id = (k * 7919) % 100000 + 1;
        UPDATE big SET v = 'x' || k WHERE id = (k * 15485) % 100000 + 1;
        INSERT INTO big VALUES (200000 + k, CASE WHEN k % 2 = 0 THEN '$fac1' ELSE '$fac2' END, 'new' || k);
        DELETE FROM big WHERE id = (k * 104729) % 100000 + 1;
        COMMIT;
        PERFORM pg_sleep(0.005);
    END LOOP;
END
\$\$;
}, 'writer done');
ok( wait_until($node, q{SELECT count(*) > 100 FROM globalsync.change_log WHERE table_name = 'public.big'}, 't', 30),
	'the writer is changing the table');

my $full_sid = sql($node, qq{SELECT globalsync.start_sync('$full', NULL, 'full')});
is(sql($node, qq{SELECT globalsync.wait_sync('$full_sid', '90 s')}), 'completed',
	'the full sync completed while the writer kept writing');
is( sql($node, q{SELECT count(*) FROM stop_flag}), '0', 'the writer was still running then');
my $during = sql($node, qq{
SELECT count(*) FROM globalsync.change_log c, globalsync.sync_log l
 WHERE l.sync_id = '$full_sid' AND c.table_name = 'public.big'
   AND c.captured_at BETWEEN l.sync_started_at::timestamptz AND l.sync_completed_at::timestamptz});
cmp_ok($during, '>', 0, "changes were made during the full sync ($during)");

sql($node, 'INSERT INTO stop_flag VALUES (true)');
ok(bg_wait($writer, 'writer done'), 'the writer stopped');
$writer->quit;

my $inc_sid = sql($node, qq{SELECT globalsync.start_sync('$full')});
is(sql($node, qq{SELECT globalsync.wait_sync('$inc_sid', '60 s')}), 'completed',
	'an incremental sync after the writer stopped completed');

$got = read_target("$out/full");
is_deeply($got->{bad}, [], 'full: complete files of JSON lines');
is_deeply($got->{tmp}, [], 'full: no temporary file left');
my @snap_rows = map { @{ $_->{events} } } grep { $_->{sync} eq $full_sid } @{ $got->{snapshots} };
my %snap_pk;
$snap_pk{ $_->{pk}{id} }++ for @snap_rows;
cmp_ok(scalar(keys %snap_pk), '>=', 90000, 'the snapshot sent (about) the 100,000 rows (' . scalar(keys %snap_pk) . ' keys)');
is(scalar(grep { ($_->{op} // '') ne 'R' } @snap_rows), 0, 'snapshot lines: op R');
# the spec: same keys as the change events, event_id and xid null, the
# sync id in "snapshot"
my @bad_keys;
for my $e (@snap_rows)
{
	my @why;
	for my $k (qw(batch_id target_id event_id table op pk row facility_id xid snapshot))
	{
		push @why, "no key $k" if !exists $e->{$k};
	}
	push @why, 'event_id not null' if defined $e->{event_id};
	push @why, 'xid not null' if defined $e->{xid};
	push @why, 'snapshot is not the sync id' if ($e->{snapshot} // '') ne $full_sid;
	push @bad_keys, join(', ', @why) if @why;
}
is(scalar(@bad_keys), 0,
	'snapshot lines: the keys of an event (target_id, event_id null, xid null, snapshot = sync id)')
  or diag(scalar(@bad_keys) . ' lines, e.g.: ' . $bad_keys[0] . "\nline: " . JSON::PP->new->canonical->encode($snap_rows[0]));
my $chunk_order_bad = 0;
{
	my $prev = 0;
	for my $e (map { @{ $_->{events} } } grep { $_->{sync} eq $full_sid } @{ $got->{snapshots} })
	{
		$chunk_order_bad++ if $e->{pk}{id} <= $prev;
		$prev = $e->{pk}{id};
	}
}
is($chunk_order_bad, 0, 'snapshot chunks follow the primary key order');
my $logged_big = logged_event_ids($node, 'public.big');
check_changes($got, $logged_big, 'full: change events', 'public.big');
compare_states(final_state($got, 'public.big'), table_state($node, 'big'), 'full sync under writes');
my ($optype, $status, $recs) = split /\|/,
  sql($node, qq{SELECT operation_type, status, record_count FROM globalsync.sync_history WHERE sync_id = '$full_sid'});
is("$optype $status", 'FULL_SYNC completed', 'sync_history: a completed FULL_SYNC row');
cmp_ok($recs, '>=', scalar(@snap_rows), "its record count covers the snapshot rows ($recs)");
is(sql($node, qq{SELECT count(*) FROM globalsync.full_sync_state WHERE sync_id = '$full_sid'}), '0',
	'full_sync_state is cleared at the end');

# --------------------------------------------------------------------
# 3. a full sync of one facility
# --------------------------------------------------------------------
my $ffac = sql($node,
	q{SELECT globalsync.add_target('fullfac', 'file', 'fullfac', '{"schedule": "manual", "tables": ["public.big"]}')});
my $ffac_sid = sql($node, qq{SELECT globalsync.start_sync('$ffac', '$fac1', 'full')});
is(sql($node, qq{SELECT globalsync.wait_sync('$ffac_sid', '60 s')}), 'completed',
	'the full sync of one facility completed');
$got = read_target("$out/fullfac");
is_deeply($got->{bad}, [], 'facility full sync: complete files of JSON lines');
my @frows = map { @{ $_->{events} } } @{ $got->{snapshots} };
is(scalar(grep { ($_->{facility_id} // '') ne $fac1 || ($_->{row}{facility_id} // '') ne $fac1 } @frows), 0,
	'only rows of that facility were sent');
my %fpk = map { $_->{pk}{id} => 1 } @frows;
is(scalar(keys %fpk), sql($node, qq{SELECT count(*) FROM big WHERE facility_id = '$fac1'}),
	'all rows of that facility were sent');
is(sql($node, qq{SELECT facility_id || ' ' || facility_name FROM globalsync.sync_history WHERE sync_id = '$ffac_sid'}),
	"$fac1 Full Clinic A", 'sync_history names the facility');

# --------------------------------------------------------------------
# 4. cancel
# --------------------------------------------------------------------
my $cancel_tgt = sql($node,
	q{SELECT globalsync.add_target('cancelme', 'file', 'cancel', '{"schedule": "manual", "tables": ["public.big"], "max_batch_events": 100}')});
my $c_sid = sql($node, qq{SELECT globalsync.start_sync('$cancel_tgt', NULL, 'full')});
ok( wait_until($node, qq{SELECT records_sent > 0 FROM globalsync.sync_progress WHERE sync_id = '$c_sid'}, 't', 20),
	'the long full sync is under way');
is(sql($node, qq{SELECT globalsync.cancel_sync('$c_sid')}), 't', 'cancel_sync returns true');
my $c0 = time();
is(sql($node, qq{SELECT globalsync.wait_sync('$c_sid', '3 s')}), 'cancelled', 'wait_sync returns cancelled');
my $elapsed = time() - $c0;
cmp_ok($elapsed, '<', 2.5, sprintf('within about two seconds (%.2f s)', $elapsed));
is(sql($node, qq{SELECT count(*) FROM globalsync.sync_progress WHERE sync_id = '$c_sid'}), '0',
	'the cancelled sync is gone from sync_progress');
is(sql($node, qq{SELECT globalsync.sync_status('$c_sid')->>'status'}), 'cancelled', 'sync_status says cancelled');
is(sql($node, qq{SELECT globalsync.cancel_sync('$c_sid')}), 'f', 'cancelling it again returns false');
$got = read_target("$out/cancel");
my $c_rows = 0;
$c_rows += scalar(@{ $_->{events} }) for @{ $got->{snapshots} };
cmp_ok($c_rows, '<', 90000, "it sent only part of the table ($c_rows rows)");
is_deeply($got->{bad}, [], 'cancel: the files written are complete');
my $c_logged = sql($node, qq{SELECT record_count FROM globalsync.sync_log WHERE sync_id = '$c_sid'});
cmp_ok($c_logged, '<=', $c_rows, "sync_log counts at most what was written ($c_logged)");

# cancel of a queued sync (the target already has a run: the new one waits)
my $q1 = sql($node, qq{SELECT globalsync.start_sync('$cancel_tgt', NULL, 'full')});
my $q2 = sql($node, qq{SELECT globalsync.start_sync('$cancel_tgt')});
is(sql($node, qq{SELECT globalsync.cancel_sync('$q2')}), 't', 'cancel_sync of a sync queued behind another');
is(sql($node, qq{SELECT globalsync.cancel_sync('$q1')}), 't', 'and of the running one');
is(sql($node, qq{SELECT globalsync.wait_sync('$q1', '3 s') || ' ' || globalsync.wait_sync('$q2', '3 s')}),
	'cancelled cancelled', 'both end cancelled');

# --------------------------------------------------------------------
# 5. the "tables" option kept the other targets to their table; a target
#    removed in the middle of its sync leaves the worker running
# --------------------------------------------------------------------
for my $dir (qw(sched manual))
{
	my $g = read_target("$out/$dir");
	my @other = grep { ($_->{table} // '') ne 'public.s' } map { @{ $_->{events} } } @{ $g->{batches} }, @{ $g->{snapshots} };
	is(scalar(@other), 0, "the $dir target (tables: public.s) received no event of another table");
}
my $pid = sql($node, q{SELECT globalsync.health()->>'worker_pid'});
my $gone = sql($node,
	q{SELECT globalsync.add_target('gone', 'file', 'gone', '{"schedule": "manual", "tables": ["public.big"], "max_batch_events": 100}')});
my $g_sid = sql($node, qq{SELECT globalsync.start_sync('$gone', NULL, 'full')});
ok(wait_until($node, qq{SELECT records_sent > 0 FROM globalsync.sync_progress WHERE sync_id = '$g_sid'}, 't', 20),
	'a full sync of another target is under way');
is(sql($node, qq{SELECT globalsync.remove_target('$gone')}), 't', 'remove_target in the middle of its sync');
ok(wait_until($node, qq{SELECT count(*) FROM globalsync.sync_progress WHERE sync_id = '$g_sid'}, '0', 10),
	'its run ends');
is(sql($node, q{SELECT globalsync.health()->>'worker_pid'}), $pid, 'the same worker still runs');
sql($node, qq{INSERT INTO s VALUES (2000, '$fac1', 'after remove')});
my $m_sid = sql($node, qq{SELECT globalsync.start_sync('$manual')});
is(sql($node, qq{SELECT globalsync.wait_sync('$m_sid', '30 s')}), 'completed', 'and another target still syncs');
is(sql($node, qq{SELECT count(*) FROM globalsync.sync_log WHERE target_id = '$gone'}), '0',
	'the removed target\'s history is gone with it');

my $log = slurp_file($node->logfile);
unlike($log, qr/(PANIC|TRAP|terminated by signal|server process .* exited with exit code [^0])/,
	'no crash in the server log');

$node->stop;
done_testing();
