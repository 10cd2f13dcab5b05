
# 007_sync_privileges_progress.pl: live progress seen from other sessions,
# the NOTIFY channel, and the privileges of the three roles.
#
#  1. a slow full sync (100,000 rows, 25 per chunk) of a manual target:
#     while it runs, another session sees its row in sync_progress (step
#     between 1 and 8 of 8, a progress bar, records found, the worker's
#     pid), sync_status() says running, target_health says syncing; a
#     session that LISTENs on globalsync_progress receives JSON payloads
#     with the sync id, step, step name and counts, including a final
#     'completed' one, and no endpoint, option, secret or row data;
#  2. privileges: login users granted globalsync_reader, globalsync_operator
#     or globalsync_admin, and a plain user (PUBLIC):
#       reader   SELECT on sync_progress, sync_history, dashboard_overview,
#                lag_stats, target_health; sync_status, wait_sync,
#                worker_info, sync_progress_raw, validate_target_kind; not
#                start_sync, cancel_sync, add/alter/remove_target,
#                replay/discard_dead_letter, dead_letters, target_state;
#       operator + start_sync, cancel_sync; still not the admin's;
#       admin    + add/alter/remove_target, replay/discard_dead_letter,
#                dead_letters, target_state;
#       PUBLIC   none of it;
#     and the worker's internal functions are executable by none of the
#     roles (catalog checks over every function and relation of the schema
#     as well as real calls).
#
# Every wait is bounded: a timeout on each psql call and background
# session, a deadline on each poll, wait_sync() with a timeout.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use Time::HiRes qw(time usleep);
use GsSyncTest;

plan skip_all => 'must not run as root: a folder with mode 0500 would still be writable' if $> == 0;

my $node = gs_node(
	'sync_priv', q{
globalsync.max_attempts = 1
globalsync.retry_base_delay = '50ms'
});
my $out = $node->basedir . '/out';
mkdir "$out/bad" or die "mkdir: $!";
chmod 0500, "$out/bad" or die "chmod: $!";

sql($node, q{
CREATE EXTENSION globalsync;
CREATE TABLE p (id int PRIMARY KEY, facility_id text, v text);
});
my $fac = sql($node, q{SELECT globalsync.add_facility('Progress Clinic', 'Asia/Kolkata')});
sql($node, qq{
INSERT INTO p SELECT g, '$fac', 'secret-row-' || g FROM generate_series(1, 100000) g;
SELECT globalsync.track('p');
});
my $slow = sql($node,
	q{SELECT globalsync.add_target('slow', 'file', 'slow/folder-x9', '{"schedule": "manual", "max_batch_events": 25}')});

# --------------------------------------------------------------------
# 1. progress and NOTIFY
# --------------------------------------------------------------------
my $timeout = $PostgreSQL::Test::Utils::timeout_default;
my $listener = $node->background_psql('postgres', timeout => $timeout);
$listener->query_safe('LISTEN globalsync_progress');

my $sid = sql($node, qq{SELECT globalsync.start_sync('$slow', NULL, 'full')});
ok( wait_until($node, qq{SELECT step BETWEEN 1 AND 8 AND records_sent > 0 FROM globalsync.sync_progress WHERE sync_id = '$sid'},
		't', 20),
	'another session sees the running sync in sync_progress');
my $row = sql($node, qq{
SELECT target_id, target_name, operation_type, status, step BETWEEN 1 AND 8, total_steps,
       progress_percentage BETWEEN 0 AND 100, records_found, records_sent >= records_acknowledged,
       started_at IS NOT NULL, last_updated IS NOT NULL, pid = (globalsync.health()->>'worker_pid')::int,
       step_name <> '' AND current_step <> '', progress_bar
  FROM globalsync.sync_progress WHERE sync_id = '$sid'});
my @f = split /\|/, $row;
my $bar = pop @f;
is(join('|', @f), "$slow|slow|FULL_SYNC|running|t|8|t|100000|t|t|t|t|t",
	'its row: target, operation, status, step of 8, percentage, records found, the worker pid, step texts');
like($bar, qr/^\[[#.]{20}\] +\d+% [1-8]\/8 \S+/, "a progress bar ($bar)");
is( sql($node, qq{SELECT s->>'status' || ' ' || ((s->>'step')::int BETWEEN 1 AND 8) || ' ' || (s->>'total_steps')
                    FROM globalsync.sync_status('$sid') s}),
	'running true 8', 'sync_status says running, at a step of 8');
is(sql($node, qq{SELECT state FROM globalsync.target_health WHERE target_id = '$slow'}), 'syncing',
	'target_health says syncing');
is(sql($node, q{SELECT running_syncs FROM globalsync.dashboard_overview}), '1', 'dashboard_overview: one running sync');

# collect notifications while the sync runs (each SELECT 1 lets psql print
# those that arrived), until the completed one or 90 s
my @payloads;
my $deadline = time() + 90;
my $done = 0;
my $polls = 0;
while (!$done && time() < $deadline)
{
	# (by hand rather than query(), which would copy every line into the
	# TAP output)
	my $mark = 'polled ' . ++$polls;
	$listener->{stdin} .= "SELECT 1;\n\\echo '$mark'\n";
	pump_until($listener->{run}, $listener->{timeout}, \$listener->{stdout}, qr/\Q$mark\E\n/);
	my $o = $listener->{stdout};
	$listener->{stdout} = '';
	for my $l (split /\n/, $o)
	{
		next unless $l =~ /^Asynchronous notification "globalsync_progress" with payload "(.*)" received from server process with PID \d+\.$/;
		push @payloads, $1;
		my $p = eval { decode_json($1) };
		$done = 1 if $p && ($p->{sync_id} // '') eq $sid && ($p->{status} // '') eq 'completed';
	}
	usleep(100_000) unless $done;
}
$listener->quit;
ok($done, 'the listening session received the completed notification') or diag(scalar(@payloads) . ' payloads');
is(sql($node, qq{SELECT globalsync.wait_sync('$sid', '60 s')}), 'completed', 'the slow sync completed');
cmp_ok(scalar(@payloads), '>=', 3, 'several progress notifications (' . scalar(@payloads) . ')');
my ($bad_json, $bad_keys, $leaks, @steps) = (0, 0, 0);
for my $pl (@payloads)
{
	my $p = eval { decode_json($pl) };
	if (!$p || ref $p ne 'HASH')
	{
		$bad_json++;
		next;
	}
	for my $k (qw(sync_id target_id operation_type status step step_name percent found sent acked failed))
	{
		$bad_keys++, diag("payload without $k: $pl") if !exists $p->{$k};
	}
	$bad_keys++ if ($p->{sync_id} // '') ne $sid || ($p->{step} // -1) !~ /^[0-8]$/;
	$leaks++ if $pl =~ /folder-x9|secret|password|token|options|endpoint/i;
	push @steps, $p->{step};
}
is($bad_json, 0, 'every payload is JSON');
is($bad_keys, 0, 'each has sync_id, target_id, operation_type, status, step (0..8), step_name, percent and counts');
is($leaks, 0, 'no payload carries the endpoint, options, credentials or row data');
my %distinct = map { $_ => 1 } @steps;
cmp_ok(scalar(keys %distinct), '>=', 3, 'the payloads follow the steps (' . join(',', sort keys %distinct) . ')');
is(sql($node, qq{SELECT count(*) FROM globalsync.sync_progress WHERE sync_id = '$sid'}), '0',
	'the finished sync is gone from sync_progress');

# --------------------------------------------------------------------
# 2. privileges
# --------------------------------------------------------------------
sql($node, q{
CREATE ROLE r_user LOGIN IN ROLE globalsync_reader;
CREATE ROLE o_user LOGIN IN ROLE globalsync_operator;
CREATE ROLE a_user LOGIN IN ROLE globalsync_admin;
CREATE ROLE p_user LOGIN;
});
# a dead letter to replay and discard: a target whose folder is not writable
my $bad = sql($node, q{SELECT globalsync.add_target('bad', 'file', 'bad', '{"tables": ["public.p"]}')});
sql($node, qq{INSERT INTO p VALUES (900001, '$fac', 'to the bad target')});
ok( wait_until($node, qq{SELECT count(*) FROM globalsync.dead_letters WHERE target_id = '$bad' AND status = 'dead'}, '1', 30),
	'a dead letter exists (a target with a folder that is not writable)');
my $dl = sql($node, qq{SELECT dead_letter_id FROM globalsync.dead_letters WHERE target_id = '$bad'});
my $manual = sql($node, q{SELECT globalsync.add_target('man', 'file', 'man', '{"schedule": "manual"}')});

# may(user, sql): the statement runs; may_not(user, sql): permission denied
sub may
{
	my ($user, $q, $what) = @_;
	my ($ok, $o, $err) = try_sql($node, $q, user => $user);
	ok($ok, "$user can $what") or diag($err);
	return $o;
}

sub may_not
{
	my ($user, $q, $what) = @_;
	my ($ok, $o, $err) = try_sql($node, $q, user => $user);
	ok(!$ok && $err =~ /permission denied/, "$user cannot $what") or diag($ok ? "it worked: $o" : $err);
}

my @views = qw(sync_progress sync_history dashboard_overview lag_stats target_health);
my %watch = (
	'call sync_status' => "SELECT globalsync.sync_status('$sid')->>'status'",
	'call wait_sync' => "SELECT globalsync.wait_sync('$sid', '1 s')",
	'call worker_info' => 'SELECT launcher_pid > 0 FROM globalsync.worker_info()',
	'call sync_progress_raw' => 'SELECT count(*) FROM globalsync.sync_progress_raw()',
	'call validate_target_kind' => q{SELECT globalsync.validate_target_kind('file', 'x', '{}')},
	(map { ("read $_" => "SELECT count(*) FROM globalsync.$_") } @views));
my %operate = (
	'call start_sync' => "SELECT globalsync.start_sync('$manual')",
	'call cancel_sync' => "SELECT globalsync.cancel_sync('$sid')",
);
my %administer = (
	'call add_target' => q{SELECT globalsync.add_target('x_' || (random() * 1e9)::bigint, 'file', 'x', '{"schedule": "manual"}')},
	'call alter_target' => "SELECT globalsync.alter_target('$manual', options => '{\"schedule\": \"manual\"}')",
	'call remove_target' => "SELECT globalsync.remove_target('TGT_00000000')",
	'call replay_dead_letter' => "SELECT globalsync.replay_dead_letter($dl)",
	'call discard_dead_letter' => "SELECT globalsync.discard_dead_letter($dl)",
	'read dead_letters' => 'SELECT count(*) FROM globalsync.dead_letters',
	'read target_state' => 'SELECT count(*) FROM globalsync.target_state',
);

for my $what (sort keys %watch)
{
	may('r_user', $watch{$what}, $what);
	may('o_user', $watch{$what}, $what);
	may('a_user', $watch{$what}, $what);
	may_not('p_user', $watch{$what}, $what);
}
for my $what (sort keys %operate)
{
	may_not('r_user', $operate{$what}, $what);
	may_not('p_user', $operate{$what}, $what);
}
for my $what (sort keys %administer)
{
	may_not('r_user', $administer{$what}, $what);
	may_not('o_user', $administer{$what}, $what);
	may_not('p_user', $administer{$what}, $what);
}

# the operator starts and cancels syncs
my $osid = may('o_user', "SELECT globalsync.start_sync('$manual')", 'start a sync');
like($osid, qr/^SYN_/, 'the operator got a sync id');
is(sql($node, qq{SELECT created_by_user FROM globalsync.sync_log WHERE sync_id = '$osid'}), 'o_user',
	'sync_log records who started it');
my $osid2 = may('o_user', "SELECT globalsync.start_sync('$slow', NULL, 'full')", 'start a full sync');
is(may('o_user', "SELECT globalsync.cancel_sync('$osid2')", 'cancel a sync'), 't', 'cancel_sync returned true');
is(sql($node, qq{SELECT globalsync.wait_sync('$osid2', '5 s')}), 'cancelled', 'the operator\'s cancel took effect');
# and an admin too (membership)
like(may('a_user', "SELECT globalsync.start_sync('$manual')", 'start a sync'), qr/^SYN_/, 'the admin got a sync id');

# the admin manages targets and dead letters
my $atgt = may('a_user', q{SELECT globalsync.add_target('admins', 'file', 'admins', '{"schedule": "manual"}')}, 'add a target');
like($atgt, qr/^TGT_/, 'the admin created a target');
may('a_user', qq{SELECT globalsync.alter_target('$atgt', name => 'admins2', options => '{"schedule": "5 minutes"}')},
	'alter a target');
is(sql($node, qq{SELECT name || ' ' || (options->>'schedule') FROM globalsync.targets WHERE target_id = '$atgt'}),
	'admins2 5 minutes', 'the change is there');
is(may('a_user', qq{SELECT globalsync.remove_target('$atgt')}, 'remove a target'), 't', 'remove_target returned true');
is(may('a_user', 'SELECT count(*) FROM globalsync.dead_letters', 'read dead_letters'), '1', 'the admin sees the dead letter');
my $rsid = may('a_user', "SELECT globalsync.replay_dead_letter($dl)", 'replay a dead letter');
like($rsid, qr/^SYN_/, 'replay returned a sync id');
# the folder is still not writable: the replay fails and the letter is dead again
is(sql($node, qq{SELECT globalsync.wait_sync('$rsid', '30 s')}), 'failed', 'the replay into the unwritable folder failed');
is(sql($node, qq{SELECT status FROM globalsync.dead_letters WHERE dead_letter_id = $dl}), 'dead', 'the letter is dead again');
is(may('a_user', "SELECT globalsync.discard_dead_letter($dl)", 'discard a dead letter'), 't', 'discard returned true');

# catalog: what each role may do on every function and relation of the schema
my @internal = qw(snapshot_row snapshot_chunk _check_target_options _wake_worker _request_cancel
  _worker_targets _run_begin _run_end _advance _ack _ack_snapshot _dead_letter
  _dead_letter_snapshot _failure _disable_target _purge_history);
my $in = join(', ', map { "'$_'" } @internal);
is( sql($node, qq{
SELECT string_agg(DISTINCT r || ':' || p.proname, ' ' ORDER BY r || ':' || p.proname)
  FROM pg_proc p, unnest(ARRAY['r_user', 'o_user', 'a_user', 'p_user']) r
 WHERE p.pronamespace = 'globalsync'::regnamespace AND p.proname IN ($in)
   AND has_function_privilege(r, p.oid, 'EXECUTE')}),
	'', 'none of the roles may execute an internal function of the worker');
is( sql($node, q{
SELECT string_agg(p.oid::regprocedure::text, ' ')
  FROM pg_proc p WHERE p.pronamespace = 'globalsync'::regnamespace AND has_function_privilege('p_user', p.oid, 'EXECUTE')}),
	'', 'PUBLIC may execute no function of the schema');
is( sql($node, q{
SELECT string_agg(c.relname, ' ' ORDER BY c.relname)
  FROM pg_class c WHERE c.relnamespace = 'globalsync'::regnamespace AND c.relkind IN ('r', 'v', 'p', 'm', 'S')
   AND (has_table_privilege('p_user', c.oid, 'SELECT') OR has_table_privilege('p_user', c.oid, 'INSERT')
        OR has_table_privilege('p_user', c.oid, 'UPDATE') OR has_table_privilege('p_user', c.oid, 'DELETE'))}),
	'', 'PUBLIC may read or write no table or view of the schema');
is(sql($node, q{SELECT has_schema_privilege('p_user', 'globalsync', 'USAGE')}), 'f', 'PUBLIC may not even use the schema');
is( sql($node, q{SELECT has_function_privilege('r_user', 'globalsync._pending_events(text)', 'EXECUTE')}),
	't', 'the reader may execute _pending_events (counts only, behind the views)');
is( sql($node, q{
SELECT string_agg(r || ':' || v, ' ' ORDER BY r, v)
  FROM unnest(ARRAY['r_user', 'o_user', 'a_user']) r,
       unnest(ARRAY['sync_progress', 'sync_history', 'dashboard_overview', 'lag_stats', 'target_health']) v
 WHERE has_table_privilege(r, 'globalsync.' || v, 'INSERT') OR has_table_privilege(r, 'globalsync.' || v, 'UPDATE')
    OR has_table_privilege(r, 'globalsync.' || v, 'DELETE')}),
	'', 'the views are read-only for every role');
is( sql($node, q{
SELECT string_agg(r || ':' || t, ' ' ORDER BY r, t)
  FROM unnest(ARRAY['r_user', 'o_user', 'a_user']) r,
       unnest(ARRAY['dead_letters', 'target_state', 'deliveries', 'full_sync_state', 'sync_log']) t
 WHERE has_table_privilege(r, 'globalsync.' || t, 'INSERT') OR has_table_privilege(r, 'globalsync.' || t, 'UPDATE')
    OR has_table_privilege(r, 'globalsync.' || t, 'DELETE')}),
	'', 'no role may write the delivery state tables directly');

my $log = slurp_file($node->logfile);
unlike($log, qr/(PANIC|TRAP|terminated by signal|server process .* exited with exit code [^0])/,
	'no crash in the server log');

$node->stop;
done_testing();
