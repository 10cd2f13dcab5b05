
# 010_s3_target.pl: the s3 target against two peers on loopback:
#
#  - s3rver (npm, test/node/node_modules/s3rver): a real S3 API, objects
#    listed and read back through the S3 API with python3-botocore;
#  - test/lib/s3_sigv4_receiver.py: an S3 PutObject stand-in that checks
#    every request's SigV4 signature against botocore's (the key id, secret
#    and session token given to it), x-amz-content-sha256 against the body,
#    Content-MD5 and x-amz-date, and answers as the test tells it.
#
# The server runs with timezone America/New_York, so captured_at carries a
# -04:00/-05:00 offset and the IST date of a key is not the local one.
#
#  1. option errors at add_target/alter_target (22023, 42501 for a virtual
#     host that allowed_hosts does not list), set_target_secret errors
#     (22023) that do not echo the secret;
#  2. s3rver: a realtime ndjson target with a prefix (first without
#     credentials: retried, "no credentials", no dead letter), a manual
#     csv target, a csv+gzip target with a full sync; keys (prefix, table
#     as it is, IST date of each event, batch id, extension), a table
#     whose name needs percent-encoding, contents (every logged event
#     exactly once, csv fields equal to the change log's values, the full
#     sync's snapshot equal to the table), events moved across an IST
#     midnight and a year end land under their IST dates;
#  3. the SigV4 receiver: uploads verify (session token, a > 1 MB object,
#     virtual-hosted addressing through bucket.localhost, csv+gzip); the
#     receiver rejects a wrong payload hash, a stale date and a wrong
#     secret sent by a botocore client; a target with a wrong secret gets
#     403 SignatureDoesNotMatch, keeps retrying with the error in
#     sync_progress/target_health/sync_log, dead-letters nothing, and
#     after set_target_secret() with the right one everything arrives once;
#  4. 400 InvalidArgument for bodies holding a marker: exactly the marked
#     event is a dead letter; 500 and 503 are retried; a wrong ETag is
#     retried with "ETag mismatch";
#  5. immediate stop of the server while a PUT is held by the receiver;
#     after the restart the batch is resent to the same key (overwritten),
#     every event is stored exactly once, nothing is lost;
#  6. the secret (key id, secret key, session token) is in no view,
#     table, NOTIFY payload or the server log.
#
# Every wait is bounded: a timeout on each psql call, a deadline on each
# poll, lifetimes on the peers.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use IPC::Run;
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64 qw(decode_base64);
use Time::HiRes qw(usleep time);
use Time::Local qw(timegm);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use GsSyncTest;

my $J = JSON::PP->new->canonical(1);
my $HERE = dirname(abs_path(__FILE__));
my $RECEIVER = "$HERE/../lib/s3_sigv4_receiver.py";
my $S3RVER = "$HERE/../node/node_modules/s3rver/bin/s3rver.js";
my $PYTHON = '/usr/bin/python3';
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $node;

plan skip_all => "s3rver is not installed (npm install in test/node)" unless -f $S3RVER;
plan skip_all => "python3-botocore is missing"
  unless system($PYTHON, '-c', 'import botocore') == 0;

# --------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------
sub qjson
{
	my $s = $J->encode($_[0]);
	utf8::downgrade($s);    # bytes (UTF-8), as psql is to get them
	$s =~ s/'/''/g;
	return $s;
}

# the IST date (YYYY/MM/DD) of an ISO 8601 time with an offset, computed
# here independently of the driver
sub ist_date
{
	my ($s) = @_;
	my ($y, $mo, $d, $h, $mi, $se, $sign, $oh, $om) =
	  $s =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:([+-])(\d\d)(?::?(\d\d))?|Z)$/
	  or return "bad time $s";
	my $t = timegm($se, $mi, $h, $d, $mo - 1, $y);
	$t -= ($sign eq '-' ? -1 : 1) * ($oh * 3600 + ($om // 0) * 60) if defined $sign;
	my @g = gmtime($t + 5 * 3600 + 1800);
	return sprintf('%04d/%02d/%02d', $g[5] + 1900, $g[4] + 1, $g[3]);
}

# RFC 4180 (CRLF rows): list of rows (arrayrefs)
sub parse_csv
{
	my ($text) = @_;
	my (@rows, @row, $f);
	my $i = 0;
	my $n = length $text;
	my $bad = 0;
	while ($i < $n)
	{
		if (substr($text, $i, 1) eq '"')
		{
			$f = '';
			$i++;
			while (1)
			{
				my $j = index($text, '"', $i);
				if ($j < 0) { $bad = 1; $i = $n; last }
				$f .= substr($text, $i, $j - $i);
				if (substr($text, $j + 1, 1) eq '"') { $f .= '"'; $i = $j + 2; next }
				$i = $j + 1;
				last;
			}
		}
		else
		{
			my $rest = substr($text, $i);
			$rest =~ /^([^,\r\n"]*)/;
			$f = $1;
			$i += length $f;
		}
		push @row, $f;
		my $c = substr($text, $i, 1);
		if ($c eq ',') { $i++; next }
		if (substr($text, $i, 2) eq "\r\n") { $i += 2; push @rows, [@row]; @row = (); next }
		$bad = 1;
		last;
	}
	return $bad ? undef : \@rows;
}

# events of one object: a list of hashes.  ndjson: the event lines; csv:
# {event_id, op, captured_at, facility_id, batch_id, cols => {...},
# header => [...]}.  undef if the object does not parse.
sub object_events
{
	my ($key, $raw) = @_;
	my $body = $raw;
	if ($key =~ /\.gz$/)
	{
		my $out;
		gunzip(\$raw => \$out) or return undef;
		$body = $out;
	}
	my @ev;
	if ($key =~ /\.ndjson(\.gz)?$/)
	{
		return undef unless $body =~ /\n\z/;
		for my $l (split /\n/, $body)
		{
			my $e = eval { $J->decode($l) } or return undef;
			push @ev, $e;
		}
		return \@ev;
	}
	my $rows = parse_csv($body) or return undef;
	my $hdr = shift @$rows;
	return undef unless $hdr && join(',', @$hdr[0 .. 4]) eq 'event_id,op,captured_at,facility_id,batch_id';
	for my $r (@$rows)
	{
		return undef unless @$r == @$hdr;
		my %e;
		@e{qw(event_id op captured_at facility_id batch_id)} = @$r[0 .. 4];
		$e{cols} = { map { $hdr->[$_] => $r->[$_] } 5 .. $#$hdr };
		$e{header} = $hdr;
		push @ev, \%e;
	}
	return \@ev;
}

# check_objects(label, {key => raw body}, %o): prefix, ext (ndjson|csv),
# gzip, tables => {table => [logged event ids]}, snapshot (bool: R rows
# allowed). Returns {event_id => event} of the incremental events.
sub check_objects
{
	my ($label, $objs, %o) = @_;
	my $ext = $o{ext} . ($o{gzip} ? '.gz' : '');
	my (@bad_key, @bad_parse, @bad_event, %seen, @dups, %snap_seen);
	for my $key (sort keys %$objs)
	{
		my ($table, $date, $batch) =
		  $key =~ m{^\Q$o{prefix}\E(.+)/(\d{4}/\d\d/\d\d)/(TGT_[A-Z0-9]{8}-[A-Z0-9_-]+)\.\Q$ext\E$};
		if (!defined $batch || !exists $o{tables}{$table})
		{
			push @bad_key, $key;
			next;
		}
		my $ev = object_events($key, $objs->{$key});
		if (!$ev || !@$ev)
		{
			push @bad_parse, $key;
			next;
		}
		for my $e (@$ev)
		{
			my $why;
			$why = "batch_id $e->{batch_id}" if ($e->{batch_id} // '') ne $batch;
			$why = "table $e->{table}" if $o{ext} eq 'ndjson' && ($e->{table} // '') ne $table;
			$why = "IST date of $e->{captured_at} is " . ist_date($e->{captured_at})
			  if ist_date($e->{captured_at} // '') ne $date;
			if ($why)
			{
				push @bad_event, "$key: $why";
				next;
			}
			if (($e->{op} // '') eq 'R')
			{
				push @bad_event, "$key: a snapshot row" unless $o{snapshot};
				my $pk = $o{ext} eq 'csv' ? $e->{cols}{id} : $e->{pk}{id};
				$snap_seen{"$table $pk"}++;
				next;
			}
			push @dups, $e->{event_id} if exists $seen{ $e->{event_id} };
			$seen{ $e->{event_id} } = { %$e, table => $table, key => $key };
		}
	}
	is_deeply(\@bad_key, [], "$label: every key is <prefix><table>/YYYY/MM/DD/<batch id>.$ext");
	is_deeply(\@bad_parse, [], "$label: every object parses as $ext");
	is_deeply([ @bad_event[0 .. ($#bad_event < 9 ? $#bad_event : 9)] ], [],
		"$label: every event is in the object of its table, IST date and batch");
	is_deeply(\@dups, [], "$label: no event is stored twice");
	for my $t (sort keys %{ $o{tables} })
	{
		my @want = @{ $o{tables}{$t} };
		my @got = sort { $a <=> $b } map { $_->{event_id} } grep { $_->{table} eq $t } values %seen;
		is_deeply(\@got, \@want, "$label: $t: the " . scalar(@want) . " logged events are stored, nothing else");
	}
	return (\%seen, \%snap_seen);
}

# s3rver through the S3 API (botocore): {key => body} under a prefix
my $S3LIST = <<'PY';
import base64, json, sys
import botocore.session
from botocore.config import Config
url, bucket, prefix = sys.argv[1:4]
c = botocore.session.get_session().create_client(
    "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="S3RVER",
    aws_secret_access_key="S3RVER", config=Config(s3={"addressing_style": "path"}))
out = {}
token = None
while True:
    kw = {"Bucket": bucket, "Prefix": prefix}
    if token:
        kw["ContinuationToken"] = token
    r = c.list_objects_v2(**kw)
    for o in r.get("Contents", []):
        g = c.get_object(Bucket=bucket, Key=o["Key"])
        out[o["Key"]] = {"b64": base64.b64encode(g["Body"].read()).decode(),
                         "content_type": g.get("ContentType"), "etag": g.get("ETag")}
    if not r.get("IsTruncated"):
        break
    token = r["NextContinuationToken"]
print(json.dumps(out))
PY

sub s3_list
{
	my ($url, $bucket, $prefix) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $PYTHON, '-c', $S3LIST, $url, $bucket, $prefix ], '>', \$out, '2>', \$err,
		IPC::Run::timeout(60))
	  or die "listing the bucket failed: $err";
	my $l = decode_json($out);
	my (%bodies, %meta);
	for my $k (keys %$l)
	{
		utf8::encode(my $kb = $k);    # bytes, like the rest
		$bodies{$kb} = decode_base64($l->{$k}{b64});
		$meta{$kb} = $l->{$k};
	}
	return (\%bodies, \%meta);
}

# the receiver's stored objects under a key prefix: {key => body}
sub stored_objects
{
	my ($r, $prefix) = @_;
	my %o;
	opendir(my $dh, $r->{store}) or return {};
	for my $f (readdir $dh)
	{
		next if $f =~ /^\./;
		(my $key = $f) =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge;
		next unless index($key, $prefix) == 0;
		$o{$key} = slurp_file("$r->{store}/$f");
	}
	closedir $dh;
	return \%o;
}

sub receiver_requests
{
	my ($r) = @_;
	my $reqs = standin_records($r, 'request');
	utf8::encode($_->{key}) for grep { defined $_->{key} } @$reqs;    # bytes, like the rest
	return $reqs;
}

sub logged
{
	my ($table) = @_;
	return [ split /\n/, sql($node, qq{SELECT event_id FROM globalsync.change_log WHERE table_name = '$table' ORDER BY event_id}) ];
}

# --------------------------------------------------------------------
# the server and the peers
# --------------------------------------------------------------------
$node = gs_node('s3_target', "restart_after_crash = on\ntimezone = 'America/New_York'\n");
reload_conf($node, retry_settings(max_attempts => 60));

# s3rver: a bucket, credentials S3RVER/S3RVER, a free port
my $s3dir = "$tmp/s3rver";
mkdir $s3dir or die;
my ($s3out, $s3err) = ('', '');
my $s3h = IPC::Run::start([ 'node', $S3RVER, '-d', $s3dir, '-a', '127.0.0.1', '-p', '0', '--silent',
		'--configure-bucket', 'gs-bucket' ],
	'<', \undef, '>', \$s3out, '2>', \$s3err, IPC::Run::timeout(600));
my $s3port;
for (my $i = 0; $i < 150 && !$s3port; $i++)
{
	$s3h->pump_nb;
	($s3port) = $s3out =~ /listening on [^:\s]+:(\d+)/;
	usleep(100_000) unless $s3port;
}
ok($s3port, "s3rver listens on 127.0.0.1:" . ($s3port // '?')) or BAIL_OUT("s3rver did not start: $s3err");
my $s3url = "http://127.0.0.1:$s3port";

# the SigV4 receiver: its own credentials, with a session token
my $KEY_ID = 'AKIAGSTEST' . join('', map { ('A' .. 'Z', 0 .. 9)[ int(rand(36)) ] } 1 .. 10);
my $SECRET = join('', map { ('a' .. 'z', 'A' .. 'Z', 0 .. 9, '/', '+')[ int(rand(64)) ] } 1 .. 40);
my $TOKEN = 'IQoJtoken' . join('', map { ('a' .. 'z', 0 .. 9)[ int(rand(36)) ] } 1 .. 60);
my $store = "$tmp/rcv-store";
my $rcv = start_standin(
	'rcv', 's3_sigv4_receiver.py',
	command => ['serve'],
	args => [
		'--store', $store, '--bucket', 'gs-recv', '--access-key-id', $KEY_ID,
		'--secret-access-key', $SECRET, '--session-token', $TOKEN, '--region', 'ap-south-1' ]);
$rcv->{store} = $store;
ok($rcv->{port} =~ /^\d+$/, "the SigV4 receiver listens on 127.0.0.1:$rcv->{port}")
  or BAIL_OUT('the receiver did not start: ' . standin_stderr($rcv));

# secrets go through files the server reads: no statement holds them
sub secret_file
{
	my ($name, $obj) = @_;
	my $f = "$tmp/secret_$name";
	PostgreSQL::Test::Utils::append_to_file($f, ref $obj ? encode_json($obj) : $obj);
	return $f;
}
my $good = secret_file('good', { access_key_id => $KEY_ID, secret_access_key => $SECRET, session_token => $TOKEN });
my $s3rver_secret = secret_file('s3rver', { access_key_id => 'S3RVER', secret_access_key => 'S3RVER' });
my $WRONG = 'wrong' . $SECRET;
my $wrong = secret_file('wrong', { access_key_id => $KEY_ID, secret_access_key => $WRONG, session_token => $TOKEN });

sql($node, q{
CREATE EXTENSION globalsync;
SELECT globalsync.register_consumer('test_hold');
CREATE TABLE pat (id int PRIMARY KEY, facility_id text, name text, score numeric, active boolean, meta jsonb, note text);
CREATE TABLE "Pat Ünï" (id int PRIMARY KEY, facility_id text, v text);
CREATE TABLE dpat (id int PRIMARY KEY, facility_id text, v text);
CREATE TABLE rpat (id int PRIMARY KEY, facility_id text, v text);
CREATE TABLE "rx Ü" (id int PRIMARY KEY, facility_id text, v text);
CREATE TABLE vpat (id int PRIMARY KEY, facility_id text, v text);
CREATE TABLE wpat (id int PRIMARY KEY, facility_id text, v text);
CREATE TABLE ppat (id int PRIMARY KEY, facility_id text, v text);
CREATE TABLE cpat (id int PRIMARY KEY, facility_id text, v text);
SELECT globalsync.track(t) FROM unnest(ARRAY['pat', '"Pat Ünï"', 'dpat', 'rpat', '"rx Ü"', 'vpat', 'wpat', 'ppat', 'cpat']::regclass[]) t;
});
my $fac1 = sql($node, q{SELECT globalsync.add_facility('S3 Clinic Pune', 'Asia/Kolkata')});
my $fac2 = sql($node, q{SELECT globalsync.add_facility('S3 Clinic Boston', 'America/New_York')});
my %tname = map { $_ => sql($node, qq{SELECT table_name::text FROM globalsync.tracked_tables WHERE relation_name = '$_'}) }
  ('pat', 'Pat Ünï', 'dpat', 'rpat', 'rx Ü', 'vpat', 'wpat', 'ppat', 'cpat');
# the events' "table" (change_log.table_name)
my %evt = map { $_ => sql($node, qq{SELECT format('%I.%I', schema_name, relation_name) FROM globalsync.tracked_tables WHERE relation_name = '$_'}) }
  keys %tname;
note("tables option names: " . join(', ', map { "$_ => $tname{$_}" } sort keys %tname));

sub add_s3
{
	my ($name, $endpoint, $opt) = @_;
	return sql($node, "SELECT globalsync.add_target('$name', 's3', '$endpoint', '" . qjson($opt) . "')");
}

my $listen = $node->background_psql('postgres', timeout => 300, on_error_stop => 0);
$listen->query_safe('LISTEN globalsync_progress');

# --------------------------------------------------------------------
# 1. validation
# --------------------------------------------------------------------
my ($st, $err);
my %bad_options = (
	'bad bucket' => { bucket => 'Bad_Bucket' },
	'short bucket' => { bucket => 'ab' },
	'bucket with ..' => { bucket => 'a..b' },
	'no bucket' => { region => 'eu-west-1' },
	'unknown option' => { bucket => 'gs-bucket', colour => 'blue' },
	'bad addressing' => { bucket => 'gs-bucket', addressing => 'sideways' },
	'bad format' => { bucket => 'gs-bucket', format => 'xml' },
	'bad region' => { bucket => 'gs-bucket', region => 'EU WEST' },
	'prefix with /' => { bucket => 'gs-bucket', prefix => '/abs' },
	'prefix with ..' => { bucket => 'gs-bucket', prefix => 'a/../b' },
	'prefix with //' => { bucket => 'gs-bucket', prefix => 'a//b' },
	'gzip not bool' => { bucket => 'gs-bucket', gzip => 'yes' },
	'virtual with an IP host' => { bucket => 'gs-bucket' },
	'timeout_ms' => { bucket => 'gs-bucket', addressing => 'path', timeout_ms => 5 });
for my $k (sort keys %bad_options)
{
	($st, $err) = sql_error($node, "SELECT globalsync.add_target('v', 's3', '$s3url', '" . qjson($bad_options{$k}) . "')");
	is($st, '22023', "add_target: $k is refused with 22023") or diag($err);
}
like((sql_error($node, "SELECT globalsync.add_target('v', 's3', '$s3url', '" . qjson($bad_options{'virtual with an IP host'}) . "')"))[1],
	qr/HINT:.*addressing.*path/, 'the virtual-with-IP error hints at addressing "path"');
($st, $err) = sql_error($node, q{SELECT globalsync.add_target('v', 's3', 'https://s3.eu-west-1.amazonaws.com', '{"bucket": "my.dotted.bucket"}')});
is($st, '22023', 'virtual addressing of a dotted bucket over https is refused') or diag($err);
like($err, qr/HINT:.*path/, '... with a hint to use addressing "path"');
($st, $err) = sql_error($node, q{SELECT globalsync.add_target('v', 's3', 'https://s3.eu-west-1.amazonaws.com/my-bucket', '{"bucket": "my-bucket"}')});
is($st, '22023', 'an endpoint with a path is refused') or diag($err);
($st, $err) = sql_error($node, q{SET globalsync.allowed_hosts = 's3.eu-west-1.amazonaws.com';
SELECT globalsync.add_target('v', 's3', 'https://s3.eu-west-1.amazonaws.com', '{"bucket": "my-bucket"}')});
is($st, '42501', 'virtual addressing: a bucket host not in allowed_hosts is refused with 42501') or diag($err);
my ($ok, $out);
($ok, $out, $err) = try_sql($node, q{SET globalsync.allowed_hosts = '.s3.eu-west-1.amazonaws.com, s3.eu-west-1.amazonaws.com';
SELECT globalsync.remove_target(globalsync.add_target('v', 's3', 'https://s3.eu-west-1.amazonaws.com/', '{"bucket": "my-bucket", "region": "eu-west-1", "prefix": "x/y", "format": "csv", "gzip": true, "schedule": "manual", "timeout_ms": 5000, "connect_timeout_ms": 1000}'))});
ok($ok, 'a complete valid set of options is accepted (and allowed_hosts ".domain" covers the bucket host)') or diag($err);
is(sql($node, q{SELECT count(*) FROM globalsync.targets WHERE name = 'v'}), '0', 'no refused target was created');

my $tv = add_s3('alter me', $s3url, { bucket => 'gs-bucket', addressing => 'path', schedule => 'manual' });
for my $bad ({ bucket => 'UPPER' }, { bucket => 'gs-bucket', addressing => 'path', nope => 1 },
	{ bucket => 'gs-bucket', addressing => 'path', format => 'parquet' })
{
	($st, $err) = sql_error($node, "SELECT globalsync.alter_target('$tv', options => '" . qjson($bad) . "')");
	is($st, '22023', 'alter_target: ' . encode_json($bad) . ' is refused with 22023') or diag($err);
}
my %bad_secret = (
	'not JSON' => "{access_key_id: $SECRET",
	'not an object' => "[\"$SECRET\"]",
	'no secret_access_key' => encode_json({ access_key_id => $KEY_ID, session_token => $TOKEN }),
	'no access_key_id' => encode_json({ secret_access_key => $SECRET }),
	'bad key id' => encode_json({ access_key_id => "$KEY_ID!", secret_access_key => $SECRET }),
	'control character' => encode_json({ access_key_id => $KEY_ID, secret_access_key => "$SECRET\n" }),
	'unknown key' => encode_json({ access_key_id => $KEY_ID, secret_access_key => $SECRET, $SECRET => 1 }));
for my $k (sort keys %bad_secret)
{
	my $f = secret_file("bad $k", $bad_secret{$k});
	($st, $err) = sql_error($node, qq{SELECT globalsync.set_target_secret('$tv', pg_read_file('$f'))});
	is($st, '22023', "set_target_secret: $k is refused with 22023") or diag($err);
	ok(index($err, $SECRET) < 0 && index($err, $KEY_ID) < 0 && index($err, $TOKEN) < 0,
		"... and the error shows neither the secret nor the key id nor the token") or diag($err);
}
is(sql($node, qq{SELECT count(*) FROM globalsync.target_secrets WHERE target_id = '$tv'}), '0', 'no refused secret was stored');
sql($node, qq{SELECT globalsync.remove_target('$tv')});

# --------------------------------------------------------------------
# 2. s3rver
# --------------------------------------------------------------------
my %tid;
$tid{A} = add_s3('s3 realtime', $s3url, { bucket => 'gs-bucket', addressing => 'path', prefix => 'gs/exports',
		tables => [ $tname{pat}, $tname{'Pat Ünï'} ], max_batch_events => 25 });
$tid{B} = add_s3('s3 manual csv', "$s3url/", { bucket => 'gs-bucket', addressing => 'path', prefix => 'csv/',
		format => 'csv', schedule => 'manual', tables => [ $tname{pat}, $tname{dpat} ] });
$tid{C} = add_s3('s3 full csv gz', $s3url, { bucket => 'gs-bucket', addressing => 'path', prefix => 'full',
		format => 'csv', gzip => JSON::PP::true, schedule => 'manual', tables => [ $tname{pat} ] });
like($tid{$_}, qr/^TGT_[A-Z0-9]{8}$/, "s3 target $_ added") for qw(A B C);

# A has no credentials yet: retried, never dead-lettered
sql($node, qq{INSERT INTO pat VALUES (1, '$fac1', 'First', 1.50, true, '{"a": [1, 2]}', 'plain')});
ok( wait_until($node, qq{SELECT count(*) > 0 FROM globalsync.sync_log WHERE target_id = '$tid{A}'
                           AND error_message LIKE '%no credentials: set them with globalsync.set_target_secret()%'}, 't', 20),
	'without credentials the send fails with "no credentials" (sync_log)');
like(sql($node, qq{SELECT last_error FROM globalsync.target_health WHERE target_id = '$tid{A}'}), qr/no credentials/,
	'... target_health shows it');
is(sql($node, qq{SELECT count(*) FROM globalsync.dead_letters WHERE target_id = '$tid{A}'}), '0', '... and nothing is dead-lettered');
sql($node, qq{SELECT globalsync.set_target_secret(target_id, pg_read_file('$s3rver_secret')) FROM globalsync.targets WHERE target_id IN ('$tid{A}', '$tid{B}', '$tid{C}')});

# changes across both facilities; values that csv must quote
sql($node, qq{DO \$\$ BEGIN
    INSERT INTO pat SELECT g, CASE WHEN g % 2 = 0 THEN '$fac1' ELSE '$fac2' END, 'Name ' || g, g * 1.25,
                           g % 3 = 0, jsonb_build_object('k', g, 'tags', jsonb_build_array('x', g)),
                           CASE WHEN g % 5 = 0 THEN 'said "hi", then' || E'\\r\\n' || 'left' ELSE 'n' || g END
      FROM generate_series(2, 80) g;
    COMMIT;
    UPDATE pat SET name = 'Renamed, ' || id, score = NULL WHERE id % 4 = 0;
    COMMIT;
    DELETE FROM pat WHERE id % 10 = 7;
    COMMIT;
    INSERT INTO "Pat Ünï" SELECT g, '$fac1', 'ü' || g FROM generate_series(1, 12) g;
    COMMIT;
    DELETE FROM "Pat Ünï" WHERE id = 3;
END \$\$;});
ok(pending_is_zero($node, $tid{A}, 60), 'realtime ndjson target: everything delivered');

my ($objA) = s3_list($s3url, 'gs-bucket', 'gs/exports/');
cmp_ok(scalar(keys %$objA), '>', 1, 'realtime: objects are in the bucket (' . scalar(keys %$objA) . ')');
my ($seenA) = check_objects('s3rver realtime ndjson', $objA, prefix => 'gs/exports/', ext => 'ndjson',
	tables => { $evt{pat} => logged($evt{pat}), $evt{'Pat Ünï'} => logged($evt{'Pat Ünï'}) });
ok(scalar(grep { index($_, "gs/exports/$evt{'Pat Ünï'}/") == 0 } keys %$objA) > 0,
	"the table $evt{'Pat Ünï'} (space, non-ASCII) is a key segment as it is (percent-encoded on the wire)");
my %per_table;
$per_table{ $_->{table} }++ for values %$seenA;
is(scalar(keys %per_table), 2, 'realtime: objects of both tables');
is( sql($node, qq{SELECT count(*) FILTER (WHERE status NOT IN ('completed', 'running')) FROM globalsync.sync_history
                    WHERE target_id = '$tid{A}' AND record_count > 0}), '0', 'realtime: no run that delivered failed');

# the manual csv target: nothing until start_sync; events moved across IST
# midnight and a year end first (superuser edits of the change log)
my ($objB) = s3_list($s3url, 'gs-bucket', 'csv/');
is(scalar(keys %$objB), 0, 'manual csv target: nothing before start_sync');
sql($node, qq{INSERT INTO dpat SELECT g, '$fac1', 'd' || g FROM generate_series(1, 6) g});
sql($node, q{
UPDATE globalsync.change_log SET captured_at = CASE row_data->>'id'
    WHEN '1' THEN '2024-03-31 18:29:59.999999+00' WHEN '2' THEN '2024-03-31 18:30:00+00'
    WHEN '3' THEN '2024-03-31 18:29:00+00' WHEN '4' THEN '2024-12-31 18:29:59+00'
    WHEN '5' THEN '2024-12-31 20:00:00+00' ELSE '2025-01-01 05:00:00+00' END::timestamptz
 WHERE table_name = 'public.dpat'});
my $sid = sql($node, qq{SELECT globalsync.start_sync('$tid{B}')});
is(sql($node, qq{SELECT globalsync.wait_sync('$sid', '60 s')}), 'completed', 'manual csv sync completed');
($objB) = s3_list($s3url, 'gs-bucket', 'csv/');
my ($seenB) = check_objects('s3rver manual csv', $objB, prefix => 'csv/', ext => 'csv',
	tables => { $evt{pat} => logged($evt{pat}), $evt{dpat} => logged($evt{dpat}) });
my %ddates;
for my $e (grep { $_->{table} eq $evt{dpat} } values %$seenB)
{
	my ($d) = $e->{key} =~ m{/(\d{4}/\d\d/\d\d)/};
	$ddates{ $e->{cols}{id} } = $d;
}
is_deeply(\%ddates, { 1 => '2024/03/31', 2 => '2024/04/01', 3 => '2024/03/31', 4 => '2024/12/31', 5 => '2025/01/01', 6 => '2025/01/01' },
	'IST dates: 18:29:59.999999Z stays on the day, 18:30Z is the next day, 20:00Z on Dec 31 is next year');
my @dkeys = grep { index($_, "csv/$evt{dpat}/") == 0 } keys %$objB;
is(scalar(@dkeys), 4, 'the dpat events of one batch are in 4 objects, one per IST date');
# csv values against the change log
my %cl = map { my ($id, $j) = split /\t/, $_, 2; $id => $J->decode($j) } split /\n/, sql($node, qq{
SELECT event_id || E'\\t' || jsonb_build_object('op', op::text, 'facility_id', facility_id,
       'vals', (SELECT jsonb_object_agg(k, v) FROM jsonb_each_text(coalesce(c.row_data, c.pk)) x(k, v)))::text
  FROM globalsync.change_log c WHERE table_name IN ('$evt{pat}', '$evt{dpat}')});
my @csv_bad;
for my $id (sort { $a <=> $b } keys %$seenB)
{
	my $e = $seenB->{$id};
	my $c = $cl{$id};
	push @csv_bad, "$id op" if $e->{op} ne $c->{op};
	push @csv_bad, "$id facility" if $e->{facility_id} ne ($c->{facility_id} // '');
	for my $col (keys %{ $c->{vals} })
	{
		# the text of the value as jsonb_each_text gives it (NULL: empty)
		my $want = $c->{vals}{$col} // '';
		push @csv_bad, "$id $col: '$e->{cols}{$col}' not '$want'" if ($e->{cols}{$col} // '<missing>') ne $want;
	}
}
is_deeply([ @csv_bad[0 .. ($#csv_bad < 9 ? $#csv_bad : 9)] ], [], 'csv: every field equals the change log value (quoted text with commas, quotes and CRLF, numbers, booleans, JSON, NULL empty)');
my ($first_pat) = sort { $a <=> $b } grep { $seenB->{$_}{table} eq $evt{pat} } keys %$seenB;
my $hdr_pat = $first_pat ? $seenB->{$first_pat}{header} : [];
is(join(',', @$hdr_pat), 'event_id,op,captured_at,facility_id,batch_id,id,meta,name,note,score,active,facility_id',
	'csv: the header row: the five event columns, then the row columns in order of first appearance');
my @csv_keys = grep { /\.csv$/ } keys %$objB;
ok(@csv_keys && !grep({ $objB->{$_} !~ /\r\n\z/ || $objB->{$_} =~ /[^\r]\n(?=(?:[^"]*"[^"]*")*[^"]*\z)/ } @csv_keys),
	'csv: rows end with CRLF (a bare LF only inside a quoted field)');

# the full sync of the csv+gzip target
$sid = sql($node, qq{SELECT globalsync.start_sync('$tid{C}', NULL, 'full')});
is(sql($node, qq{SELECT globalsync.wait_sync('$sid', '60 s')}), 'completed', 'full sync (csv, gzip) completed');
my ($objC, $metaC) = s3_list($s3url, 'gs-bucket', 'full/');
my ($seenC, $snapC) = check_objects('s3rver full csv.gz', $objC, prefix => 'full/', ext => 'csv', gzip => 1, snapshot => 1,
	tables => { $evt{pat} => logged($evt{pat}) });
my @table_ids = split /\n/, sql($node, q{SELECT id FROM pat ORDER BY id});
is_deeply([ sort { $a <=> $b } map { (split / /)[1] } keys %$snapC ], \@table_ids, 'full sync: the snapshot rows are the table\'s rows, each once');
ok(!grep({ $_ ne 1 } values %$snapC), 'full sync: no row twice');
is(join(',', sort { $a cmp $b } keys %{ { map { ($_->{content_type} // '') => 1 } values %$metaC } }), 'application/gzip',
	'gzip objects are stored with Content-Type application/gzip');

# --------------------------------------------------------------------
# 3. the SigV4 receiver
# --------------------------------------------------------------------
# the receiver's checks are real: a client signing with botocore
sub client_put
{
	my (@extra) = @_;
	my ($o, $e) = ('', '');
	IPC::Run::run([ $PYTHON, $RECEIVER, 'put', '--url', "$rcv->{base}/gs-recv/selftest/x.txt", '--access-key-id', $KEY_ID,
			'--region', 'ap-south-1', '--session-token', $TOKEN, @extra ], '>', \$o, '2>', \$e, IPC::Run::timeout(30));
	chomp $o;
	diag($e) if $e;
	return $o;
}
is(client_put('--secret-access-key', $SECRET), '200 -', 'receiver: a correctly signed PUT is accepted');
is(client_put('--secret-access-key', $SECRET, '--bad-sha'), '400 XAmzContentSHA256Mismatch', 'receiver: a wrong payload hash is refused');
is(client_put('--secret-access-key', $SECRET, '--skew-seconds', '1200'), '403 RequestTimeTooSkewed', 'receiver: a date 20 minutes old is refused');
is(client_put('--secret-access-key', $WRONG), '403 SignatureDoesNotMatch', 'receiver: a wrong secret is refused');
is(client_put('--secret-access-key', $SECRET, '--no-token'), '403 InvalidToken', 'receiver: a missing session token is refused');

$tid{R} = add_s3('recv', $rcv->{base}, { bucket => 'gs-recv', addressing => 'path', region => 'ap-south-1', prefix => 'r',
		tables => [ $tname{rpat}, $tname{'rx Ü'} ], max_batch_events => 5000, max_batch_bytes => 16 * 1024 * 1024 });
$tid{V} = add_s3('recv virtual', "http://localhost:$rcv->{port}", { bucket => 'gs-recv', region => 'ap-south-1', prefix => 'v',
		format => 'csv', gzip => JSON::PP::true, tables => [ $tname{vpat} ] });
$tid{W} = add_s3('recv wrong', $rcv->{base}, { bucket => 'gs-recv', addressing => 'path', region => 'ap-south-1', prefix => 'w',
		tables => [ $tname{wpat} ], max_batch_events => 10 });
sql($node, qq{SELECT globalsync.set_target_secret('$tid{$_}', pg_read_file('$good'))}) for qw(R V);
sql($node, qq{SELECT globalsync.set_target_secret('$tid{W}', pg_read_file('$wrong'))});

# one transaction of 1500 rows of ~1 KB: one object above 1 MB
sql($node, qq{INSERT INTO rpat SELECT g, '$fac1', repeat(md5(g::text), 32) FROM generate_series(1, 1500) g});
sql($node, qq{UPDATE rpat SET v = 'small' WHERE id <= 10; DELETE FROM rpat WHERE id = 11;
INSERT INTO "rx Ü" VALUES (1, '$fac2', 'x'), (2, '$fac2', 'y');
INSERT INTO vpat SELECT g, '$fac2', 'v,' || g FROM generate_series(1, 30) g;});
ok(pending_is_zero($node, $tid{R}, 60), 'receiver target: everything delivered');
ok(pending_is_zero($node, $tid{V}, 60), 'receiver virtual-hosted target: everything delivered');
my @reqR = grep { $_->{key} =~ m{^r/} } @{ receiver_requests($rcv) };
my @badR = grep { !($_->{sig_ok} && $_->{sha_ok} && $_->{md5_ok} && $_->{date_ok} && $_->{token_ok}) || $_->{status} != 200 } @reqR;
is(scalar(@badR), 0, 'receiver: every PUT of the target verified (signature, payload hash, Content-MD5, date, session token)')
  or diag($J->encode([ map { { code => $_->{code}, key => $_->{key} } } @badR[0 .. ($#badR < 3 ? $#badR : 3)] ]));
my ($big) = grep { $_->{len} > 1024 * 1024 } @reqR;
ok($big, 'receiver: one object was above 1 MB (' . ($big ? $big->{len} : 0) . ' bytes) and verified');
note('the big PUT ' . ($big && $big->{headers}{expect} ? "carried Expect: $big->{headers}{expect}" : 'had no Expect header'));
is(join(',', sort @{ $reqR[0]{signed_headers} // [] }), 'content-md5,content-type,host,x-amz-content-sha256,x-amz-date,x-amz-security-token',
	'receiver: the signed headers');
is($reqR[0]{headers}{'content-type'}, 'application/x-ndjson', 'receiver: ndjson objects are application/x-ndjson');
my ($wire) = grep { $_->{key} =~ m{^r/\Q$evt{'rx Ü'}\E/} } @reqR;
ok($wire, "receiver: an object of $evt{'rx Ü'} arrived");
(my $enc = $evt{'rx Ü'}) =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord($1))/ge;
like($wire ? $wire->{path} : '', qr{^/gs-recv/r/\Q$enc\E/\d{4}/\d\d/\d\d/}, "receiver: the table segment went on the wire percent-encoded ($enc), and its signature verified");
check_objects('receiver ndjson', stored_objects($rcv, 'r/'), prefix => 'r/', ext => 'ndjson',
	tables => { $evt{rpat} => logged($evt{rpat}), $evt{'rx Ü'} => logged($evt{'rx Ü'}) });
my @reqV = grep { $_->{key} =~ m{^v/} } @{ receiver_requests($rcv) };
ok(@reqV && !grep({ $_->{host} !~ /^gs-recv\.localhost:/ || !$_->{sig_ok} || $_->{status} != 200 } @reqV),
	'virtual-hosted addressing: requests went to gs-recv.localhost with the key as the path, and verified');
is($reqV[0]{headers}{'content-type'}, 'application/gzip', 'csv+gzip objects are application/gzip (no Content-Encoding)');
ok(!grep({ exists $_->{headers}{'content-encoding'} } @reqV), '... and no Content-Encoding header');
check_objects('receiver virtual csv.gz', stored_objects($rcv, 'v/'), prefix => 'v/', ext => 'csv', gzip => 1,
	tables => { $evt{vpat} => logged($evt{vpat}) });

# the wrong secret: 403, retried, nothing dead-lettered; then the right one
sql($node, qq{INSERT INTO wpat SELECT g, '$fac1', 'w' || g FROM generate_series(1, 25) g});
ok( wait_until($node, qq{SELECT count(*) >= 1 FROM globalsync.sync_log WHERE target_id = '$tid{W}'
                           AND error_message LIKE '%403 SignatureDoesNotMatch%'}, 't', 30),
	'wrong secret: sends fail with 403 SignatureDoesNotMatch (sync_log), again and again');
my $prog_w = '';
for (1 .. 40)
{
	$prog_w = sql($node, qq{SELECT coalesce(string_agg(last_error, ' '), '') FROM globalsync.sync_progress WHERE target_id = '$tid{W}'});
	last if $prog_w =~ /SignatureDoesNotMatch/;
	usleep(100_000);
}
like($prog_w, qr/SignatureDoesNotMatch/, 'wrong secret: sync_progress shows the error');
like(sql($node, qq{SELECT last_error FROM globalsync.target_health WHERE target_id = '$tid{W}'}), qr/403 SignatureDoesNotMatch/,
	'wrong secret: target_health shows it');
my @reqW;
for (1 .. 100)
{
	@reqW = grep { $_->{key} =~ m{^w/} } @{ receiver_requests($rcv) };
	last if @reqW >= 3;
	usleep(100_000);
}
ok(@reqW >= 3 && !grep({ $_->{status} != 403 || $_->{sig_ok} } @reqW), 'wrong secret: the receiver refused every PUT (' . scalar(@reqW) . ')');
is(sql($node, qq{SELECT count(*) FROM globalsync.dead_letters WHERE target_id = '$tid{W}'}), '0', 'wrong secret: nothing dead-lettered');
sql($node, qq{SELECT globalsync.set_target_secret('$tid{W}', pg_read_file('$good'))});
ok(pending_is_zero($node, $tid{W}, 30), 'right secret: everything delivered');
check_objects('wrong, then right secret', stored_objects($rcv, 'w/'), prefix => 'w/', ext => 'ndjson',
	tables => { $evt{wpat} => logged($evt{wpat}) });

# --------------------------------------------------------------------
# 4. permanent and transient failures
# --------------------------------------------------------------------
$tid{P} = add_s3('recv poison', $rcv->{base}, { bucket => 'gs-recv', addressing => 'path', region => 'ap-south-1', prefix => 'p',
		tables => [ $tname{ppat} ], max_batch_events => 100 });
sql($node, qq{SELECT globalsync.set_target_secret('$tid{P}', pg_read_file('$good'))});
standin_control($rcv, { mode => 'bad400_if', marker => 'POISON' });
sql($node, qq{INSERT INTO ppat SELECT g, '$fac1', CASE WHEN g = 6 THEN 'POISON-6' ELSE 'fine-' || g END FROM generate_series(1, 9) g});
ok( wait_until($node, qq{SELECT count(*) || ' ' || (SELECT pending_events FROM globalsync.target_health WHERE target_id = '$tid{P}')
                           FROM globalsync.dead_letters WHERE target_id = '$tid{P}'}, '1 0', 30),
	'400 InvalidArgument: one dead letter, nothing pending');
my ($dl_count, $dl_v, $dl_err) = split /\|/, sql($node, qq{
SELECT event_count, events->0->'row'->>'v', error FROM globalsync.dead_letters WHERE target_id = '$tid{P}'});
is("$dl_count $dl_v", '1 POISON-6', 'the dead letter holds exactly the marked event');
like($dl_err, qr/400 InvalidArgument: the object holds the marker POISON/, 'its error has the status, the S3 code and message');
my $poison_id = sql($node, qq{SELECT event_id FROM globalsync.change_log WHERE table_name = '$evt{ppat}' AND row_data->>'v' = 'POISON-6'});
check_objects('400 bisection', stored_objects($rcv, 'p/'), prefix => 'p/', ext => 'ndjson',
	tables => { $evt{ppat} => [ grep { $_ ne $poison_id } @{ logged($evt{ppat}) } ] });

my $nreq = scalar(@{ receiver_requests($rcv) });
standin_control($rcv, { reset => JSON::PP::true, mode => 'fail503', count => 2, then => 'badetag' });
sql($node, qq{INSERT INTO ppat SELECT g, '$fac2', 'again-' || g FROM generate_series(20, 29) g});
ok( wait_until($node, qq{SELECT last_error LIKE '%ETag mismatch: the object may be corrupted%' FROM globalsync.target_health WHERE target_id = '$tid{P}'}, 't', 30),
	'a wrong ETag is retried with "ETag mismatch: the object may be corrupted"');
standin_control($rcv, { mode => 'ok' });
ok(pending_is_zero($node, $tid{P}, 30), '503, 503, bad ETag: then delivered');
my @statuses = map { $_->{status} } @{ receiver_requests($rcv) }[ $nreq .. $nreq + 2 ];
is(join(',', @statuses), '503,503,200', 'the receiver answered 503 twice, then 200 (with the wrong ETag)');
is(sql($node, qq{SELECT count(*) FROM globalsync.dead_letters WHERE target_id = '$tid{P}'}), '1', 'transient failures: no new dead letter');
standin_control($rcv, { mode => 'fail500', count => 1, then => 'ok' });
sql($node, qq{INSERT INTO ppat VALUES (40, '$fac1', 'after 500')});
ok(pending_is_zero($node, $tid{P}, 30), '500 then delivered');
check_objects('transient failures', stored_objects($rcv, 'p/'), prefix => 'p/', ext => 'ndjson',
	tables => { $evt{ppat} => [ grep { $_ ne $poison_id } @{ logged($evt{ppat}) } ] });

# the progress notifications so far (the session ends with the crash below)
my $notes = $listen->query('SELECT 1');
$listen->quit;
my @payloads = $notes =~ /Asynchronous notification "globalsync_progress" with payload "(.*)" received/g;
cmp_ok(scalar(@payloads), '>', 5, 'NOTIFY payloads were received (' . scalar(@payloads) . ')');

# --------------------------------------------------------------------
# 5. immediate stop while a PUT is held by the receiver
# --------------------------------------------------------------------
$tid{K} = add_s3('recv crash', $rcv->{base}, { bucket => 'gs-recv', addressing => 'path', region => 'ap-south-1', prefix => 'k',
		gzip => JSON::PP::true, tables => [ $tname{cpat} ], max_batch_events => 20 });
sql($node, qq{SELECT globalsync.set_target_secret('$tid{K}', pg_read_file('$good'))});
standin_control($rcv, { mode => 'slow', slow_ms => 300 });
sql($node, qq{DO \$\$ BEGIN
    FOR k IN 0..9 LOOP
        INSERT INTO cpat SELECT k * 20 + g, CASE WHEN g % 2 = 0 THEN '$fac1' ELSE '$fac2' END, 'c' FROM generate_series(1, 20) g;
        COMMIT;
    END LOOP;
    UPDATE cpat SET v = 'u' WHERE id % 3 = 0;
END \$\$;});
my $deadline = time() + 30;
my @reqK;
while (time() < $deadline)
{
	@reqK = grep { $_->{key} =~ m{^k/} } @{ receiver_requests($rcv) };
	last if @reqK >= 3;
	usleep(50_000);
}
cmp_ok(scalar(@reqK), '>=', 3, 'crash: deliveries are under way');
# hold the next answer for 5 s, wait for that PUT, stop the server meanwhile
standin_control($rcv, { mode => 'slow', slow_ms => 5000 });
my $n0 = scalar(@reqK);
$deadline = time() + 10;
while (time() < $deadline)
{
	@reqK = grep { $_->{key} =~ m{^k/} } @{ receiver_requests($rcv) };
	last if @reqK > $n0 && ($reqK[-1]{slow_ms} // 0) == 5000;
	usleep(20_000);
}
my $held = $reqK[-1];
$node->stop('immediate');
ok($held && $held->{stored}, "crash: the server was stopped while the receiver held the answer to $held->{key}");
standin_control($rcv, { mode => 'ok' });
$node->start;
ok(pending_is_zero($node, $tid{K}, 60), 'crash: after the restart everything is delivered');
my @after = grep { $_->{key} eq $held->{key} } @{ receiver_requests($rcv) };
cmp_ok(scalar(@after), '>=', 2, 'crash: the unanswered batch was sent again to the same key (overwritten)');
check_objects('crash and resend', stored_objects($rcv, 'k/'), prefix => 'k/', ext => 'ndjson', gzip => 1,
	tables => { $evt{cpat} => logged($evt{cpat}) });

# --------------------------------------------------------------------
# 6. the secret is nowhere
# --------------------------------------------------------------------
my %dump;
for my $v (qw(sync_history target_health sync_progress targets dead_letters lag_stats dashboard_overview sync_log))
{
	$dump{$v} = sql($node, qq{SELECT coalesce(string_agg(x::text, E'\n'), '') FROM globalsync.$v x});
}
$dump{'health()'} = sql($node, q{SELECT globalsync.health()::text});
$dump{'worker_info()'} = sql($node, q{SELECT w::text FROM globalsync.worker_info() w});
$dump{'NOTIFY payloads'} = join("\n", @payloads);
$dump{'server log'} = slurp_file($node->logfile);
like($dump{sync_log}, qr/SignatureDoesNotMatch/, 'sync_log was read (it holds the 403 errors)');
for my $v (sort keys %dump)
{
	ok(index($dump{$v}, $SECRET) < 0 && index($dump{$v}, $WRONG) < 0 && index($dump{$v}, $TOKEN) < 0 && index($dump{$v}, $KEY_ID) < 0,
		"neither the secret, the wrong secret, the session token nor the key id is in $v");
}
unlike($dump{'server log'}, qr/(PANIC|TRAP|server process .* was terminated by signal)/, 'no crash of a server process');

$node->stop;
stop_standin($rcv, 'the receiver');
is(standin_stderr($rcv), '', 'the receiver wrote nothing to stderr');
$s3h->kill_kill(grace => 5);
done_testing();
