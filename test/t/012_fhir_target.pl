
# 012_fhir_target.pl: the fhir target and the FHIR R4 converters, against a
# FHIR server stand-in on loopback (test/lib/fhir_standin.py: transactions
# of conditional updates and deletes applied all or nothing, 412 on several
# matches, conditional references resolved, a bearer token checked), with
# every resource and bundle validated by test/lib/fhir_validate.js (the
# official R4 JSON schema and the npm package fhir).
#
# Settings: max_attempts 4, retry_base_delay 50ms, retry_max_delay 200ms,
# breaker_threshold 3, breaker_cooldown 1s; tick_interval 20ms (gs_node).
# Every target is limited to one facility of its own (option facilities),
# and globalsync.facilities is tracked, so Organizations are sent too.
#
#  1. validation: endpoint, unknown option, identifier systems that are not
#     absolute URIs, timeout_ms, a table that has no FHIR resource (at
#     add_target and alter_target), bad bearer tokens: 22023, and the
#     refused token is not shown;
#  2. the converters' output (Patients in several zones, an Organization,
#     a bundle) is valid for both validators, and the validator rejects an
#     invalid resource (exit 1, errors from both);
#  3. realtime: inserts, updates and deletes of patients and a facility
#     update land as resources (count, identifiers, content equal to
#     to_fhir_patient() but for the resolved reference); every request is
#     a POST of a transaction Bundle with Content-Type application/fhir+json
#     and the bearer token; one resource per identifier;
#  4. 500 twice: retried, delivered, the error kept in sync_history;
#  5. 412 (two Patients at the server match one identifier): bisection
#     isolates that event into a dead letter whose error has the status and
#     the OperationOutcome's diagnostics; the others land;
#  6. an entry failure in a transaction-response: dead letter with the
#     entry's index, status and outcome; the others land;
#  7. no token for a server that wants one: 401 is retried (the whole
#     batch, max_attempts times: a target-wide error), not bisected;
#  8. manual and full sync: nothing before start_sync; a full sync sends
#     the facility and its patients, an incremental one the later changes;
#  9. kill -9 of the worker in the middle of slow deliveries: after the
#     restart every patient is there exactly once; a resent batch created
#     no duplicate;
# 10. every bundle the stand-in received is valid for both validators;
# 11. the token is in none of sync_log, sync_progress (sampled),
#     dead_letters, target_health, targets, sync_history or the server log.
#
# Every wait is bounded: a timeout on each psql call, a deadline on each
# poll, and the stand-in's lifetime.

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
my $VALIDATE = abs_path(dirname(__FILE__) . '/../lib/fhir_validate.js');
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $node;

# --------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------
my $http = HTTP::Tiny->new(timeout => 10);

# the FHIR stand-in, with a bearer token
my $token = 'gsTok-' . join('', map { ('a' .. 'z', 'A' .. 'Z', 0 .. 9)[ int(rand(62)) ] } 1 .. 40);
my $token_file = "$tmp/token";
PostgreSQL::Test::Utils::append_to_file($token_file, $token);

my $fhir = start_standin('fhir', 'fhir_standin.py', lifetime => 300, args => [ '--token', $token ]);
my $base = $fhir->{base};

# control(base path, settings): the stand-in's answers for one base path
sub control
{
	my ($path, %s) = @_;
	standin_control($fhir, { path => $path, %s });
	return;
}

sub seed
{
	my ($path, $resource) = @_;
	my $res = $http->post("$base/__seed",
		{ content => encode_json({ base => $path, resource => $resource }),
		  headers => { 'content-type' => 'application/json' } });
	die "seed failed: $res->{status} $res->{content}" unless $res->{success};
	return;
}

# the resources the stand-in holds for a base path: {Patient => {id => res}, ...}
sub server_state
{
	my ($path) = @_;
	my $res = $http->get("$base/__state?base=$path");
	die "state failed: $res->{status}" unless $res->{success};
	return decode_json($res->{content});
}

# the identifier values of a type at a base path: {value => count}
sub identifiers
{
	my ($path, $type) = @_;
	my %n;
	for my $r (values %{ server_state($path)->{$type} })
	{
		$n{ $_->{value} }++ for @{ $r->{identifier} };
	}
	return \%n;
}

# validate(json texts) -> (exit code, [verdicts])
sub validate
{
	my ($docs, $name) = @_;
	my $f = "$tmp/validate-$name.ndjson";
	open(my $fh, '>', $f) or die "$f: $!";
	print $fh "$_\n" for @$docs;
	close $fh;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'node', $VALIDATE, $f ], '<', \undef, '>', \$out, '2>', \$err, IPC::Run::timeout(60));
	my $rc = $? >> 8;
	diag("fhir_validate.js: $err") if $err ne '';
	return ($rc, [ map { decode_json($_) } grep { /^\{/ } split /\n/, $out ]);
}

my %tid;

my $progress_samples = '';

sub sample_progress
{
	$progress_samples .= sql($node, q{SELECT coalesce(string_agg(p::text, E'\n'), '') FROM globalsync.sync_progress p}) . "\n";
	return;
}

# --------------------------------------------------------------------
# the server
# --------------------------------------------------------------------
$node = gs_node('fhir_target', "restart_after_crash = on\n");
ok(reload_conf($node, retry_settings()), 'the retry settings are reloaded');

my @facs = qw(MAIN SLOW 412X ENTR 500X FULL AUTH);
sql($node, q{
CREATE EXTENSION globalsync;
SELECT globalsync.track('globalsync.facilities');
CREATE TABLE other (id int PRIMARY KEY, facility_id text);
SELECT globalsync.track('other');
INSERT INTO globalsync.facilities (facility_id, name, timezone, location) VALUES
    ('FAC_FHIRMAIN', 'Main Clinic', 'America/New_York', 'Manhattan'),
    ('FAC_FHIRSLOW', 'Slow Clinic', 'Asia/Kathmandu', NULL),
    ('FAC_FHIR412X', 'Dup Clinic', 'Asia/Kolkata', 'Pune'),
    ('FAC_FHIRENTR', 'Entry Clinic', 'Asia/Kolkata', 'Delhi'),
    ('FAC_FHIR500X', 'Flaky Clinic', 'Europe/London', 'London'),
    ('FAC_FHIRFULL', 'Full Clinic', 'Asia/Kathmandu', 'Pokhara'),
    ('FAC_FHIRAUTH', 'Auth Clinic', 'Asia/Kolkata', 'Chennai');
-- n patients of a facility, ids PAT_<prefix><8 digits>, in New York's DST night
CREATE FUNCTION mk(fac text, prefix text, lo int, hi int, tag text DEFAULT '') RETURNS void
LANGUAGE sql AS $$
INSERT INTO globalsync.patient_registrations
    (patient_id, registration_id, patient_name, date_of_birth, contact_number, email, facility_id, registered_at)
SELECT 'PAT_' || prefix || lpad(g::text, 8, '0'), 'REG_' || prefix || lpad(g::text, 8, '0'),
       (ARRAY['Asha Rao', 'Smith, John Paul', 'Prince', '  Maria  de la  Cruz '])[1 + g % 4] || tag || ' ' || g,
       date '1980-01-01' + g, '+91 20 2612 ' || lpad(g::text, 4, '0'),
       CASE WHEN g % 2 = 0 THEN 'p' || g || '@example.org' END, fac,
       ((timestamp '2025-03-09 00:30' + g * interval '7 minutes')::text || ' America/New_York')::globalsync.zoned_timestamp
  FROM generate_series(lo, hi) g
$$;
});

# --------------------------------------------------------------------
# 1. validation
# --------------------------------------------------------------------
my ($st, $err);
for my $case (
	[ 'ftp endpoint', 'ftp://127.0.0.1/fhir', '{}' ],
	[ 'unknown option', "$base/fhir", '{"format": "json"}' ],
	[ 'identifier_system not a URI', "$base/fhir", '{"identifier_system": "patient ids"}' ],
	[ 'identifier_system relative', "$base/fhir", '{"identifier_system": "ids/patient"}' ],
	[ 'organization_system with |', "$base/fhir", '{"organization_system": "urn:a|b"}' ],
	[ 'identifier_system a number', "$base/fhir", '{"identifier_system": 5}' ],
	[ 'timeout_ms too small', "$base/fhir", '{"timeout_ms": 5}' ],
	[ 'a table without FHIR resource', "$base/fhir", '{"tables": ["public.other"]}' ])
{
	($st, $err) = sql_error($node, qq{SELECT globalsync.add_target('bad', 'fhir', '$case->[1]', '$case->[2]')});
	is($st, '22023', "add_target refuses $case->[0] with 22023") or diag($err);
}
like($err, qr/has no FHIR resource/, '... the tables error says why');
my $ok_id = sql($node, qq{SELECT globalsync.add_target('okfhir', 'fhir', '$base/x',
    '{"identifier_system": "https://hospital.example.org/ids/mrn", "schedule": "manual",
      "tables": ["globalsync.patient_registrations", "facilities"], "timeout_ms": 5000}')});
like($ok_id, qr/^TGT_/, 'good options (with a bare table name) are accepted');
($st, $err) = sql_error($node, qq{SELECT globalsync.alter_target('$ok_id', options => '{"tables": ["other"]}')});
is($st, '22023', 'alter_target refuses a table without FHIR resource with 22023') or diag($err);
($st, $err) = sql_error($node, qq{SELECT globalsync.alter_target('$ok_id', options => '{"organization_system": "nope"}')});
is($st, '22023', 'alter_target refuses a bad organization_system with 22023') or diag($err);
my %bad_tok = (short => 'abc' . int(rand(1000)), blank => 'has a blank ' . int(rand(1e6)),
	long => 'x' x 5000, control => "tab\tinside" . int(rand(1e6)));
for my $k (sort keys %bad_tok)
{
	my $f = "$tmp/badtok_$k";
	PostgreSQL::Test::Utils::append_to_file($f, $bad_tok{$k});
	($st, $err) = sql_error($node, qq{SELECT globalsync.set_target_secret('$ok_id', pg_read_file('$f'))});
	is($st, '22023', "a bad bearer token ($k) is refused with 22023") or diag($err);
	ok(index($err, $bad_tok{$k}) < 0, '... and the error does not show it');
}
sql($node, qq{SELECT globalsync.remove_target('$ok_id')});

# --------------------------------------------------------------------
# 2. the converters, validated
# --------------------------------------------------------------------
sql($node, q{SELECT mk('FAC_FHIRMAIN', 'CONV', 1, 8)});
sql($node, q{INSERT INTO globalsync.patient_registrations
    (patient_id, patient_name, date_of_birth, contact_number, facility_id, registered_at) VALUES
    ('PAT_CONV00000101', 'Ram Bahadur Thapa', '1970-01-01', '+977 1 4000000', 'FAC_FHIRSLOW', '2025-01-15 23:50:00 Asia/Kathmandu'),
    ('PAT_CONV00000102', 'Li', '1990-01-01', '2125550100', 'FAC_FHIRMAIN', '2025-11-02 01:30:00-05 America/New_York')});
my @conv = split /\n/, sql($node, q{
SELECT globalsync.to_fhir_patient(p)::text FROM globalsync.patient_registrations p WHERE patient_id LIKE 'PAT_CONV%'
UNION ALL
SELECT globalsync.to_fhir_organization(f)::text FROM globalsync.facilities f WHERE facility_id LIKE 'FAC_FHIR%'
UNION ALL
SELECT globalsync.to_fhir_bundle(string_agg(jsonb_build_object('table', 'globalsync.patient_registrations', 'op', 'I',
          'pk', jsonb_build_object('patient_id', patient_id), 'row', to_jsonb(p))::text, E'\n')
       || E'\n{"table": "globalsync.patient_registrations", "op": "D", "pk": {"patient_id": "PAT_GONE|1, $2"}}')::text
  FROM globalsync.patient_registrations p WHERE patient_id LIKE 'PAT_CONV%'});
is(scalar(@conv), 18, 'the converters made 10 Patients, 7 Organizations and a bundle');
my ($vrc, $verdicts) = validate(\@conv, 'converters');
is($vrc, 0, 'fhir_validate.js: every converter output is valid (exit 0)');
is(scalar(grep { $_->{valid} } @$verdicts), 18, '... 18 valid verdicts')
  or diag(join("\n", map { $J->encode($_) } grep { !$_->{valid} } @$verdicts));
my ($bv) = grep { ($_->{resourceType} // '') eq 'Bundle' } @$verdicts;
is(scalar(grep { ($_->{resourceType} // '') eq 'Patient' && $_->{valid} } @{ $bv->{entries} // [] }), 10,
	'... the bundle\'s 10 Patient entries were validated each on its own');
my $bad = $conv[0];
$bad =~ s/"birthDate": "[^"]*"/"birthDate": "1980-1-2", "gender": "robot"/;
$bad =~ s/"active": true/"active": "yes"/;
($vrc, $verdicts) = validate([ $bad, $conv[1] ], 'invalid');
is($vrc, 1, 'fhir_validate.js exits 1 for an invalid Patient');
ok(!$verdicts->[0]{valid} && @{ $verdicts->[0]{schema_errors} } && @{ $verdicts->[0]{fhir_errors} },
	'... both validators found errors in it') or diag($J->encode($verdicts->[0]));
ok($verdicts->[1]{valid}, '... and the valid one beside it passes');
sql($node, q{DELETE FROM globalsync.patient_registrations WHERE patient_id LIKE 'PAT_CONV%'});

# --------------------------------------------------------------------
# the targets
# --------------------------------------------------------------------
sub add_fhir
{
	my ($name, $fac, $extra) = @_;
	my %opt = (facilities => ["FAC_FHIR$fac"], tables => [ 'globalsync.patient_registrations', 'globalsync.facilities' ],
		%{ $extra // {} });
	my $o = $J->encode(\%opt);
	return sql($node, qq{SELECT globalsync.add_target('$name', 'fhir', '$base/$name', '$o')});
}
$tid{main} = add_fhir('main', 'MAIN', { max_batch_events => 25 });
$tid{e500} = add_fhir('e500', '500X');
$tid{e412} = add_fhir('e412', '412X', { max_batch_events => 100 });
$tid{entry} = add_fhir('entry', 'ENTR', { max_batch_events => 100 });
$tid{auth} = add_fhir('auth', 'AUTH', { max_batch_events => 100 });
$tid{full} = add_fhir('full', 'FULL', { schedule => 'manual' });
$tid{slow} = add_fhir('slow', 'SLOW', { max_batch_events => 20, timeout_ms => 10000 });
is(scalar(grep { /^TGT_[A-Z0-9]{8}$/ } values %tid), 7, 'seven fhir targets were added');
for my $t (qw(main e500 e412 entry full slow))
{
	sql($node, qq{SELECT globalsync.set_target_secret('$tid{$t}', pg_read_file('$token_file'))});
}
is(sql($node, q{SELECT count(*) FROM globalsync.target_secrets}), '6', 'six targets have the bearer token');

# the facilities' Organizations reach each target (an update is an event)
sql($node, q{UPDATE globalsync.facilities SET name = name || ' Center' WHERE facility_id LIKE 'FAC_FHIR%' AND facility_id NOT IN ('FAC_FHIRFULL', 'FAC_FHIRAUTH')});
for my $t (qw(main e500 e412 entry slow))
{
	ok(pending_is_zero($node, $tid{$t}, 30), "$t: its Organization was delivered");
}

# --------------------------------------------------------------------
# 3. realtime: inserts, updates, deletes
# --------------------------------------------------------------------
sql($node, q{SELECT mk('FAC_FHIRMAIN', 'MAIN', 1, 40)});
sample_progress();
sql($node, q{SELECT mk('FAC_FHIRMAIN', 'MAIN', 41, 60);
UPDATE globalsync.patient_registrations SET email = 'changed' || right(patient_id, 2) || '@example.net'
 WHERE patient_id LIKE 'PAT_MAIN%' AND right(patient_id, 1) IN ('3', '7');});
sql($node, q{BEGIN;
UPDATE globalsync.patient_registrations SET patient_name = 'Renamed, Twice Over' WHERE patient_id = 'PAT_MAIN00000010';
UPDATE globalsync.patient_registrations SET patient_name = 'Final Name' WHERE patient_id = 'PAT_MAIN00000010';
DELETE FROM globalsync.patient_registrations WHERE patient_id IN ('PAT_MAIN00000001', 'PAT_MAIN00000002', 'PAT_MAIN00000050');
UPDATE globalsync.facilities SET location = 'Brooklyn' WHERE facility_id = 'FAC_FHIRMAIN';
COMMIT;});
sample_progress();
ok(pending_is_zero($node, $tid{main}, 30), 'main: everything delivered');

my $state = server_state('/main');
my %want = map { $_ => 1 } split /\n/,
  sql($node, q{SELECT patient_id FROM globalsync.patient_registrations WHERE facility_id = 'FAC_FHIRMAIN'});
my $ids = identifiers('/main', 'Patient');
is(scalar(keys %$ids), 57, 'main: 57 Patients at the server (60 inserted, 3 deleted)');
is_deeply([ sort keys %$ids ], [ sort keys %want ], 'main: their identifiers are the table\'s patient ids');
is(scalar(grep { $_ != 1 } values %$ids), 0, 'main: one resource per identifier');
my %table = map { my ($id, $r) = split /\t/, $_, 2; ($id => decode_json($r)) } split /\n/,
  sql($node, q{SELECT patient_id || E'\t' || globalsync.to_fhir_patient(p)::text FROM globalsync.patient_registrations p
                WHERE facility_id = 'FAC_FHIRMAIN'});
my $org_id = (keys %{ $state->{Organization} })[0];
my @differ;
for my $r (values %{ $state->{Patient} })
{
	my %c = %$r;
	my $pid = $c{identifier}[0]{value};
	delete @c{qw(id meta)};
	push @differ, "$pid: reference $c{managingOrganization}{reference}"
	  unless ($c{managingOrganization}{reference} // '') eq "Organization/$org_id";
	$c{managingOrganization} = { %{ $c{managingOrganization} } };
	$c{managingOrganization}{reference} = $table{$pid}{managingOrganization}{reference};
	push @differ, "$pid: " . $J->encode(\%c) . ' vs ' . $J->encode($table{$pid})
	  unless $J->encode(\%c) eq $J->encode($table{$pid} // {});
}
is(scalar(@differ), 0, 'main: every Patient equals to_fhir_patient() of its row, its reference resolved to the Organization')
  or diag(join("\n", @differ[0 .. ($#differ < 4 ? $#differ : 4)]));
my ($p10) = grep { $_->{identifier}[0]{value} eq 'PAT_MAIN00000010' } values %{ $state->{Patient} };
is($p10->{name}[0]{family} . '|' . $p10->{name}[0]{text}, 'Name|Final Name', 'main: two updates in one transaction: the last one holds');
my ($p13) = grep { $_->{identifier}[0]{value} eq 'PAT_MAIN00000013' } values %{ $state->{Patient} };
is($p13->{telecom}[1]{value}, 'changed13@example.net', 'main: an updated email arrived');
my @orgs = values %{ $state->{Organization} };
is(scalar(@orgs) . ' ' . $orgs[0]{address}[0]{text} . ' ' . $orgs[0]{name}, '1 Brooklyn Main Clinic Center',
	'main: one Organization, updated');
my $reqs = standin_requests($fhir, '/main');
my @bad_req;
for my $q (@$reqs)
{
	push @bad_req, "seq $q->{seq}: status $q->{status}" if $q->{status} ne '200';
	push @bad_req, "seq $q->{seq}: content-type $q->{headers}{'content-type'}"
	  if ($q->{headers}{'content-type'} // '') !~ m{^application/fhir\+json};
	push @bad_req, "seq $q->{seq}: accept " . ($q->{headers}{accept} // '') if ($q->{headers}{accept} // '') ne 'application/fhir+json';
	push @bad_req, "seq $q->{seq}: authorization" if ($q->{headers}{authorization} // '') ne "Bearer $token";
	my $b = eval { decode_json($q->{body}) } // {};
	push @bad_req, "seq $q->{seq}: not a transaction" if ($b->{type} // '') ne 'transaction';
	my %u;
	$u{ $_->{request}{url} }++ for @{ $b->{entry} // [] };
	push @bad_req, "seq $q->{seq}: a URL twice" if grep { $_ > 1 } values %u;
}
cmp_ok(scalar(@$reqs), '>=', 4, 'main: the stand-in got ' . scalar(@$reqs) . ' transactions');
is(scalar(@bad_req), 0, 'main: every request: 200, fhir+json, the bearer token, a transaction, each resource once')
  or diag(join("\n", @bad_req[0 .. ($#bad_req < 9 ? $#bad_req : 9)]));
my $deletes = grep { $_->{request}{method} eq 'DELETE' } map { @{ (eval { decode_json($_->{body}) } // {})->{entry} // [] } } @$reqs;
is($deletes, 3, 'main: three conditional DELETEs were sent');

# --------------------------------------------------------------------
# 4. 500 twice, then fine
# --------------------------------------------------------------------
control('/e500', mode => 'fail500', count => 2, then => 'ok');
sql($node, q{SELECT mk('FAC_FHIR500X', 'EFIVE', 1, 5)});
ok(pending_is_zero($node, $tid{e500}, 30), '500: delivered in the end');
my @s500 = map { $_->{status} } @{ standin_requests($fhir, '/e500') };
is(join(',', @s500[-3 .. -1]), '500,500,200', '500: two 500s, then 200');
is(scalar(keys %{ identifiers('/e500', 'Patient') }), 5, '500: the 5 Patients are there');
is(sql($node, qq{SELECT count(*) FROM globalsync.dead_letters WHERE target_id = '$tid{e500}'}), '0', '500: no dead letter');
is( sql($node, qq{SELECT count(*) > 0 FROM globalsync.sync_history WHERE target_id = '$tid{e500}'
                    AND error_message LIKE '%answered 500%' AND error_message LIKE '%mode fail500%'}), 't',
	'500: sync_history keeps the status and the OperationOutcome text');

# --------------------------------------------------------------------
# 5. 412: two Patients at the server match one identifier
# --------------------------------------------------------------------
for my $n (1, 2)
{
	seed('/e412', { resourceType => 'Patient', identifier => [ { system => 'urn:globalsync:patient-id', value => 'PAT_DUPE00000004' } ],
			name => [ { text => "Copy $n" } ] });
}
sql($node, q{SELECT mk('FAC_FHIR412X', 'DUPE', 1, 8)});
ok( wait_until($node, qq{SELECT count(*) || ' ' || (SELECT pending_events FROM globalsync.target_health WHERE target_id = '$tid{e412}')
                           FROM globalsync.dead_letters WHERE target_id = '$tid{e412}'}, '1 0', 30),
	'412: one dead letter, nothing pending');
my ($dl_count, $dl_pid, $dl_err) = split /\|/, sql($node, qq{
SELECT event_count, events->0->'pk'->>'patient_id', error FROM globalsync.dead_letters WHERE target_id = '$tid{e412}'}), 3;
is("$dl_count $dl_pid", '1 PAT_DUPE00000004', '412: the dead letter holds only the event of the duplicated identifier');
like($dl_err, qr/answered 412/, '412: its error has the status');
like($dl_err, qr/multiple-matches.*matches 2 resources/, "412: ... and the OperationOutcome's code and diagnostics");
my $dupe_ids = identifiers('/e412', 'Patient');
is(scalar(grep { /^PAT_DUPE/ } keys %$dupe_ids), 8, '412: the other 7 landed beside the 2 seeded copies');
is($dupe_ids->{PAT_DUPE00000004}, 2, '412: the seeded copies were left alone');
cmp_ok(scalar(grep { $_->{status} eq '412' } @{ standin_requests($fhir, '/e412') }), '>=', 2, '412: the batch was halved on 412');

# --------------------------------------------------------------------
# 6. an entry that fails in the transaction-response
# --------------------------------------------------------------------
# answers 0.7 s late, so that each failure of the bisection can be seen
# in sync_progress (the run's last error) before the next one
control('/entry', mode => 'entry_fail_if', marker => 'POISON', delay_ms => 700);
sql($node, q{BEGIN; SELECT mk('FAC_FHIRENTR', 'ENTRY', 1, 5); SELECT mk('FAC_FHIRENTR', 'ENTRY', 6, 6, ' POISON');
SELECT mk('FAC_FHIRENTR', 'ENTRY', 7, 9); COMMIT;});
ok( wait_until($node, qq{SELECT count(*) FROM globalsync.sync_progress WHERE target_id = '$tid{entry}'
                           AND last_error ~ 'entry 5 of 9 \\(PUT Patient\\?identifier=\\S+PAT_ENTRY00000006\\) failed with 422'},
		'1', 15),
	'entry failure: the failure of the whole batch of 9 named entry 5, its request and its status (sync_progress)');
ok( wait_until($node, qq{SELECT count(*) || ' ' || (SELECT pending_events FROM globalsync.target_health WHERE target_id = '$tid{entry}')
                           FROM globalsync.dead_letters WHERE target_id = '$tid{entry}'}, '1 0', 30),
	'entry failure: one dead letter, nothing pending');
($dl_count, $dl_pid, $dl_err) = split /\|/, sql($node, qq{
SELECT event_count, events->0->'pk'->>'patient_id', error FROM globalsync.dead_letters WHERE target_id = '$tid{entry}'}), 3;
is("$dl_count $dl_pid", '1 PAT_ENTRY00000006', 'entry failure: the dead letter holds the marked event');
like($dl_err, qr/entry 0 of 1 \(PUT Patient\?identifier=urn:globalsync:patient-id\|PAT_ENTRY00000006\) failed with 422 Unprocessable Entity: issue error\/business-rule: the entry contains the marker POISON/,
	'entry failure: its error names the entry (index, request), its status and its outcome');
is(scalar(grep { /^PAT_ENTRY/ } keys %{ identifiers('/entry', 'Patient') }), 8, 'entry failure: the other 8 landed');

# --------------------------------------------------------------------
# 7. no token: 401 is retried as a target-wide failure
# --------------------------------------------------------------------
sql($node, q{SELECT mk('FAC_FHIRAUTH', 'AUTH', 1, 4)});
ok(wait_until($node, qq{SELECT count(*) FROM globalsync.dead_letters WHERE target_id = '$tid{auth}'}, '1', 30),
	'401: the batch ends as one dead letter after its attempts');
my ($a_count, $a_attempts, $a_err) = split /\|/,
  sql($node, qq{SELECT event_count, attempts, error FROM globalsync.dead_letters WHERE target_id = '$tid{auth}'}), 3;
is("$a_count $a_attempts", '4 4', '401: the whole batch of 4, after max_attempts (4): retried, not bisected');
like($a_err, qr/answered 401 \(check the bearer token\).*login/, '401: the error says so, with the OperationOutcome');
my @areq = @{ standin_requests($fhir, '/auth') };
is(scalar(grep { defined $_->{headers}{authorization} } @areq), 0, '401: no Authorization header was sent without a token');

# --------------------------------------------------------------------
# 8. manual and full sync
# --------------------------------------------------------------------
sql($node, q{SELECT mk('FAC_FHIRFULL', 'FULL', 1, 30)});
usleep(500_000);
is(scalar(@{ standin_requests($fhir, '/full') }), 0, 'manual: nothing is sent before start_sync');
my $sid = sql($node, qq{SELECT globalsync.start_sync('$tid{full}', NULL, 'full')});
is(sql($node, qq{SELECT globalsync.wait_sync('$sid', '30 s')}), 'completed', 'full sync: completed');
my $fstate = server_state('/full');
is(scalar(keys %{ identifiers('/full', 'Patient') }), 30, 'full sync: the 30 Patients are there');
is(join(',', map { $_->{identifier}[0]{value} } values %{ $fstate->{Organization} }), 'FAC_FHIRFULL',
	'full sync: the facility is there as an Organization');
is(scalar(grep { ($_->{managingOrganization}{reference} // '') =~ m{^Organization/} } values %{ $fstate->{Patient} }), 30,
	'full sync: every Patient refers to it');
sql($node, q{SELECT mk('FAC_FHIRFULL', 'FULL', 31, 33);
DELETE FROM globalsync.patient_registrations WHERE patient_id = 'PAT_FULL00000005'});
$sid = sql($node, qq{SELECT globalsync.start_sync('$tid{full}')});
is(sql($node, qq{SELECT globalsync.wait_sync('$sid', '30 s')}), 'completed', 'manual incremental sync: completed');
my $fids = identifiers('/full', 'Patient');
is(scalar(keys %$fids) . ' ' . (exists $fids->{PAT_FULL00000005} ? 'kept' : 'deleted') . ' ' . ($fids->{PAT_FULL00000033} // 0),
	'32 deleted 1', 'manual sync: 3 more, one deleted');
$sid = sql($node, qq{SELECT globalsync.start_sync('$tid{full}', NULL, 'full')});
is(sql($node, qq{SELECT globalsync.wait_sync('$sid', '30 s')}), 'completed', 'a second full sync: completed');
$fids = identifiers('/full', 'Patient');
is(scalar(keys %$fids) . ' ' . scalar(grep { $_ != 1 } values %$fids), '32 0',
	'a second full sync (a resend of every row) duplicates nothing');

# --------------------------------------------------------------------
# 9. kill -9 of the worker in the middle of slow deliveries
# --------------------------------------------------------------------
control('/slow', mode => 'slow', slow_ms => 300);
sql($node, q{DO $$ BEGIN
    FOR k IN 0..9 LOOP
        PERFORM mk('FAC_FHIRSLOW', 'SLOW', k * 20 + 1, k * 20 + 20);
        COMMIT;
    END LOOP;
    UPDATE globalsync.patient_registrations SET email = 'after@example.org'
     WHERE facility_id = 'FAC_FHIRSLOW' AND right(patient_id, 1) = '3';
END $$;});
wait_requests($fhir, '/slow', 4, 30);
sample_progress();
crash_worker($node, 'in the middle of a slow delivery');
ok(pending_is_zero($node, $tid{slow}, 60), 'slow: everything delivered after the crash');
control('/slow', mode => 'ok');
my $sids = identifiers('/slow', 'Patient');
is(scalar(keys %$sids), 200, 'slow: 200 Patients at the server');
is(scalar(grep { $_ != 1 } values %$sids), 0, 'slow: each exactly once (no duplicate from a resend)');
my $sstate = server_state('/slow');
is(scalar(grep { ($_->{telecom}[1]{value} // '') eq 'after@example.org' } values %{ $sstate->{Patient} }), 20,
	'slow: the 20 updates after the inserts hold');
my %sent;
$sent{ (eval { decode_json($_->{body}) } // {})->{identifier}{value} // '' }++ for @{ standin_requests($fhir, '/slow') };
note('slow: ' . scalar(grep { $_ > 1 } values %sent) . ' bundles were sent more than once');

# --------------------------------------------------------------------
# 10. every bundle received, validated
# --------------------------------------------------------------------
my @bodies = map { $_->{body} } @{ standin_requests($fhir) };
($vrc, $verdicts) = validate(\@bodies, 'received');
is($vrc, 0, 'every bundle the stand-in received (' . scalar(@bodies) . ') is valid for both validators');
is(scalar(grep { $_->{valid} } @$verdicts), scalar(@bodies), '... one valid verdict each')
  or diag(join("\n", map { $J->encode($_) } (grep { !$_->{valid} } @$verdicts)[0 .. 2]));
my $nentries = 0;
$nentries += scalar(grep { defined $_->{resourceType} } @{ $_->{entries} // [] }) for @$verdicts;
cmp_ok($nentries, '>', 300, "... with their $nentries entry resources each on its own");

# --------------------------------------------------------------------
# 11. the token is nowhere
# --------------------------------------------------------------------
my %dump;
for my $v (qw(sync_log sync_history target_health sync_progress targets dead_letters))
{
	$dump{$v} = sql($node, qq{SELECT coalesce(string_agg(x::text, E'\n'), '') FROM globalsync.$v x});
}
$dump{'sync_progress samples'} = $progress_samples;
cmp_ok(length($dump{sync_log}), '>', 0, 'sync_log was read');
unlike($dump{$_}, qr/\Q$token\E/, "the token is not in $_") for sort keys %dump;
my $log = slurp_file($node->logfile);
unlike($log, qr/\Q$token\E/, 'the token is not in the server log');
for my $k (sort keys %bad_tok)
{
	unlike($log, qr/\Q$bad_tok{$k}\E/, "the refused token ($k) is not in the server log");
}
unlike($log, qr/(PANIC|TRAP|terminated by signal 11)/, 'no PANIC, assertion failure or segfault in the server log');

$node->stop;
stop_standin($fhir, 'the stand-in');
is(standin_stderr($fhir), '', 'the stand-in wrote nothing to stderr');
done_testing();
