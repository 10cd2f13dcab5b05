
# 011_snowflake_target.pl: the snowflake target against a stand-in for the
# Snowflake SQL API v2 (test/lib/snowflake_standin.py: Debian's python3 with
# python3-jwt and python3-cryptography), which verifies every request's JWT
# against the test public key on its own, checks headers, requestId and
# body, carries out the MERGE on a table of its own, and answers as the
# test tells it.  One stand-in per target, so that their modes do not mix.
#
# Settings: max_attempts 60, retry_base_delay 50ms, retry_max_delay 300ms,
# breaker_threshold 1000 (no breaker pause), tick_interval 20ms (gs_node).
#
#  1. validation: endpoint (not http(s), a path), missing account, user or
#     table, a table name that is not an identifier (SQL injection), bad
#     database, numbers out of range, unknown options: 22023 each;
#     set_target_secret: not PEM, an encrypted key, a 1024-bit RSA key, an
#     EC key are refused with 22023 without echoing them; PKCS#8 and PKCS#1
#     keys are accepted;
#  2. main target (rows_per_statement 7, max_batch_events 40): inserts,
#     updates and deletes, then a full sync: every change event and every
#     snapshot row is a row of the stand-in's table exactly once, with the
#     content of the change log; batches of more than 7 events went as
#     several statements with distinct requestIds; every request had a
#     valid JWT and the documented headers (checked by the stand-in);
#  3. 202 then polling: GETs of the statement handle with the same auth,
#     spaced by the poll interval and growing, then delivered;
#  4. 429 with Retry-After: retried after the delay, delivered;
#  5. 422 for the statement holding a marker value: exactly that event is a
#     dead letter, with Snowflake's code, sqlState and message in its
#     error; the others are delivered;
#     422 42S02 (table missing) is the target's problem: retried, no dead
#     letter, delivered once the table is there;
#  6. a connection dropped after the statement ran: resent with the same
#     requestId and retry=true, the stand-in answered from its first run,
#     no duplicate row;
#  7. 401 once: the token renewed, the same requestId resent with
#     retry=true, delivered;
#  8. no secret, then a wrong key (a JWT that does not verify): RETRY with
#     the error in target_health, nothing dead-lettered; delivered once the
#     right key is set;
#  9. kill -9 of the worker while it delivers to a slow stand-in: after the
#     restart every event is a row exactly once;
# 10. the private key is in none of sync_log, sync_history, sync_progress,
#     dead_letters, target_health, targets, or the server log; no stand-in
#     saw a request with a problem it was not told to expect.
#
# Every wait is bounded: a timeout on each psql call, a deadline on each
# poll, a lifetime for each stand-in.

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
# numbers with every digit: big ones as Math::BigFloat / BigInt
my $JB = JSON::PP->new->canonical(1)->allow_bignum(1);
my $PYTHON = '/usr/bin/python3';
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $node;

die "$PYTHON with python3-jwt and python3-cryptography is needed (apt-get install python3-jwt python3-cryptography)"
  unless system($PYTHON, '-c', 'import jwt, cryptography') == 0;

my %SF = (
	account => 'xy12345.eu-west-1',
	user => 'gs_loader',
	table => 'RAW.GLOBALSYNC.EVENTS',
	database => 'RAW',
	schema => 'GLOBALSYNC',
	warehouse => 'LOAD_WH',
	role => 'LOADER');

# --------------------------------------------------------------------
# keys
# --------------------------------------------------------------------
sub openssl { return PostgreSQL::Test::Utils::run_log([ 'openssl', @_ ]) }

ok( openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', "$tmp/key.pem")
	  && openssl('pkey', '-in', "$tmp/key.pem", '-pubout', '-out', "$tmp/pub.pem")
	  && openssl('pkey', '-in', "$tmp/key.pem", '-traditional', '-out', "$tmp/key_pkcs1.pem")
	  && openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', "$tmp/wrong.pem")
	  && openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', "$tmp/small.pem")
	  && openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', "$tmp/ec.pem")
	  && openssl('pkcs8', '-topk8', '-in', "$tmp/key.pem", '-out', "$tmp/enc.pem", '-passout', 'pass:testpass',
		'-v2', 'aes-256-cbc'),
	'openssl made the test keys');
like(slurp_file("$tmp/key.pem"), qr/^-----BEGIN PRIVATE KEY-----/, 'the key is PKCS#8 PEM');
like(slurp_file("$tmp/key_pkcs1.pem"), qr/^-----BEGIN RSA PRIVATE KEY-----/, 'its PKCS#1 form');
PostgreSQL::Test::Utils::append_to_file("$tmp/notpem", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" . int(rand(1e9)));

# lines of base64 of each private key: none of them may show anywhere
my %key_lines;
for my $k (qw(key key_pkcs1 wrong small ec enc))
{
	$key_lines{$k} = [ grep { length($_) >= 40 && !/^-----/ } split /\n/, slurp_file("$tmp/$k.pem") ];
}

# --------------------------------------------------------------------
# stand-ins
# --------------------------------------------------------------------
my $http = HTTP::Tiny->new(timeout => 10);

sub rows_of
{
	my ($s) = @_;
	my $res = $http->get("$s->{base}/_rows");
	die "rows of stand-in $s->{name}: $res->{status}" unless $res->{success};
	return decode_json($res->{content})->{rows};
}

sub min9 { return $_[0] < 9 ? $_[0] : 9 }

# --------------------------------------------------------------------
# the server
# --------------------------------------------------------------------
$node = gs_node('snowflake_target', "restart_after_crash = on\n");
ok( reload_conf(
		$node, retry_settings(max_attempts => 60, retry_max_delay => '300ms', breaker_threshold => 1000)),
	'the retry settings are reloaded');

# one stand-in per target, so that their modes do not mix
my %sf;
my @standins;
for my $name (qw(main async throttle sqlerr missing drop unauth wrongkey crash))
{
	$sf{$name} = start_standin(
		$name, 'snowflake_standin.py',
		control => '/_control',
		args => [ '--public-key', "$tmp/pub.pem", map { ("--$_", $SF{$_}) } sort keys %SF ]);
	push @standins, $sf{$name};
}
like($sf{main}{port}, qr/^\d+$/, "the stand-in listens on 127.0.0.1:$sf{main}{port}");

my @tables = qw(sfa sfb sfc sfd sfm sfe sff sfg sfh);
track_tables($node, 'id int PRIMARY KEY, facility_id text, v text, n numeric', @tables);
my $fac = sql($node, q{SELECT globalsync.add_facility('Snow Clinic', 'Asia/Kolkata')});

sub sf_options
{
	my ($extra) = @_;
	my %o = (map { $_ => $SF{$_} } keys %SF);
	%o = (%o, %{ $extra // {} });
	return \%o;
}

sub add_sf
{
	my ($name, $s, $table, $extra) = @_;
	my $o = $J->encode({ %{ sf_options($extra) }, tables => ["public.$table"] });
	$o =~ s/'/''/g;
	return sql($node, qq{SELECT globalsync.add_target('$name', 'snowflake', '$s->{base}', '$o')});
}

# --------------------------------------------------------------------
# 1. validation
# --------------------------------------------------------------------
my ($st, $err);
my %bad_opts = (
	'no account' => do { my $o = sf_options(); delete $o->{account}; $o },
	'no user' => do { my $o = sf_options(); delete $o->{user}; $o },
	'no table' => do { my $o = sf_options(); delete $o->{table}; $o },
	'table with SQL' => sf_options({ table => 'EVENTS t; DROP TABLE X; --' }),
	'table with 4 parts' => sf_options({ table => 'A.B.C.D' }),
	'table with an open quote' => sf_options({ table => 'RAW."EVENTS' }),
	'account with a slash' => sf_options({ account => 'xy12345/x' }),
	'database with a space' => sf_options({ database => 'RAW DB' }),
	'rows_per_statement 1501' => sf_options({ rows_per_statement => 1501 }),
	'rows_per_statement 0' => sf_options({ rows_per_statement => 0 }),
	'statement_timeout_s 0' => sf_options({ statement_timeout_s => 0 }),
	'poll_interval_ms 10' => sf_options({ poll_interval_ms => 10 }),
	'timeout_ms "fast"' => sf_options({ timeout_ms => 'fast' }),
	'unknown option' => sf_options({ stage => 'X' }));
for my $k (sort keys %bad_opts)
{
	my $o = $J->encode($bad_opts{$k});
	$o =~ s/'/''/g;
	($st, $err) = sql_error($node, qq{SELECT globalsync.add_target('v1', 'snowflake', '$sf{main}{base}', '$o')});
	is($st, '22023', "options with $k are refused with 22023") or diag($err);
}
like((sql_error($node, qq{SELECT globalsync.add_target('v1', 'snowflake', '$sf{main}{base}', '{"stage": 1}')}))[1],
	qr/unknown option "stage".*account, user, table/s, 'the unknown option error lists what the kind takes');
my $okopt = $J->encode(sf_options({ table => 'RAW."My ""Events"""' }));
($st, $err) = sql_error($node, qq{SELECT globalsync.add_target('v2', 'snowflake', 'ftp://127.0.0.1/', '$okopt')});
is($st, '22023', 'an ftp endpoint is refused with 22023') or diag($err);
($st, $err) = sql_error($node, qq{SELECT globalsync.add_target('v2', 'snowflake', '$sf{main}{base}/api/v2/statements', '$okopt')});
is($st, '22023', 'an endpoint with a path is refused with 22023') or diag($err);
like($err, qr/account URL/, '... and the error says the endpoint is the account URL');
($st, $err) = sql_error($node, qq{SELECT globalsync.remove_target(globalsync.add_target('v3', 'snowflake', '$sf{main}{base}/', '$okopt'))});
is($st, '', 'a quoted table name with doubled quotes and a trailing slash in the endpoint are accepted') or diag($err);
is(sql($node, q{SELECT count(*) FROM globalsync.targets WHERE name LIKE 'v_'}), '0', 'no refused target was created');

my %tid;
$tid{sfa} = add_sf('main', $sf{main}, 'sfa', { rows_per_statement => 7, max_batch_events => 40 });
$tid{sfb} = add_sf('async', $sf{async}, 'sfb', { poll_interval_ms => 100 });
$tid{sfc} = add_sf('throttle', $sf{throttle}, 'sfc');
$tid{sfd} = add_sf('sqlerr', $sf{sqlerr}, 'sfd', { max_batch_events => 100 });
$tid{sfm} = add_sf('missing', $sf{missing}, 'sfm');
$tid{sfe} = add_sf('drop', $sf{drop}, 'sfe');
$tid{sff} = add_sf('unauth', $sf{unauth}, 'sff');
$tid{sfg} = add_sf('wrongkey', $sf{wrongkey}, 'sfg');
$tid{sfh} = add_sf('crash', $sf{crash}, 'sfh', { rows_per_statement => 5, max_batch_events => 20 });
is(scalar(grep { /^TGT_[A-Z0-9]{8}$/ } values %tid), scalar(@tables), 'every snowflake target was added');
($st, $err) = sql_error($node, qq{SELECT globalsync.alter_target('$tid{sfa}', options => '{"rows_per_statement": 99999}')});
is($st, '22023', 'alter_target with rows_per_statement 99999 is refused with 22023') or diag($err);

# secrets
for my $k (qw(notpem enc small ec))
{
	my $f = $k eq 'notpem' ? "$tmp/notpem" : "$tmp/$k.pem";
	($st, $err) = sql_error($node, qq{SELECT globalsync.set_target_secret('$tid{sfa}', pg_read_file('$f'))});
	is($st, '22023', "a bad private key ($k) is refused with 22023") or diag($err);
	my @shown = grep { index($err, $_) >= 0 } @{ $key_lines{$k} // [] };
	is(scalar(@shown), 0, "... and the error does not show it");
}
like((sql_error($node, qq{SELECT globalsync.set_target_secret('$tid{sfa}', pg_read_file('$tmp/enc.pem'))}))[1],
	qr/encrypted/, 'the error for an encrypted key says so');
like((sql_error($node, qq{SELECT globalsync.set_target_secret('$tid{sfa}', pg_read_file('$tmp/small.pem'))}))[1],
	qr/2048/, 'the error for a 1024-bit key names 2048 bits');
is(sql($node, q{SELECT count(*) FROM globalsync.target_secrets}), '0', 'no refused key was stored');

for my $t (qw(sfa sfb sfc sfd sfm sfe sfh))
{
	sql($node, qq{SELECT globalsync.set_target_secret('$tid{$t}', pg_read_file('$tmp/key.pem'))});
}
sql($node, qq{SELECT globalsync.set_target_secret('$tid{sff}', pg_read_file('$tmp/key_pkcs1.pem'))});
is(sql($node, q{SELECT count(*) FROM globalsync.target_secrets}), '8', 'PKCS#8 and PKCS#1 keys are accepted');

# sync_progress samples, for the secret check
my $progress_samples = '';

sub sample_progress
{
	$progress_samples .= sql($node, q{SELECT coalesce(string_agg(p::text, E'\n'), '') FROM globalsync.sync_progress p}) . "\n";
}

# --------------------------------------------------------------------
# checks of a stand-in's table against the change log
# --------------------------------------------------------------------
# check_rows(label, stand-in, table, %o): o: snapshot (sync id), skip (hash
# of event ids not expected: dead letters).  Returns the rows by key.
sub check_rows
{
	my ($label, $s, $table, %o) = @_;
	my $tid = $tid{$table};
	my %want;
	for my $l (split /\n/,
		sql($node, qq{SELECT json_build_array(event_id, table_name, op::text, pk, row_data, old_values, facility_id)
                        FROM globalsync.change_log WHERE table_name = 'public.$table' ORDER BY event_id}))
	{
		my $e = $JB->decode($l);
		next if $o{skip} && $o{skip}{ $e->[0] };
		$want{"$tid:$e->[0]"} = $e;
	}
	my %snap;
	if ($o{snapshot})
	{
		for my $l (split /\n/, sql($node, qq{SELECT to_jsonb(x)::text FROM $table x}))
		{
			my $r = $JB->decode($l);
			$snap{"$o{snapshot}:public.$table:" . $J->encode({ id => $r->{id} })} = $r;
		}
	}
	my (%got, @dup, @bad);
	for my $r (@{ rows_of($s) })
	{
		next if ($r->{target_id} // '') ne $tid;
		push @dup, $r->{event_key} if exists $got{ $r->{event_key} };
		$got{ $r->{event_key} } = $r;
	}
	my @missing = grep { !exists $got{$_} } (keys %want, keys %snap);
	my @extra = grep { !exists $want{$_} && !exists $snap{$_} } keys %got;
	is(scalar(@missing), 0, "$label: every one of the " . (keys(%want) + keys(%snap)) . " expected rows landed")
	  or diag("missing: @missing[0 .. min9($#missing)]");
	is(scalar(@extra), 0, "$label: no other row landed") or diag("extra: @extra[0 .. min9($#extra)]");
	is(scalar(@dup), 0, "$label: no event_key twice");
	for my $k (keys %want)
	{
		my $r = $got{$k} or next;
		my ($id, $tn, $op, $pk, $row, $old, $facility) = @{ $want{$k} };
		my @json = map { defined $r->{_raw}{$_} ? $JB->decode($r->{_raw}{$_}) : undef } qw(pk row_data old_data);
		my $g = $JB->encode([ $r->{event_id}, $r->{table_name}, $r->{op}, @json, $r->{facility_id} ]);
		my $w = $JB->encode([ $id, $tn, $op, $pk, $row, $old, $facility ]);
		push @bad, "$k: got $g want $w" if $g ne $w;
		push @bad, "$k: captured_at " . ($r->{captured_at} // 'null') unless ($r->{captured_at} // '') =~ /^\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d$/;
	}
	for my $k (keys %snap)
	{
		my $r = $got{$k} or next;
		push @bad, "$k: snapshot row " . $J->encode($r)
		  unless ($r->{op} // '') eq 'R' && !defined $r->{event_id}
		  && $JB->encode($JB->decode($r->{_raw}{row_data} // 'null')) eq $JB->encode($snap{$k});
	}
	is(scalar(@bad), 0, "$label: every row holds its event as the change log has it") or diag(join("\n", @bad[0 .. min9($#bad)]));
	return \%got;
}

# statement requests (POST) of a stand-in that ran or were answered from a first run
sub posts { return [ grep { $_->{method} eq 'POST' } @{ standin_requests($_[0]) } ] }

# --------------------------------------------------------------------
# 2. main: inserts, updates, deletes, full sync
# --------------------------------------------------------------------
sql($node, qq{DO \$\$ BEGIN
    FOR k IN 0..4 LOOP
        INSERT INTO sfa SELECT k * 20 + g, '$fac', 'ins-' || (k * 20 + g), (k * 20 + g) * 1.1 FROM generate_series(1, 20) g;
        COMMIT;
    END LOOP;
    UPDATE sfa SET v = 'upd-' || id, n = 12345678901234567890.123456789 WHERE id % 4 = 0;
    COMMIT;
    DELETE FROM sfa WHERE id > 90;
    COMMIT;
END \$\$;});
is(sql($node, q{SELECT count(*) FROM globalsync.change_log WHERE table_name = 'public.sfa'}), '135',
	'main: 100 inserts, 25 updates, 10 deletes captured');
sample_progress();
ok(pending_is_zero($node, $tid{sfa}, 60), 'main: everything delivered');
check_rows('main, changes', $sf{main}, 'sfa');

my $sid = sql($node, qq{SELECT globalsync.start_sync('$tid{sfa}', NULL, 'full')});
sample_progress();
is(sql($node, qq{SELECT globalsync.wait_sync('$sid', '60 s')}), 'completed', 'main: the full sync completed');
my $main_rows = check_rows('main, changes and full sync', $sf{main}, 'sfa', snapshot => $sid);
is(scalar(grep { ($_->{op} // '') eq 'R' } values %$main_rows), 90, 'main: the 90 rows of the table came as snapshot rows');
my ($big) = grep { ($_->{op} // '') eq 'U' && ($_->{row_data}{id} // 0) == 4 } values %$main_rows;
like($big ? $big->{_raw}{row_data} : 'none', qr/"n": 12345678901234567890\.123456789\b/,
	'main: a numeric of 29 digits keeps every digit (the row is bound as its JSON text)');

# statements per batch
my $mp = posts($sf{main});
my (%by_batch, %rid_seen, @too_big, @rid_twice, @not_ok);
for my $q (@$mp)
{
	push @not_ok, "seq $q->{seq}: $q->{status}" if $q->{status} ne '200';
	next unless $q->{event_keys};
	push @too_big, "seq $q->{seq}: " . scalar(@{ $q->{event_keys} }) if @{ $q->{event_keys} } > 7;
	my $rid = $q->{request_id};
	my $ks = join(',', @{ $q->{event_keys} });
	push @rid_twice, "$rid: two statements" if exists $rid_seen{$rid} && $rid_seen{$rid} ne $ks;
	$rid_seen{$rid} = $ks;
	$by_batch{ $q->{batch_id} }{$rid} = scalar(@{ $q->{event_keys} });
}
is(scalar(@not_ok), 0, 'main: every statement was answered 200') or diag("@not_ok");
is(scalar(@too_big), 0, 'main: no statement carried more than rows_per_statement (7) rows') or diag("@too_big");
is(scalar(@rid_twice), 0, 'main: a requestId always names the same statement');
my @split = grep { keys %{ $by_batch{$_} } > 1 } keys %by_batch;
cmp_ok(scalar(@split), '>', 3, 'main: batches of more than 7 events went as several statements (' . scalar(@split) . ' batches)');
my @wrong_count = grep {
	my $n = 0;
	$n += $_ for values %{ $by_batch{$_} };
	keys %{ $by_batch{$_} } != int(($n + 6) / 7)
} keys %by_batch;
is(scalar(@wrong_count), 0, 'main: each batch went as ceil(events / 7) statements, each with its own requestId')
  or diag("@wrong_count");
my @claims = grep { defined } map { $_->{jwt_claims} } @$mp;
is(scalar(@claims), scalar(@$mp), 'main: every request carried a JWT that the stand-in verified');
my ($c0) = @claims;
like($c0->{iss}, qr/^XY12345\.GS_LOADER\.SHA256:[A-Za-z0-9+\/]{43}=$/, "main: iss is ACCOUNT.USER.SHA256:<fingerprint> ($c0->{iss})");
is($c0->{sub}, 'XY12345.GS_LOADER', 'main: sub is ACCOUNT.USER');
cmp_ok($c0->{exp} - $c0->{iat}, '<=', 3600, 'main: the token lives at most an hour');
my %tokens = map { $_->{headers}{authorization} => 1 } @$mp;
cmp_ok(scalar(keys %tokens), '<', scalar(@$mp) / 2, 'main: the token is cached, not signed anew for each request (' . scalar(keys %tokens) . ' tokens)');
my $h0 = $mp->[0]{headers};
is($h0->{'x-snowflake-authorization-token-type'}, 'KEYPAIR_JWT', 'main: X-Snowflake-Authorization-Token-Type is KEYPAIR_JWT');
is($h0->{'user-agent'}, 'globalsync/0.1.0', 'main: the User-Agent is globalsync/0.1.0');
my $b0 = decode_json($mp->[0]{body});
is(join(',', map { $b0->{$_} // 'null' } qw(database schema warehouse role timeout)), 'RAW,GLOBALSYNC,LOAD_WH,LOADER,60',
	'main: the body names the database, schema, warehouse, role and the timeout');
like($b0->{statement}, qr/^MERGE INTO RAW\.GLOBALSYNC\.EVENTS t USING .* WHEN NOT MATCHED THEN INSERT/, 'main: the statement is a MERGE into the table');

# --------------------------------------------------------------------
# 3-7. the answers of the SQL API
# --------------------------------------------------------------------
standin_control($sf{async}, { mode => 'async', async_polls => 3 });
standin_control($sf{throttle}, { mode => 'throttle', count => 2, retry_after => 1, then => 'ok' });
standin_control($sf{sqlerr}, { mode => 'sql_error', marker => 'POISON' });
standin_control($sf{missing}, { mode => 'table_missing', count => 4, then => 'ok' });
standin_control($sf{drop}, { mode => 'drop', count => 1, then => 'ok' });
standin_control($sf{unauth}, { mode => 'unauthorized', count => 1, then => 'ok' });

my $t_throttle = time();
sql($node, qq{
INSERT INTO sfb SELECT g, '$fac', 'a' || g FROM generate_series(1, 5) g;
INSERT INTO sfc SELECT g, '$fac', 'c' || g FROM generate_series(1, 5) g;
INSERT INTO sfd SELECT g, '$fac', CASE WHEN g = 37 THEN 'POISON' ELSE 'd' || g END FROM generate_series(1, 60) g;
INSERT INTO sfm SELECT g, '$fac', 'm' || g FROM generate_series(1, 5) g;
INSERT INTO sfe SELECT g, '$fac', 'e' || g FROM generate_series(1, 5) g;
INSERT INTO sff SELECT g, '$fac', 'f' || g FROM generate_series(1, 5) g;
});
sample_progress();
for my $t (qw(sfb sfc sfd sfm sfe sff))
{
	ok(pending_is_zero($node, $tid{$t}, 40), "$t: nothing pending any more");
}

# 3. async
check_rows('202 then poll', $sf{async}, 'sfb');
my $ar = standin_requests($sf{async});
my @gets = grep { $_->{method} eq 'GET' } @$ar;
my ($apost) = grep { $_->{method} eq 'POST' } @$ar;
is(scalar(@gets), 4, '202: the statement was polled 4 times (3 answers 202, then 200)');
is(join(',', map { $_->{status} } @gets), '202,202,202,200', '202: the polls were answered 202, 202, 202, 200');
is(scalar(grep { $_->{path} eq "/api/v2/statements/$apost->{handle}" && $_->{jwt_ok} } @gets), 4,
	'202: every poll GETs the handle of the 202 answer, with a valid JWT');
my @gaps = map { $gets[$_]{time} - ($_ ? $gets[ $_ - 1 ]{time} : $apost->{time}) } 0 .. $#gets;
ok($gaps[0] >= 0.09 && $gaps[1] >= 0.19 && $gaps[2] >= 0.39 && $gaps[3] >= 0.79,
	'202: the poll interval starts at poll_interval_ms and doubles (' . join(', ', map { sprintf('%.2f', $_) } @gaps) . ' s)');

# 4. throttle
check_rows('429 then ok', $sf{throttle}, 'sfc');
my @tr = @{ posts($sf{throttle}) };
is(join(',', map { $_->{status} } @tr), '429,429,200', '429: two throttled requests, then delivered');
ok(@tr >= 3 && $tr[1]{time} - $tr[0]{time} >= 0.95 && $tr[2]{time} - $tr[1]{time} >= 0.95,
	'429: each retry waited for Retry-After (1 s)');
like(sql($node, qq{SELECT last_error FROM globalsync.target_health WHERE target_id = '$tid{sfc}'}),
	qr/answered 429/, '429: the failure is recorded (target_health)');

# 5. 422
ok( wait_until($node, qq{SELECT count(*) FROM globalsync.dead_letters WHERE target_id = '$tid{sfd}' AND status = 'dead'}, '1', 30),
	'422: one dead letter');
my ($dl_count, $dl_error, $dl_events) = split /\|/,
  sql($node, qq{SELECT event_count, error, events::text FROM globalsync.dead_letters WHERE target_id = '$tid{sfd}'});
is($dl_count, '1', '422: the dead letter holds one event');
like($dl_events, qr/POISON/, '422: ... the event with the marker');
like($dl_error, qr/422.*Snowflake error 100038 \(SQLSTATE 22018\): Numeric value 'POISON' is not recognized/,
	"422: the error keeps Snowflake's code, sqlState and message");
my $poison_id = sql($node, q{SELECT event_id FROM globalsync.change_log WHERE table_name = 'public.sfd' AND row_data->>'v' = 'POISON'});
check_rows('422 for one event', $sf{sqlerr}, 'sfd', skip => { $poison_id => 1 });

check_rows('422 42S02 (table missing) then ok', $sf{missing}, 'sfm');
is(sql($node, qq{SELECT count(*) FROM globalsync.dead_letters WHERE target_id = '$tid{sfm}'}), '0',
	'422 42S02: a missing table is retried, not dead-lettered');
is(join(',', map { $_->{status} } @{ posts($sf{missing}) }), '422,422,422,422,200', '422 42S02: four refusals, then delivered');

# 6. drop
check_rows('dropped connection', $sf{drop}, 'sfe');
my @dr = @{ posts($sf{drop}) };
is(join(',', map { $_->{status} } @dr), 'dropped,200', 'drop: the dropped statement was sent again');
is($dr[1]{request_id}, $dr[0]{request_id}, 'drop: with the same requestId');
ok($dr[1]{retry} && !$dr[0]{retry}, 'drop: and retry=true (not on the first send)');
ok($dr[1]{dedup}, 'drop: the stand-in answered from the first run, without running it again');
is($dr[0]{inserted}, 5, 'drop: the first run had inserted the 5 rows');

# 7. 401 once
check_rows('401 once', $sf{unauth}, 'sff');
my @ur = @{ posts($sf{unauth}) };
is(join(',', map { $_->{status} } @ur), '401,200', '401: refused once, then delivered');
is($ur[1]{request_id}, $ur[0]{request_id}, '401: the same requestId');
ok($ur[1]{retry}, '401: resent with retry=true');
is(sql($node, qq{SELECT last_failure_at IS NULL FROM globalsync.target_health WHERE target_id = '$tid{sff}'}), 't',
	'401: renewed within the attempt, no failure recorded');

# --------------------------------------------------------------------
# 8. no secret, a wrong key, the right key
# --------------------------------------------------------------------
sql($node, qq{INSERT INTO sfg SELECT g, '$fac', 'g' || g FROM generate_series(1, 5) g});
ok( wait_until($node, qq{SELECT last_error LIKE '%no private key: set it with globalsync.set_target_secret()%'
                           FROM globalsync.target_health WHERE target_id = '$tid{sfg}'}, 't', 20),
	'no secret: the send fails with "no private key"');
is(scalar(@{ standin_requests($sf{wrongkey}) }), 0, 'no secret: no request was sent');
sql($node, qq{SELECT globalsync.set_target_secret('$tid{sfg}', pg_read_file('$tmp/wrong.pem'))});
ok( wait_until($node, qq{SELECT last_error ~ '401.*390144' FROM globalsync.target_health WHERE target_id = '$tid{sfg}'}, 't', 20),
	'wrong key: the error in target_health has the 401 and Snowflake\'s code');
ok(wait_for('two refused tokens', 20, sub { grep({ !$_->{jwt_ok} } @{ standin_requests($sf{wrongkey}) }) >= 4 }),
	'wrong key: the stand-in refused the tokens (signature)');
my @wk = @{ standin_requests($sf{wrongkey}) };
ok(!grep({ $_->{jwt_ok} } @wk), 'wrong key: no token verified');
like(join(' ', map { @{ $_->{problems} } } @wk), qr/InvalidSignatureError/, 'wrong key: the stand-in says the signature is invalid');
is(sql($node, qq{SELECT count(*) FROM globalsync.dead_letters WHERE target_id = '$tid{sfg}'}), '0',
	'wrong key: nothing dead-lettered');
sql($node, qq{SELECT globalsync.set_target_secret('$tid{sfg}', pg_read_file('$tmp/key.pem'))});
ok(pending_is_zero($node, $tid{sfg}, 30), 'right key: delivered');
check_rows('right key after a wrong one', $sf{wrongkey}, 'sfg');

# --------------------------------------------------------------------
# 9. kill -9 of the worker while it delivers to a slow stand-in
# --------------------------------------------------------------------
standin_control($sf{crash}, { mode => 'slow', slow_ms => 150 });
sql($node, qq{DO \$\$ BEGIN
    FOR k IN 0..9 LOOP
        INSERT INTO sfh SELECT k * 20 + g, '$fac', 's' FROM generate_series(1, 20) g;
        COMMIT;
    END LOOP;
    UPDATE sfh SET v = 'u' WHERE id % 3 = 0;
END \$\$;});
ok(wait_for('deliveries to the slow stand-in', 30, sub { @{ posts($sf{crash}) } >= 5 }), 'crash: deliveries are under way');
sample_progress();
crash_worker($node, 'in the middle of the deliveries');
ok(pending_is_zero($node, $tid{sfh}, 60), 'crash: everything delivered after the restart');
check_rows('kill -9 during deliveries', $sf{crash}, 'sfh');
my $rerun = grep { ($_->{matched} // 0) > 0 } @{ posts($sf{crash}) };
note("crash: $rerun statements met rows already there (resent after the crash)");

# --------------------------------------------------------------------
# 10. the key is nowhere; the stand-ins saw no unexpected problem
# --------------------------------------------------------------------
my %dump;
for my $v (qw(sync_history target_health sync_progress targets dead_letters lag_stats sync_log))
{
	$dump{$v} = sql($node, qq{SELECT coalesce(string_agg(x::text, E'\n'), '') FROM globalsync.$v x});
}
$dump{'sync_progress samples'} = $progress_samples;
$dump{'server log'} = slurp_file($node->logfile);
cmp_ok(length($dump{targets}), '>', 0, 'the targets table was read');
my @all_lines = map { @$_ } values %key_lines;
for my $v (sort keys %dump)
{
	my @found = grep { index($dump{$v}, $_) >= 0 } @all_lines;
	is(scalar(@found), 0, "no line of any private key is in $v");
}
unlike($dump{'server log'}, qr/(PANIC|TRAP)/, 'no PANIC or assertion failure in the server log');

for my $s (@standins)
{
	my @p = grep { @{ $_->{problems} } } @{ standin_requests($s) };
	# the wrong key's tokens are the problems expected there
	@p = grep { !(($_->{problems}[0] // '') =~ /^JWT: InvalidSignatureError/) } @p if $s->{name} eq 'wrongkey';
	is(scalar(@p), 0, "stand-in $s->{name}: no request had a problem")
	  or diag(join("\n", map { "seq $_->{seq}: @{ $_->{problems} }" } @p[0 .. min9($#p)]));
}

$node->stop;
for my $s (@standins)
{
	stop_standin($s);
	my $e = standin_stderr($s);
	is($e, '', "stand-in $s->{name} wrote nothing to stderr") or diag($e);
}
done_testing();
