
# 005_sync_failures.pl: a file target whose folder is not writable: retries,
# circuit breaker, dead letters, recovery, replay and discard.
#
# Settings, set with a reload after start (so the worker must take them on
# SIGHUP): max_attempts 3, retry_base_delay 50ms, retry_max_delay 200ms,
# breaker_threshold 3, breaker_cooldown 1s.  The folder of target "fail" is
# created with mode 0500 (the tests run as postgres, not root, so the
# server cannot write there).
#
#  1. changes for it: target_health shows consecutive failures with the
#     error, the breaker open at some point, then dead letters (status
#     dead) holding the events; the other target ("good") receives the
#     same changes meanwhile (one failing target does not hold up another);
#  2. two waves fail like that (two dead letters), then the folder is made
#     writable (0700): new changes flow again by themselves, the breaker
#     closes and the failures reset;
#  3. replay_dead_letter() of each of those: a RETRY run that wait_sync()
#     reports completed, the dead letter is 'replayed', its batch file is
#     in the folder under its original batch id;
#  4. a third wave fails again into a dead letter, which
#     discard_dead_letter() settles (true, then false; it can no longer be
#     replayed);
#  5. a later change closes the breaker again; in the end the folder holds every logged event except those of the
#     discarded dead letter, and the state rebuilt from it (apart from the
#     discarded rows) equals the table.
#
# Every wait is bounded: a timeout on each psql call and a deadline on each
# poll.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use GsSyncTest;

plan skip_all => 'must not run as root: a folder with mode 0500 would still be writable' if $> == 0;

my $node = gs_node('sync_failures');
# the settings are reloadable: set them with a reload, not at start
$node->append_conf(
	'postgresql.conf', q{
globalsync.max_attempts = 3
globalsync.retry_base_delay = '50ms'
globalsync.retry_max_delay = '200ms'
globalsync.breaker_threshold = 3
globalsync.breaker_cooldown = '1s'
});
$node->reload;
ok( wait_until($node, q{SELECT current_setting('globalsync.max_attempts') || ' ' || current_setting('globalsync.breaker_cooldown')},
		'3 1s', 10),
	'the failure settings are reloaded');
my $out = $node->basedir . '/out';
mkdir "$out/fail" or die "mkdir: $!";
chmod 0500, "$out/fail" or die "chmod: $!";

sql($node, q{
CREATE EXTENSION globalsync;
SELECT globalsync.register_consumer('test_hold');
CREATE TABLE f (id int PRIMARY KEY, facility_id text, v text);
SELECT globalsync.track('f');
});
my $fac = sql($node, q{SELECT globalsync.add_facility('Failing Clinic', 'Asia/Kolkata')});
my $fail = sql($node, q{SELECT globalsync.add_target('fail', 'file', 'fail')});
my $good = sql($node, q{SELECT globalsync.add_target('good', 'file', 'good')});

sub health
{
	my ($cols) = @_;
	return sql($node, "SELECT $cols FROM globalsync.target_health WHERE target_id = '$fail'");
}

my $dead_sql = qq{SELECT count(*) FROM globalsync.dead_letters WHERE target_id = '$fail' AND status = 'dead'};

# --------------------------------------------------------------------
# 1. the first wave fails
# --------------------------------------------------------------------
# one transaction each time: one batch, one dead letter
sql($node, qq{INSERT INTO f SELECT g, '$fac', 'wave1-' || g FROM generate_series(1, 20) g});

ok(wait_until($node, qq{SELECT consecutive_failures > 0 FROM globalsync.target_health WHERE target_id = '$fail'}, 't', 20),
	'target_health: consecutive failures');
like(health('last_error'), qr/Permission denied/, 'target_health: the last error says why');
ok( wait_until($node, qq{SELECT breaker FROM globalsync.target_health WHERE target_id = '$fail'}, 'open', 20),
	'target_health: the breaker opens');
ok(wait_until($node, $dead_sql, '1', 30), 'the batch ends in dead_letters with status dead');
is( sql($node, qq{SELECT event_count || ' ' || jsonb_array_length(events) || ' ' || attempts || ' ' || (error LIKE '%Permission denied%')
                    FROM globalsync.dead_letters WHERE target_id = '$fail'}),
	'20 20 3 true', 'the dead letter holds the 20 events, after 3 attempts, with the error');
is(health('dead_letters'), '1', 'target_health counts the dead letter');
cmp_ok(sql($node, q{SELECT dead_letters FROM globalsync.dashboard_overview}), '>=', 1,
	'dashboard_overview counts it');
cmp_ok(sql($node, qq{SELECT records_failed FROM globalsync.sync_history WHERE target_id = '$fail' ORDER BY log_id DESC LIMIT 1}),
	'>=', 20, 'sync_history: the run counts the failed records');
ok( wait_until($node, qq{SELECT pending_events FROM globalsync.target_health WHERE target_id = '$good'}, '0', 20),
	'the good target received the wave meanwhile');
my $got_good = read_target("$out/good");
is(scalar(map { @{ $_->{events} } } @{ $got_good->{batches} }), 20, '... all 20 events');

# --------------------------------------------------------------------
# 2. a second wave fails, then the folder becomes writable
# --------------------------------------------------------------------
sql($node, qq{BEGIN;
UPDATE f SET v = 'wave2-' || id WHERE id <= 5;
INSERT INTO f SELECT g, '$fac', 'wave2-' || g FROM generate_series(21, 30) g;
COMMIT;});
ok(wait_until($node, $dead_sql, '2', 30), 'the second wave ends in a second dead letter');
cmp_ok(health('consecutive_failures'), '>=', 3, 'the failures count on');

chmod 0700, "$out/fail" or die "chmod: $!";
sql($node, qq{INSERT INTO f SELECT g, '$fac', 'wave3-' || g FROM generate_series(31, 40) g});
sql($node, qq{UPDATE f SET v = 'wave3-' || id WHERE id BETWEEN 21 AND 23});
ok( wait_until($node, qq{SELECT pending_events || ' ' || breaker || ' ' || consecutive_failures
                           FROM globalsync.target_health WHERE target_id = '$fail'}, '0 closed 0', 30),
	'writable again: new changes flow, the breaker closes, the failures reset');
ok(wait_until($node, qq{SELECT state FROM globalsync.target_health WHERE target_id = '$fail'}, 'idle', 10),
	'the target is idle again once its realtime run ends');
is(sql($node, qq{SELECT string_agg(status, ',') FROM globalsync.dead_letters WHERE target_id = '$fail'}),
	'dead,dead', 'the dead letters wait for a decision');

# --------------------------------------------------------------------
# 3. replay
# --------------------------------------------------------------------
my @dead = split /\n/,
  sql($node, qq{SELECT dead_letter_id FROM globalsync.dead_letters WHERE target_id = '$fail' ORDER BY 1});
for my $id (@dead)
{
	my $batch = sql($node, qq{SELECT batch_id FROM globalsync.dead_letters WHERE dead_letter_id = $id});
	my $rsid = sql($node, qq{SELECT globalsync.replay_dead_letter($id)});
	like($rsid, qr/^SYN_/, "replay_dead_letter($id) returns a sync id");
	is(sql($node, qq{SELECT globalsync.wait_sync('$rsid', '30 s')}), 'completed', "the replay of $id completed");
	is( sql($node, qq{SELECT status || ' ' || replay_sync_id || ' ' || (settled_at IS NOT NULL)
                        FROM globalsync.dead_letters WHERE dead_letter_id = $id}),
		"replayed $rsid true", "dead letter $id is replayed");
	is( sql($node, qq{SELECT operation_type || ' ' || status || ' ' || record_count || ' ' || dead_letter_id
                        FROM globalsync.sync_history WHERE sync_id = '$rsid'}),
		"RETRY completed " . sql($node, "SELECT event_count FROM globalsync.dead_letters WHERE dead_letter_id = $id") . " $id",
		'sync_history: a RETRY run with its record count');
	ok(-f "$out/fail/$batch.ndjson", "its batch file is in the folder under the original id $batch");
	my ($ok, $o, $err) = try_sql($node, qq{SELECT globalsync.replay_dead_letter($id)});
	ok(!$ok && $err =~ /not waiting/, 'a replayed dead letter cannot be replayed again');
}
is(health('dead_letters'), '0', 'target_health: no dead letter waiting');

# --------------------------------------------------------------------
# 4. a third failure, discarded
# --------------------------------------------------------------------
chmod 0500, "$out/fail" or die "chmod: $!";
sql($node, qq{INSERT INTO f SELECT g, '$fac', 'wave4-' || g FROM generate_series(41, 45) g});
ok(wait_until($node, $dead_sql, '1', 30), 'another failure ends in a dead letter');
chmod 0700, "$out/fail" or die "chmod: $!";
my $disc = sql($node, qq{SELECT dead_letter_id FROM globalsync.dead_letters WHERE target_id = '$fail' AND status = 'dead'});
my @disc_events = map { $_->{event_id} }
  @{ decode_json(sql($node, qq{SELECT events FROM globalsync.dead_letters WHERE dead_letter_id = $disc})) };
is(scalar(@disc_events), 5, 'it holds the 5 events');
is(sql($node, qq{SELECT globalsync.discard_dead_letter($disc)}), 't', 'discard_dead_letter returns true');
is(sql($node, qq{SELECT status || ' ' || (settled_at IS NOT NULL) FROM globalsync.dead_letters WHERE dead_letter_id = $disc}),
	'discarded true', 'the dead letter is discarded');
is(sql($node, qq{SELECT globalsync.discard_dead_letter($disc)}), 'f', 'discarding it again returns false');
my ($ok, $o, $err) = try_sql($node, qq{SELECT globalsync.replay_dead_letter($disc)});
ok(!$ok && $err =~ /not waiting/, 'a discarded dead letter cannot be replayed') or diag($err);
($ok, $o, $err) = try_sql($node, q{SELECT globalsync.discard_dead_letter(999999)});
ok(!$ok && $err =~ /does not exist/, 'discard_dead_letter of an unknown id raises an error');

# --------------------------------------------------------------------
# 5. everything but the discarded events arrived
# --------------------------------------------------------------------
# the breaker stays half open until the next success: a fifth wave
sql($node, qq{INSERT INTO f SELECT g, '$fac', 'wave5-' || g FROM generate_series(46, 50) g});
ok(wait_until($node, qq{SELECT pending_events || ' ' || breaker FROM globalsync.target_health WHERE target_id = '$fail'},
		'0 closed', 30), 'a later wave is delivered: nothing pending, the breaker closed');
my %discarded = map { $_ => 1 } @disc_events;
my @expected = grep { !$discarded{$_} } @{ logged_event_ids($node, 'public.f') };
my $got = read_target("$out/fail");
is_deeply($got->{bad}, [], 'complete files of JSON lines');
is_deeply($got->{tmp}, [], 'no temporary file left behind by the failed attempts');
check_changes($got, \@expected, 'after replay', 'public.f');
compare_states(final_state($got, 'public.f'), table_state($node, 'f', 'id NOT BETWEEN 41 AND 45'), 'after replay');

my $log = slurp_file($node->logfile);
unlike($log, qr/(PANIC|TRAP|terminated by signal|server process .* exited with exit code [^0])/,
	'no crash in the server log');

$node->stop;
done_testing();
