
# 008_http_target.pl: the http (webhook) target against real receivers on
# loopback (test/lib/webhook_receiver.py, Python standard library), which
# verify every request's Standard Webhooks signature on their own, record
# every request, and answer as the test tells them (per request path).
#
# Settings (reloaded after start, as in 005): max_attempts 4,
# retry_base_delay 50ms, retry_max_delay 200ms, breaker_threshold 3,
# breaker_cooldown 1s; tick_interval 20ms (gs_node).
#
#  1. validation: an ftp URL, a URL with user:password (the password is in
#     neither the error nor the server log), reserved headers, bad format,
#     timeout_ms, ca_file and unknown options are refused with 22023;
#     globalsync.allowed_hosts (superuser only) refuses a host that is not
#     listed with 42501 and accepts a listed one and a subdomain of a
#     ".domain" entry;
#  2. set_target_secret: bad secrets refused with 22023 without echoing
#     them; an unknown target 42704; a plain role may not call it, and a
#     globalsync_admin may not read globalsync.target_secrets;
#     webhook_signature() gives the test vector of the specification;
#  3. realtime delivery of 420 changes to a json and to an ndjson target
#     (with a secret and an extra header): every request POST with the
#     documented headers (Idempotency-Key = webhook-id = batch id,
#     webhook-timestamp near now, User-Agent globalsync/0.1.0, the
#     Content-Type of the format, the extra header), every signature valid,
#     every event's batch_id that of its request, resends with the same
#     webhook-id carry the same events, every event accepted under one
#     webhook-id only, batches accepted in commit order, every logged event
#     arrived, nothing else, per row increasing event ids; sync_history:
#     the runs acknowledged the 420 events of each, none failed;
#  4. failing receivers (one target each, at the same time): 500 twice then
#     200 (resends carry the same webhook-id, no dead letter, the error with
#     the response body is recorded, the breaker closed again); 429 with
#     Retry-After: 2 (the next attempt not before 2 s); a receiver that
#     hangs past timeout_ms (retried after the timeout, not after the
#     hang); a receiver that closes the connection twice (retried);
#  5. 400 for the one event holding a marker: the batch is halved until
#     that event alone is a dead letter (with the status and the response
#     body in its error), the other events of its batch arrive, a 400 is
#     never resent under the same webhook-id; replay_dead_letter() after the
#     receiver is told to accept delivers it under the dead letter's batch
#     id;
#  6. 410: the target is set inactive after one request, its run is
#     recorded as failed in sync_history with the status in its error,
#     target_health shows the error, its events stay pending (no dead
#     letter); active again, it delivers them;
#  7. gzip: Content-Encoding gzip, the signature (checked by the receiver
#     and here again) covers the gzipped body as sent, not the plain one;
#  8. TLS: a receiver with a certificate of a CA made here by openssl:
#     a target with ca_file delivers over https; a target without ca_file
#     gets no request through (the receiver sees only failed handshakes),
#     its error says "TLS verification ... failed", the batch ends in
#     dead_letters after max_attempts (no insecure fallback);
#  9. the secret is nowhere: sync_history, target_health, sync_progress
#     (sampled during deliveries), targets (options), dead_letters,
#     lag_stats, dashboard_overview, NOTIFY globalsync_progress payloads;
# 10. kill -9 of the worker while it delivers to a slow receiver: after the
#     crash restart every logged event arrived, duplicates only as resends
#     of the same webhook-id;
# 11. the server log holds neither the secret nor the URL password, and
#     the receivers exit cleanly on SIGTERM.
#
# Every wait is bounded: a timeout on each psql call, a deadline on each
# poll, timeouts on the receivers' sockets and lifetimes.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use Digest::SHA qw(hmac_sha256);
use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use MIME::Base64 qw(encode_base64 decode_base64);
use Time::HiRes qw(usleep time);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use GsSyncTest;

my $J = JSON::PP->new->canonical(1);
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $node;

# --------------------------------------------------------------------
# the requests a receiver got
# --------------------------------------------------------------------
sub accepted { return [ grep { ($_->{status} // '') eq '200' } @{ $_[0] } ] }

# events_of(request): (events arrayref or undef, envelope or undef)
sub events_of
{
	my ($q) = @_;
	my $ct = $q->{headers}{'content-type'} // '';
	if ($ct =~ m{^application/x-ndjson})
	{
		my @ev;
		for my $line (split /\n/, $q->{body})
		{
			my $e = eval { $J->decode($line) };
			return (undef, undef) unless ref $e eq 'HASH';
			push @ev, $e;
		}
		return (\@ev, undef);
	}
	my $env = eval { $J->decode($q->{body}) };
	return (undef, undef) unless ref $env eq 'HASH' && ref $env->{events} eq 'ARRAY';
	return ($env->{events}, $env);
}

sub canon_events
{
	my ($ev) = @_;
	return $J->encode([ map { my %c = %$_; delete $c{batch_id}; \%c } @$ev ]);
}

# --------------------------------------------------------------------
# the server and the receivers
# --------------------------------------------------------------------
$node = gs_node('http_target', "restart_after_crash = on\n");
ok(reload_conf($node, retry_settings()), 'the retry settings are reloaded');

# a secret for the signed targets: whsec_ + base64 of 32 random bytes, in a
# file the server reads, so that no statement text holds it
my $key_bytes = join('', map { chr(int(rand(256))) } 1 .. 32);
my $secret_b64 = encode_base64($key_bytes, '');
my $secret = "whsec_$secret_b64";
my $secret_file = "$tmp/secret";
PostgreSQL::Test::Utils::append_to_file($secret_file, $secret);

# TLS: a CA and a certificate for 127.0.0.1 signed by it
my $ca = "$tmp/ca";
mkdir $ca or die;
ok( PostgreSQL::Test::Utils::run_log(
		[ 'openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$ca/ca.key",
		  '-out', "$ca/ca.crt", '-days', '2', '-subj', '/CN=globalsync test CA',
		  '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign' ])
	  && PostgreSQL::Test::Utils::run_log(
		[ 'openssl', 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$ca/srv.key", '-out', "$ca/srv.csr",
		  '-subj', '/CN=127.0.0.1' ])
	  && do
	  {
		PostgreSQL::Test::Utils::append_to_file("$ca/ext.cnf",
			"basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
			  . "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n");
		1;
	  }
	  && PostgreSQL::Test::Utils::run_log(
		[ 'openssl', 'x509', '-req', '-in', "$ca/srv.csr", '-CA', "$ca/ca.crt", '-CAkey', "$ca/ca.key",
		  '-CAcreateserial', '-out', "$ca/srv.crt", '-days', '2', '-extfile', "$ca/ext.cnf" ]),
	'openssl made a CA and a server certificate for 127.0.0.1');

my $rcv = start_standin('plain', 'webhook_receiver.py', args => [ '--secret', $secret ]);
my $tls = start_standin(
	'tls', 'webhook_receiver.py',
	scheme => 'https',
	args => [ '--secret', $secret, '--cert', "$ca/srv.crt", '--key', "$ca/srv.key" ]);
my @receivers = ($rcv, $tls);
like($rcv->{port}, qr/^\d+$/, "the receiver listens on 127.0.0.1:$rcv->{port}");
like($tls->{port}, qr/^\d+$/, "the TLS receiver listens on 127.0.0.1:$tls->{port}");

# every table: (id int primary key, facility_id, v)
my @tables = qw(hj hn h500 h429 hhang hclose h400 hgone hgz htls htlsbad hslow);
track_tables($node, 'id int PRIMARY KEY, facility_id text, v text', @tables);
my $fac = sql($node, q{SELECT globalsync.add_facility('Webhook Clinic', 'Asia/Kolkata')});

# add_target(name, url, table, extra options hash) -> target id
sub add_http
{
	my ($name, $url, $table, $extra) = @_;
	my %opt = (tables => ["public.$table"], %{ $extra // {} });
	my $o = $J->encode(\%opt);
	$o =~ s/'/''/g;
	return sql($node, qq{SELECT globalsync.add_target('$name', 'http', '$url', '$o')});
}

my %tid;
$tid{hj} = add_http('json', "$rcv->{base}/json", 'hj',
	{ format => 'json', max_batch_events => 40, headers => { 'X-Test-Header' => 'hello' } });
$tid{hn} = add_http('ndjson', "$rcv->{base}/ndjson", 'hn', { format => 'ndjson', max_batch_events => 40 });
$tid{h500} = add_http('e500', "$rcv->{base}/e500", 'h500', { max_batch_events => 10 });
$tid{h429} = add_http('e429', "$rcv->{base}/e429", 'h429');
$tid{hhang} = add_http('hang', "$rcv->{base}/hang", 'hhang', { timeout_ms => 600 });
$tid{hclose} = add_http('close', "$rcv->{base}/close", 'hclose');
$tid{h400} = add_http('e400', "$rcv->{base}/e400", 'h400', { max_batch_events => 100 });
$tid{hgone} = add_http('gone', "$rcv->{base}/gone", 'hgone');
$tid{hgz} = add_http('gzip', "$rcv->{base}/gz", 'hgz', { gzip => JSON::PP::true, max_batch_events => 25 });
$tid{htls} = add_http('tls ok', "$tls->{base}/tls", 'htls', { ca_file => "$ca/ca.crt" });
$tid{htlsbad} = add_http('tls no ca', "$tls->{base}/tlsbad", 'htlsbad');
$tid{hslow} = add_http('slow', "$rcv->{base}/slow", 'hslow', { max_batch_events => 20 });
like($tid{$_}, qr/^TGT_[A-Z0-9]{8}$/, "http target for $_ added") for qw(hj hn);
is(scalar(grep { $_ =~ /^TGT_[A-Z0-9]{8}$/ } values %tid), scalar(@tables), 'every http target was added');

# secrets, read from the file by the server
for my $t (qw(hj hn hgz htls))
{
	sql($node, qq{SELECT globalsync.set_target_secret('$tid{$t}', pg_read_file('$secret_file'))});
}
is(sql($node, q{SELECT count(*) FROM globalsync.target_secrets}), '4', 'set_target_secret stored four secrets');

# a session that listens to the progress notifications until section 9
my $listen = $node->background_psql('postgres', timeout => 240, on_error_stop => 0);
$listen->query_safe('LISTEN globalsync_progress');

# --------------------------------------------------------------------
# 1. validation
# --------------------------------------------------------------------
my ($st, $err);
($st, $err) = sql_error($node, q{SELECT globalsync.add_target('v1', 'http', 'ftp://127.0.0.1/x')});
is($st, '22023', 'an ftp URL is refused with 22023') or diag($err);
like($err, qr/http/i, '... and the error says http(s) only');

my $pw = 'Pw' . int(rand(1e9)) . 'xyzzy';
($st, $err) = sql_error($node, qq{SET log_statement = none; SET log_min_error_statement = panic;
SELECT globalsync.add_target('v2', 'http', 'https://hookuser:$pw\@127.0.0.1:$rcv->{port}/x')});
is($st, '22023', 'a URL with user:password is refused with 22023') or diag($err);
unlike($err, qr/\Q$pw\E/, '... and the error does not show the password');
($st, $err) = sql_error($node, qq{SELECT globalsync.add_target('v2b', 'http', 'https://hookuser\@127.0.0.1:$rcv->{port}/x')});
is($st, '22023', 'a URL with a user name is refused too') or diag($err);

for my $h ('Webhook-Signature', 'content-type', 'Idempotency-Key', 'Host')
{
	($st, $err) = sql_error($node, qq{SELECT globalsync.add_target('v3', 'http', '$rcv->{base}/x', '{"headers": {"$h": "x"}}')});
	is($st, '22023', "the reserved header $h is refused with 22023") or diag($err);
}
for my $bad ('{"format": "xml"}', '{"timeout_ms": 50}', '{"timeout_ms": "fast"}', '{"ca_file": "relative/ca.pem"}',
	'{"max_in_flight": 0}', '{"gzip": "yes"}', '{"no_such_option": 1}', '{"headers": ["a"]}')
{
	($st, $err) = sql_error($node, qq{SELECT globalsync.add_target('v4', 'http', '$rcv->{base}/x', '$bad')});
	is($st, '22023', "option $bad is refused with 22023") or diag($err);
}
is(sql($node, q{SELECT count(*) FROM globalsync.targets WHERE name LIKE 'v_%'}), '0', 'no refused target was created');

# allowed_hosts
($st, $err) = sql_error($node, qq{SET globalsync.allowed_hosts = 'hooks.example.org, .example.net';
SELECT globalsync.add_target('v5', 'http', '$rcv->{base}/x')});
is($st, '42501', 'allowed_hosts set: a host not in the list is refused with 42501') or diag($err);
($st, $err) = sql_error($node, q{SET globalsync.allowed_hosts = 'hooks.example.org, .example.net';
SELECT globalsync.add_target('v6', 'http', 'https://example.net.evil.test/x')});
is($st, '42501', '... also a host that merely starts like a listed domain') or diag($err);
my ($ok, $o);
($ok, $o, $err) = try_sql($node, q{SET globalsync.allowed_hosts = 'hooks.example.org, .example.net';
SELECT globalsync.add_target('v7', 'http', 'https://a.b.example.net/x', '{"schedule": "manual"}');
SELECT globalsync.add_target('v8', 'http', 'https://HOOKS.example.org/x', '{"schedule": "manual"}');});
ok($ok, 'a subdomain of a ".domain" entry and a listed host are accepted') or diag($err);
sql($node, q{SELECT globalsync.remove_target(target_id) FROM globalsync.targets WHERE name IN ('v7', 'v8')});
sql($node, q{CREATE ROLE plain LOGIN; CREATE ROLE admin_r LOGIN IN ROLE globalsync_admin;});
($st, $err) = sql_error($node, q{SET globalsync.allowed_hosts = ''}, user => 'plain');
is($st, '42501', 'a role without superuser may not set globalsync.allowed_hosts') or diag($err);

# --------------------------------------------------------------------
# 2. set_target_secret, webhook_signature
# --------------------------------------------------------------------
my %bad_secret = (
	short => 'whsec_' . encode_base64('0123456789', ''),    # 10 bytes
	notbase64 => 'whsec_' . 'Zm9v!!not*base64' . int(rand(1e6)),
	empty => 'whsec_');
for my $k (sort keys %bad_secret)
{
	my $f = "$tmp/bad_secret_$k";
	PostgreSQL::Test::Utils::append_to_file($f, $bad_secret{$k});
	($st, $err) = sql_error($node, qq{SELECT globalsync.set_target_secret('$tid{h500}', pg_read_file('$f'))});
	is($st, '22023', "a bad secret ($k) is refused with 22023") or diag($err);
	my $shown = $bad_secret{$k} eq 'whsec_' ? 0 : index($err, substr($bad_secret{$k}, 6)) >= 0;
	ok(!$shown, "... and the error does not show it") or diag($err);
}
($st, $err) = sql_error($node, qq{SELECT globalsync.set_target_secret('TGT_00000000', pg_read_file('$secret_file'))});
is($st, '42704', 'set_target_secret of an unknown target: 42704') or diag($err);
unlike($err, qr/\Q$secret_b64\E/, '... without showing the secret');
($st, $err) = sql_error($node, qq{SELECT globalsync.set_target_secret('$tid{h500}', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')},
	user => 'plain');
is($st, '42501', 'a plain role may not call set_target_secret') or diag($err);
($st, $err) = sql_error($node, q{SELECT * FROM globalsync.target_secrets}, user => 'admin_r');
is($st, '42501', 'a globalsync_admin may not read globalsync.target_secrets') or diag($err);
is(sql($node, qq{SELECT count(*) FROM globalsync.target_secrets WHERE target_id = '$tid{h500}'}), '0',
	'no secret was stored for the refused attempts');

is( sql($node, q{SELECT globalsync.webhook_signature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek',
                 1614265330, '{"test": 2432232314}')}),
	'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=', 'webhook_signature(): the test vector of the specification');
my $perl_sig = 'v1,' . encode_base64(hmac_sha256("msg_x.1700000000.hello", $key_bytes), '');
is(sql($node, qq{SELECT globalsync.webhook_signature(pg_read_file('$secret_file'), 'msg_x', 1700000000, 'hello')}),
	$perl_sig, 'webhook_signature() agrees with an HMAC computed here for the test secret');

# --------------------------------------------------------------------
# checks of what a receiver got for one target
# --------------------------------------------------------------------
# check_http(label, receiver, path, table, %o): o: format (json|ndjson),
# signed (bool), replays (hash of batch ids that are replays), expected
# (arrayref of event ids; default: every logged event of the table)
sub check_http
{
	my ($label, $r, $path, $table, %o) = @_;
	my $tid = $tid{$table};
	my $reqs = standin_requests($r, $path);
	my $acc = accepted($reqs);
	ok(@$acc > 0, "$label: the receiver accepted requests (" . scalar(@$reqs) . " requests, " . scalar(@$acc) . " accepted)");

	my (@bad_hdr, @bad_sig, @bad_body);
	my $want_ct = ($o{format} // 'json') eq 'ndjson' ? 'application/x-ndjson' : 'application/json';
	my %by_id;
	for my $q (@$reqs)
	{
		my $h = $q->{headers};
		my $id = $q->{webhook_id} // '';
		push @bad_hdr, "seq $q->{seq}: method $q->{method}" if $q->{method} ne 'POST';
		push @bad_hdr, "seq $q->{seq}: webhook-id '$id' vs Idempotency-Key '" . ($h->{'idempotency-key'} // '') . "'"
		  if $id eq '' || ($h->{'idempotency-key'} // '') ne $id;
		push @bad_hdr, "seq $q->{seq}: webhook-id $id is not a batch id of $tid" if $id !~ /^\Q$tid\E-/;
		push @bad_hdr, "seq $q->{seq}: User-Agent " . ($h->{'user-agent'} // 'none')
		  if ($h->{'user-agent'} // '') ne 'globalsync/0.1.0';
		push @bad_hdr, "seq $q->{seq}: Content-Type " . ($h->{'content-type'} // 'none')
		  if ($h->{'content-type'} // '') !~ /^\Q$want_ct\E\b/;
		push @bad_hdr, "seq $q->{seq}: webhook-timestamp " . ($q->{webhook_timestamp} // 'none') . " skew "
		  . ($q->{timestamp_skew} // 'n/a')
		  if !defined $q->{timestamp_skew} || abs($q->{timestamp_skew}) > 300;
		push @bad_hdr, "seq $q->{seq}: X-Test-Header " . ($h->{'x-test-header'} // 'none')
		  if $o{header} && ($h->{'x-test-header'} // '') ne $o{header};
		if ($o{signed})
		{
			push @bad_sig, "seq $q->{seq} ($id): " . ($h->{'webhook-signature'} // 'no signature')
			  unless $q->{signature_ok};
		}
		else
		{
			push @bad_sig, "seq $q->{seq}: a signature without a secret" if defined $h->{'webhook-signature'};
		}
		my ($ev, $env) = events_of($q);
		if (!$ev || !@$ev)
		{
			push @bad_body, "seq $q->{seq}: no events in the body: " . substr($q->{body}, 0, 200);
			next;
		}
		if (($o{format} // 'json') eq 'json')
		{
			push @bad_body, "seq $q->{seq}: envelope batch_id/target_id " . ($env->{batch_id} // 'none') . '/'
			  . ($env->{target_id} // 'none')
			  if ($env->{batch_id} // '') ne $id || ($env->{target_id} // '') ne $tid;
		}
		for my $e (@$ev)
		{
			push @bad_body, "seq $q->{seq}: event $e->{event_id} with batch_id " . ($e->{batch_id} // 'none')
			  if ($e->{batch_id} // '') ne $id;
		}
		push @{ $by_id{$id} }, { q => $q, ev => $ev };
	}
	is(scalar(@bad_hdr), 0, "$label: every request has the documented headers") or diag(join("\n", @bad_hdr[0 .. min9($#bad_hdr)]));
	is(scalar(@bad_sig), 0, $o{signed} ? "$label: every signature is valid (checked by the receiver)"
		: "$label: no signature without a secret") or diag(join("\n", @bad_sig[0 .. min9($#bad_sig)]));
	is(scalar(@bad_body), 0, "$label: every body holds events of its own batch id") or diag(join("\n", @bad_body[0 .. min9($#bad_body)]));

	# resends: the same webhook-id, the same events
	my @differ;
	for my $id (keys %by_id)
	{
		my %c = map { canon_events($_->{ev}) => 1 } @{ $by_id{$id} };
		push @differ, $id if keys %c > 1;
	}
	is(scalar(@differ), 0, "$label: requests with the same webhook-id carry the same events") or diag("@differ");

	# accepted under one webhook-id only
	my (%acc_id_of, @twice);
	my @batches;
	my %first_seen;
	for my $q (@$acc)
	{
		my $id = $q->{webhook_id};
		my ($ev) = events_of($q);
		next unless $ev;
		for my $e (@$ev)
		{
			my $k = $e->{event_id} // 'null';
			push @twice, "event $k under $acc_id_of{$k} and $id" if exists $acc_id_of{$k} && $acc_id_of{$k} ne $id;
			$acc_id_of{$k} = $id;
		}
		my $b = { name => $id, events => $ev };
		@$b{qw(prev tick first last)} = $id =~ /-(\d+)-(\d+)-(\d+)-(\d+)$/;
		push @batches, $b;
		$first_seen{$id} //= $b;
	}
	is(scalar(@twice), 0, "$label: every event was accepted under one webhook-id only (resends keep it)")
	  or diag(join("\n", @twice[0 .. min9($#twice)]));

	# batches accepted in commit order (their first acceptance; replays aside)
	my @order = grep { !($o{replays} // {})->{ $_->{name} } }
	  map { $first_seen{ $_->{name} } == $_ ? $_ : () } @batches;
	my @out_of_order;
	for my $i (1 .. $#order)
	{
		my ($p, $c) = @order[ $i - 1, $i ];
		push @out_of_order, "$p->{name} before $c->{name}"
		  if !defined $c->{prev} || !defined $p->{prev}
		  || ($c->{prev} <=> $p->{prev} || $c->{tick} <=> $p->{tick} || $c->{first} <=> $p->{first}) < 0;
	}
	is(scalar(@out_of_order), 0, "$label: batches were accepted in commit order") or diag(join("\n", @out_of_order));

	my $expected = $o{expected} // logged_event_ids($node, "public.$table");
	check_changes({ batches => \@batches }, $expected, $label, "public.$table");
	return { reqs => $reqs, acc => $acc, by_id => \%by_id };
}

# history(table): the sync_history rows of a table's target, for diagnostics
sub history
{
	my ($t) = @_;
	return sql($node, qq{SELECT sync_id, operation_type, status, record_count, records_failed, error_message
                           FROM globalsync.sync_history WHERE target_id = '$tid{$t}' ORDER BY sync_started_at});
}

sub min9 { return $_[0] < 9 ? $_[0] : 9 }

# sync_progress samples, for the secret check of section 9
my $progress_samples = '';

sub sample_progress
{
	$progress_samples .= sql($node, q{SELECT coalesce(string_agg(p::text, E'\n'), '') FROM globalsync.sync_progress p}) . "\n";
}

# --------------------------------------------------------------------
# 3. realtime delivery, json and ndjson
# --------------------------------------------------------------------
my $changes_sql = sub {
	my ($tbl) = @_;
	return qq{
    FOR k IN 0..9 LOOP
        INSERT INTO $tbl SELECT k * 20 + g, '$fac', 'ins-' || (k * 20 + g) FROM generate_series(1, 20) g;
        COMMIT;
    END LOOP;
    FOR k IN 0..9 LOOP
        UPDATE $tbl SET v = 'upd-' || k || '-' || id WHERE id % 10 = k;
        COMMIT;
    END LOOP;
    DELETE FROM $tbl WHERE id > 180;
    COMMIT;};
};
sql($node, 'DO $$ BEGIN ' . $changes_sql->('hj') . $changes_sql->('hn') . ' END $$;');
is(sql($node, q{SELECT count(*) FROM globalsync.change_log WHERE table_name IN ('public.hj', 'public.hn')}), '840',
	'420 changes to each of the json and ndjson tables were captured');
for (1 .. 5)
{
	sample_progress();
	usleep(50_000);
}
ok(pending_is_zero($node, $tid{hj}, 60), 'json target: everything delivered');
ok(pending_is_zero($node, $tid{hn}, 60), 'ndjson target: everything delivered');
check_http('json', $rcv, '/json', 'hj', format => 'json', signed => 1, header => 'hello');
my $nd = check_http('ndjson', $rcv, '/ndjson', 'hn', format => 'ndjson', signed => 1);
ok(!grep({ $_->{body} !~ /\n\z/ } @{ $nd->{reqs} }), 'ndjson: every body ends with a newline');
for my $t (qw(hj hn))
{
	is( sql($node, qq{SELECT count(*) FILTER (WHERE status NOT IN ('completed', 'running')) || ' ' || sum(record_count)
                        FROM globalsync.sync_history WHERE target_id = '$tid{$t}'}),
		'0 420', "sync_history of $t: REALTIME runs acknowledged the 420 events, none failed")
	  or diag(history($t));
}

# --------------------------------------------------------------------
# 4. 500, 429, hang, close: each target's receiver misbehaves first
# --------------------------------------------------------------------
standin_control($rcv, { path => '/e500', mode => 'fail500', count => 2, then => 'ok' });
standin_control($rcv, { path => '/e429', mode => 'fail429', retry_after => 2, count => 1, then => 'ok' });
standin_control($rcv, { path => '/hang', mode => 'hang', hang_seconds => 4, count => 1, then => 'ok' });
standin_control($rcv, { path => '/close', mode => 'close', count => 2, then => 'ok' });
sql($node, qq{
INSERT INTO h500 SELECT g, '$fac', 'a' FROM generate_series(1, 10) g;
INSERT INTO h429 SELECT g, '$fac', 'a' FROM generate_series(1, 5) g;
INSERT INTO hhang SELECT g, '$fac', 'a' FROM generate_series(1, 5) g;
INSERT INTO hclose SELECT g, '$fac', 'a' FROM generate_series(1, 5) g;
});
sql($node, qq{INSERT INTO h500 SELECT g, '$fac', 'b' FROM generate_series(11, 30) g});
ok(pending_is_zero($node, $tid{$_}, 30), "$_: everything delivered in the end") for qw(h500 h429 hhang hclose);

# 500
my $r500 = check_http('500 twice', $rcv, '/e500', 'h500');
my @s500 = @{ $r500->{reqs} };
is(join(',', map { $_->{status} } @s500[0 .. 2]), '500,500,200', '500: two 500s, then 200');
is(scalar(keys %{ { map { $_->{webhook_id} => 1 } @s500[0 .. 2] } }), 1, '500: the resends carry the same webhook-id');
is( sql($node, qq{SELECT count(*) FROM globalsync.dead_letters WHERE target_id = '$tid{h500}'}), '0',
	'500: no dead letter');
is( sql($node, qq{SELECT count(*) FROM globalsync.sync_history WHERE target_id = '$tid{h500}'
                    AND error_message LIKE '%500%' AND error_message LIKE '%internal error (test receiver%'}), '1',
	'500: sync_history keeps the error with the status and the response body');
is( sql($node, qq{SELECT breaker || ' ' || consecutive_failures FROM globalsync.target_health WHERE target_id = '$tid{h500}'}),
	'closed 0', '500: the breaker is closed, the failures reset');

# 429
my $r429 = check_http('429 with Retry-After', $rcv, '/e429', 'h429');
my @s429 = @{ $r429->{reqs} };
is(join(',', map { $_->{status} } @s429[0 .. 1]), '429,200', '429: a 429, then 200');
is($s429[0]{webhook_id}, $s429[1]{webhook_id}, '429: the resend carries the same webhook-id');
my $gap = $s429[1]{time} - $s429[0]{time};
cmp_ok($gap, '>=', 1.95, sprintf('429: the next attempt came after Retry-After: 2 (%.3f s later)', $gap));
cmp_ok($gap, '<', 10, '429: ... and not much later');

# hang
my $rh = check_http('hanging receiver', $rcv, '/hang', 'hhang');
my @sh = @{ $rh->{reqs} };
is(join(',', map { $_->{status} } @sh[0 .. 1]), 'hang,200', 'hang: a request the receiver held, then 200');
is($sh[0]{webhook_id}, $sh[1]{webhook_id}, 'hang: the resend carries the same webhook-id');
$gap = $sh[1]{time} - $sh[0]{time};
ok($gap >= 0.55 && $gap < 3.5, sprintf('hang: retried after timeout_ms 600, not after the 4 s hang (%.3f s later)', $gap));
is( sql($node, qq{SELECT count(*) FROM globalsync.sync_history WHERE target_id = '$tid{hhang}' AND error_message ~* 'time(d)? ?out'}),
	'1', 'hang: sync_history records the timeout');

# close
my $rc = check_http('connection closed', $rcv, '/close', 'hclose');
my @sc = @{ $rc->{reqs} };
is(join(',', map { $_->{status} } @sc[0 .. 2]), 'closed,closed,200', 'close: two connections closed, then 200');
is(scalar(keys %{ { map { $_->{webhook_id} => 1 } @sc[0 .. 2] } }), 1, 'close: the resends carry the same webhook-id');
is( sql($node, qq{SELECT count(*) FROM globalsync.dead_letters WHERE target_id IN ('$tid{h429}', '$tid{hhang}', '$tid{hclose}')}),
	'0', '429, hang, close: no dead letter');

# --------------------------------------------------------------------
# 5. 400 for one event: bisection, dead letter, replay
# --------------------------------------------------------------------
standin_control($rcv, { path => '/e400', mode => 'bad400_if', marker => 'POISON' });
sql($node, qq{INSERT INTO h400 SELECT g, '$fac', CASE WHEN g = 6 THEN 'POISON-6' ELSE 'fine-' || g END
                FROM generate_series(1, 9) g});
ok( wait_until($node, qq{SELECT count(*) || ' ' || (SELECT pending_events FROM globalsync.target_health WHERE target_id = '$tid{h400}')
                           FROM globalsync.dead_letters WHERE target_id = '$tid{h400}'}, '1 0', 30),
	'400: one dead letter, nothing pending');
my ($dl_id, $dl_batch, $dl_count, $dl_v, $dl_status, $dl_err) = split /\|/, sql($node, qq{
SELECT dead_letter_id, batch_id, event_count, events->0->'row'->>'v', status, error
  FROM globalsync.dead_letters WHERE target_id = '$tid{h400}'});
is("$dl_count $dl_v $dl_status", '1 POISON-6 dead', '400: the dead letter holds only the marked event');
like($dl_err, qr/400/, '400: its error has the status');
like($dl_err, qr/rejected: an event contains the marker POISON/, '400: ... and the response body');
my $q400 = standin_requests($rcv, '/e400');
my ($ev0) = events_of($q400->[0]);
is(scalar(@{ $ev0 // [] }) . ' ' . $q400->[0]{status}, '9 400', '400: the first request held the whole batch of 9 and got 400');
my %n400;
$n400{ $_->{webhook_id} }++ for grep { ($_->{status} // '') eq '400' } @$q400;
is(scalar(grep { $_ > 1 } values %n400), 0, '400: no refused batch was sent again under its webhook-id');
cmp_ok(scalar(keys %n400), '>=', 2, '400: the batch was halved (' . scalar(keys %n400) . ' refused requests)');
my @poison = grep { ($_->{row}{v} // '') eq 'POISON-6' } map { my ($e) = events_of($_); @$e } @{ accepted($q400) };
is(scalar(@poison), 0, '400: the marked event was not accepted yet');
my @h400_ids = @{ logged_event_ids($node, 'public.h400') };
my $poison_id = sql($node, q{SELECT event_id FROM globalsync.change_log WHERE table_name = 'public.h400' AND row_data->>'v' = 'POISON-6'});
check_http('400 bisection', $rcv, '/e400', 'h400', expected => [ grep { $_ ne $poison_id } @h400_ids ]);

standin_control($rcv, { path => '/e400', mode => 'ok' });
my $rsid = sql($node, qq{SELECT globalsync.replay_dead_letter($dl_id)});
is(sql($node, qq{SELECT globalsync.wait_sync('$rsid', '30 s')}), 'completed', '400: the replay after the receiver accepts completed');
is(sql($node, qq{SELECT status FROM globalsync.dead_letters WHERE dead_letter_id = $dl_id}), 'replayed', '400: the dead letter is replayed');
my @replayed = grep { $_->{webhook_id} eq $dl_batch } @{ accepted(standin_requests($rcv, '/e400')) };
is(scalar(@replayed), 1, "400: the receiver accepted it under the dead letter's batch id $dl_batch");
check_http('400 after replay', $rcv, '/e400', 'h400', replays => { $dl_batch => 1 });

# --------------------------------------------------------------------
# 6. 410 disables the target
# --------------------------------------------------------------------
standin_control($rcv, { path => '/gone', mode => 'gone410' });
sql($node, qq{INSERT INTO hgone SELECT g, '$fac', 'g' FROM generate_series(1, 3) g});
ok(wait_until($node, qq{SELECT is_active FROM globalsync.targets WHERE target_id = '$tid{hgone}'}, 'f', 30),
	'410: the target is set inactive');
ok( wait_until($node, qq{SELECT count(*) FROM globalsync.sync_history WHERE target_id = '$tid{hgone}' AND status = 'failed'
                           AND error_message LIKE '%410%'}, '1', 10),
	'410: its run failed (sync_history), with the status in the error') or diag("sync_history rows of the target:\n" . history('hgone'));
like(sql($node, qq{SELECT last_error FROM globalsync.target_health WHERE target_id = '$tid{hgone}'}), qr/410/,
	'410: target_health shows the error');
usleep(500_000);
is(scalar(@{ standin_requests($rcv, '/gone') }), 1, '410: one request, not retried');
is( sql($node, qq{SELECT pending_events || ' ' || dead_letters FROM globalsync.target_health WHERE target_id = '$tid{hgone}'}),
	'3 0', '410: its 3 events stay pending (no dead letter)');
standin_control($rcv, { path => '/gone', mode => 'ok' });
sql($node, qq{SELECT globalsync.alter_target('$tid{hgone}', is_active => true)});
ok(pending_is_zero($node, $tid{hgone}, 30), '410: active again, the target delivers its pending events');
check_http('410 then active again', $rcv, '/gone', 'hgone');

# --------------------------------------------------------------------
# 7. gzip
# --------------------------------------------------------------------
sql($node, qq{INSERT INTO hgz SELECT g, '$fac', repeat('z', 200) || g FROM generate_series(1, 60) g});
ok(pending_is_zero($node, $tid{hgz}, 30), 'gzip: everything delivered');
my $rg = check_http('gzip', $rcv, '/gz', 'hgz', signed => 1);
my (@not_gz, @sig_here);
for my $q (@{ $rg->{reqs} })
{
	push @not_gz, "seq $q->{seq}: " . ($q->{headers}{'content-encoding'} // 'no Content-Encoding')
	  if !$q->{gzip} || defined $q->{gunzip_error} || !defined $q->{raw_b64};
	next unless defined $q->{raw_b64};
	my $raw = decode_base64($q->{raw_b64});
	my $pre = "$q->{webhook_id}.$q->{webhook_timestamp}.";
	my $over_raw = 'v1,' . encode_base64(hmac_sha256($pre . $raw, $key_bytes), '');
	my $over_plain = 'v1,' . encode_base64(hmac_sha256($pre . $q->{body}, $key_bytes), '');
	my $hdr = $q->{headers}{'webhook-signature'} // '';
	push @sig_here, "seq $q->{seq}: signature $hdr, over the gzipped body $over_raw, over the plain one $over_plain"
	  unless $hdr eq $over_raw && $hdr ne $over_plain && length($raw) < length($q->{body});
}
is(scalar(@not_gz), 0, 'gzip: every request has Content-Encoding gzip and a gzip body') or diag(join("\n", @not_gz));
is(scalar(@sig_here), 0, 'gzip: the signature covers the (smaller) gzipped body as sent, not the plain one')
  or diag(join("\n", @sig_here[0 .. min9($#sig_here)]));

# --------------------------------------------------------------------
# 8. TLS
# --------------------------------------------------------------------
sql($node, qq{INSERT INTO htls SELECT g, '$fac', 't' FROM generate_series(1, 20) g;
INSERT INTO htlsbad SELECT g, '$fac', 't' FROM generate_series(1, 20) g;});
ok(pending_is_zero($node, $tid{htls}, 30), 'TLS with ca_file: everything delivered');
check_http('TLS with ca_file', $tls, '/tls', 'htls', signed => 1);
ok( wait_until($node, qq{SELECT count(*) FROM globalsync.dead_letters WHERE target_id = '$tid{htlsbad}' AND status = 'dead'}, '1', 30),
	'TLS without ca_file: the batch ends in dead_letters');
my ($tb_attempts, $tb_err) = split /\|/,
  sql($node, qq{SELECT attempts, error FROM globalsync.dead_letters WHERE target_id = '$tid{htlsbad}'});
is($tb_attempts, '4', 'TLS without ca_file: after max_attempts (4) attempts');
like($tb_err, qr/TLS verification .*failed/, 'TLS without ca_file: the error says TLS verification failed');
like(sql($node, qq{SELECT last_error FROM globalsync.target_health WHERE target_id = '$tid{htlsbad}'}),
	qr/TLS verification .*failed/, 'TLS without ca_file: target_health shows that error');
is(scalar(@{ standin_requests($tls, '/tlsbad') }), 0, 'TLS without ca_file: no request reached the receiver (no insecure fallback)');
cmp_ok(scalar(@{ standin_records($tls, 'tls_error') }), '>=', 4, 'TLS without ca_file: the receiver saw the handshakes fail');

# --------------------------------------------------------------------
# 9. the secret is nowhere
# --------------------------------------------------------------------
my %dump;
for my $v (qw(sync_history target_health sync_progress targets dead_letters lag_stats dashboard_overview sync_log))
{
	$dump{$v} = sql($node, qq{SELECT coalesce(string_agg(x::text, E'\n'), '') FROM globalsync.$v x});
}
$dump{'sync_progress samples'} = $progress_samples;
$dump{'health()'} = sql($node, q{SELECT globalsync.health()::text});
cmp_ok(length($dump{targets}), '>', 0, 'the targets table was read');
for my $v (sort keys %dump)
{
	unlike($dump{$v}, qr/\Q$secret_b64\E/, "the secret is not in $v");
}
my $notes = $listen->query('SELECT 1');
$listen->quit;
my @payloads = $notes =~ /Asynchronous notification "globalsync_progress" with payload "(.*)" received/g;
cmp_ok(scalar(@payloads), '>', 10, 'NOTIFY globalsync_progress payloads were received (' . scalar(@payloads) . ')');
ok(!grep({ index($_, $secret_b64) >= 0 } @payloads), 'the secret is in no NOTIFY payload');

# --------------------------------------------------------------------
# 10. kill -9 of the worker while it delivers to a slow receiver
# --------------------------------------------------------------------
standin_control($rcv, { path => '/slow', mode => 'slow', slow_ms => 300 });
sql($node, qq{DO \$\$ BEGIN
    FOR k IN 0..9 LOOP
        INSERT INTO hslow SELECT k * 20 + g, '$fac', 's' FROM generate_series(1, 20) g;
        COMMIT;
    END LOOP;
    UPDATE hslow SET v = 'u' WHERE id % 3 = 0;
END \$\$;});
ok(wait_requests($rcv, '/slow', 3, 30), 'slow: deliveries are under way');
my $pid = crash_worker($node, 'in the middle of a slow delivery');
ok( wait_until($node, qq{SELECT coalesce((globalsync.health()->>'worker_pid')::int, 0) NOT IN (0, $pid)}, 't', 30),
	'a new worker runs');
ok(pending_is_zero($node, $tid{hslow}, 60), 'slow: everything delivered after the crash');
standin_control($rcv, { path => '/slow', mode => 'ok' });
my $rs = check_http('kill -9 during slow deliveries', $rcv, '/slow', 'hslow');
my $resent = grep { @{ $rs->{by_id}{$_} } > 1 } keys %{ $rs->{by_id} };
note("slow: $resent batch ids were sent more than once");

# --------------------------------------------------------------------
# 11. the server log, the receivers' exit
# --------------------------------------------------------------------
my $log = slurp_file($node->logfile);
unlike($log, qr/\Q$secret_b64\E/, 'the secret is not in the server log');
unlike($log, qr/\Q$pw\E/, 'the URL password is not in the server log');
for my $k (grep { $_ ne 'empty' } sort keys %bad_secret)
{
	unlike($log, qr/\Q@{[substr($bad_secret{$k}, 6)]}\E/, "the refused secret ($k) is not in the server log");
}
unlike($log, qr/(PANIC|TRAP)/, 'no PANIC or assertion failure in the server log');

$node->stop;
for my $r (@receivers)
{
	stop_standin($r, "receiver $r->{name}");
	my $stop = standin_records($r, 'stop');
	is(scalar(@$stop), 1, "receiver $r->{name} stopped cleanly");
	my $err = standin_stderr($r);
	is($err, '', "receiver $r->{name} wrote nothing to stderr") or diag($err);
}
done_testing();
