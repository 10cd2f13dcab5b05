
# 009_http_concurrency.pl: the http (webhook) target when a receiver is slow,
# hangs or fails, seen from the other targets and from the operator (what
# 008_http_target.pl does not cover).  Receivers: test/lib/webhook_receiver.py
# on loopback, one process, one path per target, its answer set per path at
# run time.
#
# Settings (in postgresql.conf before the start): max_attempts 20 (no dead
# letter in this test), retry_base_delay 50ms, retry_max_delay 200ms,
# breaker_threshold 2, breaker_cooldown 1s, max_concurrent_syncs 8;
# tick_interval 20ms (gs_node).
#
#  1. a hanging receiver delays no one: three realtime targets of one table,
#     an http target whose receiver hangs (timeout_ms 8000), an http target
#     whose receiver answers 200 and a file target; two rounds of changes:
#     the healthy http target and the file target have every event of each
#     round within 2 s of its commit, while the hanging target still has
#     its first batch in flight (sync_progress: step 6 sending, one request
#     at its receiver, its events pending); once its receiver answers 200,
#     it gets everything too, the cut-off batch under the same webhook-id;
#  2. cancel_sync mid-transfer: a manual target whose receiver hangs
#     (timeout_ms 30000); start_sync, sync_progress shows step 6 and the
#     request is at the receiver; cancel_sync returns true and wait_sync
#     returns 'cancelled' within 2 s; target_health.pending_events is what
#     it was (the cursor did not move); sync_history says cancelled; with
#     the receiver answering 200, a new start_sync completes and delivers
#     every event, the batch that was cut off under the same webhook-id with
#     the same events;
#  3. the circuit breaker: breaker_threshold 2, breaker_cooldown 1s, a
#     receiver answering 500: target_health shows the breaker open with at
#     least 2 consecutive failures, the attempt after the second failure
#     comes no sooner than the cool-down; with the receiver answering 200,
#     the breaker closes (closed, 0 failures), everything arrives, no dead
#     letter;
#  4. SIGTERM mid-transfer: while a request hangs (timeout_ms 60000),
#     stop('fast') returns within 5 s; after the start, with the receiver
#     answering 200, every event arrives, the batch that was cut off under
#     the same webhook-id with the same events;
#  5. server restart mid-transfer: stop('immediate') while a request hangs,
#     start, the receiver answering 200: every committed event arrives,
#     nothing lost, duplicates only as resends under the same webhook-id;
#     this includes events committed while the request hung and 10 rows
#     committed just before the crash that no tick covered yet (made
#     certain by a session holding the lock tick() needs, as if the crash
#     came within tick_interval of the commit).
#
# Every wait is bounded: a timeout on each psql call, a deadline on each
# poll, PGCTLTIMEOUT on pg_ctl stop, timeouts and a lifetime on the
# receiver.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use Time::HiRes qw(usleep time);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use GsSyncTest;

my $J = JSON::PP->new->canonical(1);
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $node;

# --------------------------------------------------------------------
# the requests the receiver got
# --------------------------------------------------------------------
sub accepted { return [ grep { ($_->{status} // '') eq '200' } @{ $_[0] } ] }

# events of a request (json envelope), or undef
sub events_of
{
	my ($q) = @_;
	my $env = eval { $J->decode($q->{body}) };
	return undef unless ref $env eq 'HASH' && ref $env->{events} eq 'ARRAY';
	return $env->{events};
}

sub canon_events
{
	my ($ev) = @_;
	return $J->encode([ map { my %c = %$_; delete $c{batch_id}; \%c } @{ $ev // [] } ]);
}

# accepted_ids(receiver, path): event id => 1 for every event of an accepted request
sub accepted_ids
{
	my ($r, $path) = @_;
	my %ids;
	for my $q (@{ accepted(standin_requests($r, $path)) })
	{
		$ids{ $_->{event_id} // '' } = 1 for @{ events_of($q) // [] };
	}
	return \%ids;
}

# file_ids(folder): event id => 1 for every event of a file target's folder
sub file_ids
{
	my ($dir) = @_;
	my %ids;
	my $got = read_target($dir);
	for my $b (@{ $got->{batches} })
	{
		$ids{ $_->{event_id} // '' } = 1 for @{ $b->{events} };
	}
	return \%ids;
}

sub has_all
{
	my ($have, $want) = @_;
	return !grep { !$have->{$_} } @$want;
}

sub min9 { return $_[0] < 9 ? $_[0] : 9 }

# check_http(label, receiver, path, table, hung => [requests cut off]):
# what one target received: every logged event of the table, nothing else,
# each event accepted under one webhook-id only, requests with one
# webhook-id carry the same events, and every request cut off (hung) was
# later accepted under its webhook-id with the same events.
sub check_http
{
	my ($label, $r, $path, $table, %o) = @_;
	my $reqs = standin_requests($r, $path);
	my $acc = accepted($reqs);
	ok(@$acc > 0, "$label: the receiver accepted requests (" . scalar(@$reqs) . " requests, " . scalar(@$acc) . " accepted)");

	my (%by_id, @bad_body);
	for my $q (@$reqs)
	{
		my $ev = events_of($q);
		if (!$ev || !@$ev)
		{
			push @bad_body, "seq $q->{seq}: no events in the body: " . substr($q->{body} // '', 0, 200);
			next;
		}
		my $id = $q->{webhook_id} // '';
		push @bad_body, "seq $q->{seq}: webhook-id '$id' vs Idempotency-Key '" . ($q->{headers}{'idempotency-key'} // '') . "'"
		  if $id eq '' || ($q->{headers}{'idempotency-key'} // '') ne $id;
		push @{ $by_id{$id} }, { q => $q, ev => $ev };
	}
	is(scalar(@bad_body), 0, "$label: every request holds events and its webhook-id") or diag(join("\n", @bad_body[0 .. min9($#bad_body)]));

	my @differ = grep { my $i = $_; keys %{ { map { canon_events($_->{ev}) => 1 } @{ $by_id{$i} } } } > 1 } keys %by_id;
	is(scalar(@differ), 0, "$label: requests with the same webhook-id carry the same events") or diag("@differ");

	my (%acc_id_of, @twice, @batches, %first_seen);
	for my $q (@$acc)
	{
		my $id = $q->{webhook_id} // '';
		my $ev = events_of($q) or next;
		for my $e (@$ev)
		{
			my $k = $e->{event_id} // 'null';
			push @twice, "event $k under $acc_id_of{$k} and $id" if exists $acc_id_of{$k} && $acc_id_of{$k} ne $id;
			$acc_id_of{$k} = $id;
		}
		my $b = { name => $id, events => $ev };
		@$b{qw(prev tick first last)} = $id =~ /-(\d+)-(\d+)-(\d+)-(\d+)$/;
		push @batches, $b;
	}
	is(scalar(@twice), 0, "$label: every event was accepted under one webhook-id only (resends keep it)")
	  or diag(join("\n", @twice[0 .. min9($#twice)]));

	for my $h (@{ $o{hung} // [] })
	{
		my $id = $h->{webhook_id} // 'none';
		my @later = grep { ($_->{webhook_id} // '') eq $id && $_->{seq} > $h->{seq} } @$acc;
		ok(scalar(@later) >= 1, "$label: the batch cut off ($id) was accepted later under the same webhook-id")
		  or diag('accepted webhook-ids: ' . join(' ', map { $_->{webhook_id} // 'none' } @$acc));
		is(canon_events(@later ? events_of($later[0]) : undef), canon_events(events_of($h)),
			"$label: ... with the same events") if @later;
	}
	check_changes({ batches => \@batches }, logged_event_ids($node, "public.$table"), $label, "public.$table");
	return;
}

# --------------------------------------------------------------------
# the server, the receiver, the tables
# --------------------------------------------------------------------
$node = gs_node('http_concurrency', q{
restart_after_crash = on
globalsync.max_attempts = 20
globalsync.retry_base_delay = '50ms'
globalsync.retry_max_delay = '200ms'
globalsync.breaker_threshold = 2
globalsync.breaker_cooldown = '1s'
globalsync.max_concurrent_syncs = 8
});
my $out = $node->basedir . '/out';
my $rcv = start_standin('main', 'webhook_receiver.py', lifetime => 400);
like($rcv->{port}, qr/^\d+$/, "the receiver listens on 127.0.0.1:$rcv->{port}");

my @tables = qw(c1 c2 c3 c4 c5);
track_tables($node, 'id int PRIMARY KEY, facility_id text, v text', @tables);
my $fac = sql($node, q{SELECT globalsync.add_facility('Concurrency Clinic', 'Asia/Kolkata')});

sub add_target
{
	my ($name, $kind, $endpoint, $table, $extra) = @_;
	my $o = $J->encode({ tables => ["public.$table"], %{ $extra // {} } });
	$o =~ s/'/''/g;
	return sql($node, qq{SELECT globalsync.add_target('$name', '$kind', '$endpoint', '$o')});
}

sub pending
{
	my ($tid) = @_;
	return sql($node, qq{SELECT pending_events FROM globalsync.target_health WHERE target_id = '$tid'});
}

# the step of a target's running sync: "step step_name" or '' if none runs
sub progress_of
{
	my ($tid) = @_;
	return sql($node, qq{SELECT coalesce(string_agg(step || ' ' || step_name, ','), '') FROM globalsync.sync_progress WHERE target_id = '$tid'});
}

# the requests of a path that hung (status "hang")
sub hung_requests { return [ grep { ($_->{status} // '') eq 'hang' } @{ standin_requests($rcv, $_[0]) } ] }

ok(wait_until($node, q{SELECT (globalsync.health()->>'worker_pid')::int > 0}, 't', 30), 'a worker runs');

# --------------------------------------------------------------------
# 1. a hanging receiver delays neither another http target nor a file target
# --------------------------------------------------------------------
standin_control($rcv, { path => '/hang1', mode => 'hang', hang_seconds => 30 });
standin_control($rcv, { path => '/ok1', mode => 'ok' });
my %tid;
$tid{hang1} = add_target('s1 hang', 'http', "$rcv->{base}/hang1", 'c1', { timeout_ms => 8000 });
$tid{ok1} = add_target('s1 ok', 'http', "$rcv->{base}/ok1", 'c1');
$tid{file1} = add_target('s1 file', 'file', 's1file', 'c1');
is(scalar(grep { /^TGT_[A-Z0-9]{8}$/ } values %tid), 3, 'section 1: two http targets and a file target of table c1');

# round(k): 4 transactions of 10 rows; returns the time before the commits
my $round = sub {
	my ($k) = @_;
	my $t = time();
	sql($node, qq{DO \$\$ BEGIN
    FOR j IN 0..3 LOOP
        INSERT INTO c1 SELECT $k * 100 + j * 10 + g, '$fac', 'r$k' FROM generate_series(1, 10) g;
        COMMIT;
    END LOOP;
END \$\$;});
	return $t;
};

# wait_healthy(t0, label): until the healthy http and file targets have
# every logged event of c1 (at most 10 s); asserts it took at most 2 s
my $wait_healthy = sub {
	my ($t0, $label) = @_;
	my $want = logged_event_ids($node, 'public.c1');
	my ($t_http, $t_file);
	my $deadline = $t0 + 10;
	while (time() < $deadline && !(defined $t_http && defined $t_file))
	{
		$t_http //= time() if has_all(accepted_ids($rcv, '/ok1'), $want);
		$t_file //= time() if has_all(file_ids("$out/s1file"), $want);
		usleep(20_000) unless defined $t_http && defined $t_file;
	}
	ok(defined $t_http && $t_http - $t0 <= 2,
		sprintf("$label: the healthy http target has all %d events within 2 s (%s)", scalar(@$want),
			defined $t_http ? sprintf('%.2f s', $t_http - $t0) : 'not within 10 s'));
	ok(defined $t_file && $t_file - $t0 <= 2,
		sprintf("$label: the file target has all %d events within 2 s (%s)", scalar(@$want),
			defined $t_file ? sprintf('%.2f s', $t_file - $t0) : 'not within 10 s'));
};

my $t0 = $round->(1);
$wait_healthy->($t0, 'round 1');
ok(wait_requests($rcv, '/hang1', 1, 5), 'section 1: the hanging receiver holds a request');
my $hang1_first = standin_requests($rcv, '/hang1')->[0];
is(progress_of($tid{hang1}), '6 sending', 'section 1: the hanging target is at step 6 sending (its batch in flight)');
cmp_ok(pending($tid{hang1}), '>', 0, 'section 1: the hanging target has its events pending');
is(pending($tid{ok1}) . ' ' . pending($tid{file1}), '0 0', 'section 1: the healthy targets have nothing pending');

$t0 = $round->(2);
$wait_healthy->($t0, 'round 2, the request still hanging');
my $held = time() - ($hang1_first->{time} // time());
is(scalar(@{ standin_requests($rcv, '/hang1') }), 1,
	sprintf('section 1: still one request at the hanging receiver, held for %.1f s (timeout_ms 8000)', $held));
is(progress_of($tid{hang1}), '6 sending', 'section 1: the hanging target is still at step 6 sending');
cmp_ok($held, '<', 8, 'section 1: all of this happened while the request hung');

# the hanging target gets everything once its receiver answers (after the
# timeout of the held request); checked after section 2
standin_control($rcv, { path => '/hang1', mode => 'ok' });

# --------------------------------------------------------------------
# 2. cancel_sync while a request is in flight
# --------------------------------------------------------------------
standin_control($rcv, { path => '/cancel2', mode => 'hang', hang_seconds => 60 });
$tid{c2} = add_target('s2 manual', 'http', "$rcv->{base}/cancel2", 'c2', { schedule => 'manual', timeout_ms => 30000 });
sql($node, qq{DO \$\$ BEGIN
    FOR j IN 0..2 LOOP
        INSERT INTO c2 SELECT j * 10 + g, '$fac', 'c' FROM generate_series(1, 10) g;
        COMMIT;
    END LOOP;
END \$\$;});
ok(wait_until($node, qq{SELECT pending_events FROM globalsync.target_health WHERE target_id = '$tid{c2}'}, '30', 10),
	'section 2: the manual target has 30 events pending');
my $sid = sql($node, qq{SELECT globalsync.start_sync('$tid{c2}')});
like($sid, qr/^SYN_[0-9A-F]{12}$/, "section 2: start_sync queued $sid");
ok(wait_requests($rcv, '/cancel2', 1, 10), 'section 2: the request is at the hanging receiver');
ok(wait_until($node, qq{SELECT step || ' ' || step_name FROM globalsync.sync_progress WHERE sync_id = '$sid'}, '6 sending', 10),
	'section 2: sync_progress shows the sync at step 6 sending');
my $c2_hung = standin_requests($rcv, '/cancel2')->[0];
is($c2_hung->{status}, 'hang', 'section 2: the receiver holds that request');
my $t_cancel = time();
is(sql($node, qq{SELECT globalsync.cancel_sync('$sid')}), 't', 'section 2: cancel_sync returns true');
is(sql($node, qq{SELECT globalsync.wait_sync('$sid', '20 s')}), 'cancelled', 'section 2: wait_sync returns cancelled');
my $cancel_secs = time() - $t_cancel;
cmp_ok($cancel_secs, '<=', 2, sprintf('section 2: cancelled %.2f s after cancel_sync (timeout_ms 30000)', $cancel_secs));
is(sql($node, qq{SELECT status FROM globalsync.sync_history WHERE sync_id = '$sid'}), 'cancelled',
	'section 2: sync_history says cancelled');
is(pending($tid{c2}), '30', 'section 2: target_health.pending_events is still 30 (the cursor did not move)');
ok(wait_until($node, qq{SELECT count(*) FROM globalsync.sync_progress WHERE target_id = '$tid{c2}'}, '0', 5),
	'section 2: no sync of the target runs any more');
is(scalar(@{ standin_requests($rcv, '/cancel2') }), 1, 'section 2: nothing was sent again after the cancel');

standin_control($rcv, { path => '/cancel2', mode => 'ok' });
my $sid2 = sql($node, qq{SELECT globalsync.start_sync('$tid{c2}')});
is(sql($node, qq{SELECT globalsync.wait_sync('$sid2', '30 s')}), 'completed', 'section 2: a new start_sync completes');
is(pending($tid{c2}), '0', 'section 2: nothing pending');
check_http('section 2, cancelled then synced again', $rcv, '/cancel2', 'c2', hung => [$c2_hung]);

# section 1, the end: the hanging target got everything in the end
ok(pending_is_zero($node, $tid{hang1}, 30), 'section 1: the once hanging target delivered everything in the end');
check_http('section 1, hanging target', $rcv, '/hang1', 'c1', hung => [$hang1_first]);
check_http('section 1, healthy http target', $rcv, '/ok1', 'c1');
my $got1 = read_target("$out/s1file");
is(scalar(@{ $got1->{bad} }) + scalar(@{ $got1->{tmp} }), 0, 'section 1: the file target folder holds only complete batch files');
check_changes($got1, logged_event_ids($node, 'public.c1'), 'section 1, file target', 'public.c1');

# --------------------------------------------------------------------
# 3. the circuit breaker
# --------------------------------------------------------------------
standin_control($rcv, { path => '/brk5', mode => 'fail500' });
$tid{c5} = add_target('s3 breaker', 'http', "$rcv->{base}/brk5", 'c5');
sql($node, qq{INSERT INTO c5 SELECT g, '$fac', 'b' FROM generate_series(1, 10) g});
ok( wait_until($node, qq{SELECT breaker || ' ' || (consecutive_failures >= 2) FROM globalsync.target_health WHERE target_id = '$tid{c5}'},
		'open true', 20),
	'section 3: with 500s the breaker opens (target_health breaker open, 2 or more consecutive failures)');
ok(wait_requests($rcv, '/brk5', 3, 10), 'section 3: an attempt comes after the cool-down');
standin_control($rcv, { path => '/brk5', mode => 'ok' });
my @b5 = @{ standin_requests($rcv, '/brk5') };
is(join(',', map { $_->{status} } @b5[0 .. 1]), '500,500', 'section 3: the first two requests got 500');
my $gap5 = $b5[2]{time} - $b5[1]{time};
cmp_ok($gap5, '>=', 0.9, sprintf('section 3: the third attempt came after the 1 s cool-down (%.2f s after the second)', $gap5));
ok( wait_until($node, qq{SELECT breaker || ' ' || consecutive_failures FROM globalsync.target_health WHERE target_id = '$tid{c5}'},
		'closed 0', 15),
	'section 3: with the receiver answering 200 the breaker closes (closed, 0 consecutive failures)');
ok(pending_is_zero($node, $tid{c5}, 15), 'section 3: everything delivered');
is(sql($node, qq{SELECT count(*) FROM globalsync.dead_letters WHERE target_id = '$tid{c5}'}), '0', 'section 3: no dead letter');
check_http('section 3, breaker', $rcv, '/brk5', 'c5');

# --------------------------------------------------------------------
# 4 and 5. stop('fast') and stop('immediate') while a request hangs
# --------------------------------------------------------------------
sub stop_mid_transfer
{
	my ($label, $mode, $path, $table, $bound, $hold_tick) = @_;
	standin_control($rcv, { path => $path, mode => 'hang', hang_seconds => 90 });
	my $tid = add_target("$label", 'http', "$rcv->{base}$path", $table, { timeout_ms => 60000, max_batch_events => 10 });
	sql($node, qq{DO \$\$ BEGIN
    FOR j IN 0..2 LOOP
        INSERT INTO $table SELECT j * 10 + g, '$fac', 'a' FROM generate_series(1, 10) g;
        COMMIT;
    END LOOP;
END \$\$;});
	ok(wait_requests($rcv, $path, 1, 10), "$label: a request hangs at the receiver");
	ok(wait_until($node, qq{SELECT count(*) FROM globalsync.sync_progress WHERE target_id = '$tid' AND step = 6}, '1', 10),
		"$label: sync_progress shows the target at step 6");
	# more changes committed while the request hangs
	sql($node, qq{UPDATE $table SET v = 'u' WHERE id % 3 = 0; INSERT INTO $table SELECT g, '$fac', 'late' FROM generate_series(31, 40) g;});
	my $hung = standin_requests($rcv, $path)->[0];
	is($hung->{status}, 'hang', "$label: the receiver holds it");
	my $bg;
	if ($hold_tick)
	{
		# a crash between a commit and the worker's next tick, made certain:
		# a session holds the lock tick() needs while 10 rows commit
		$bg = $node->background_psql('postgres', timeout => 30, on_error_stop => 0);
		$bg->query_safe('BEGIN; LOCK TABLE globalsync.ticks IN SHARE ROW EXCLUSIVE MODE;');
		sql($node, qq{INSERT INTO $table SELECT g, '$fac', 'unticked' FROM generate_series(41, 50) g;});
		is( sql($node, qq{SELECT count(*) FROM globalsync.change_log l WHERE l.table_name = 'public.$table'
                            AND NOT EXISTS (SELECT FROM globalsync.ticks t WHERE pg_visible_in_snapshot(l.xid, t.snapshot))}),
			'10', "$label: 10 more rows committed that no tick covers yet");
	}

	my $t = time();
	my $stopped;
	{
		local $ENV{PGCTLTIMEOUT} = 30;
		$stopped = $node->stop($mode, fail_ok => 1);
	}
	my $secs = time() - $t;
	eval { $bg->quit } if $bg;
	ok($stopped, "$label: pg_ctl stop -m $mode succeeded");
	cmp_ok($secs, '<=', $bound, sprintf("$label: the server stopped within $bound s (%.2f s; timeout_ms 60000)", $secs));
	if (!$stopped)
	{
		local $ENV{PGCTLTIMEOUT} = 30;
		$node->stop('immediate', fail_ok => 1);
	}
	standin_control($rcv, { path => $path, mode => 'ok' });
	$node->start;
	ok(pending_is_zero($node, $tid, 20), "$label: after the start, everything delivered")
	  or diag("ticks after the start: " . sql($node, q{SELECT count(*) FROM globalsync.ticks WHERE created_at > pg_postmaster_start_time()})
		  . ', change_log events no tick covers: '
		  . sql($node, qq{SELECT count(*) FROM globalsync.change_log l WHERE l.table_name = 'public.$table'
                            AND NOT EXISTS (SELECT FROM globalsync.ticks t WHERE pg_visible_in_snapshot(l.xid, t.snapshot))}));
	check_http($label, $rcv, $path, $table, hung => [$hung]);
	return;
}

stop_mid_transfer('section 4, stop fast', 'fast', '/term3', 'c3', 5);
stop_mid_transfer('section 5, stop immediate', 'immediate', '/crash4', 'c4', 5, 1);

my $log = slurp_file($node->logfile);
unlike($log, qr/(PANIC|TRAP)/, 'no PANIC or assertion failure in the server log');

$node->stop;
stop_standin($rcv, "receiver $rcv->{name}");
my $err = standin_stderr($rcv);
is($err, '', "receiver $rcv->{name} wrote nothing to stderr") or diag($err);
done_testing();
