
# GsSyncTest.pm: helpers shared by the sync engine TAP tests (003..012).
#
#  - gs_node: a cluster with globalsync preloaded, a fast tick, a file target
#    directory inside the test's temp dir, and settings of the caller;
#  - sql / sql_db / try_sql: psql with a time bound (dies on error / returns
#    the error);
#  - wait_until: poll a query until it returns the expected text, bounded by
#    a number of seconds (and so by a number of attempts);
#  - read_target: every batch file of a file target's folder, parsed line by
#    line, with the batch ids decoded and the files in delivery order;
#  - check_changes: the checks of a change stream against the change log
#    (every event there, nothing extra, duplicates only identical resends,
#    event ids increasing per row in delivery order);
#  - final_state: the state a target rebuilds from what it received;
#  - reload_conf, retry_settings, sql_error, pending_is_zero, wait_for:
#    settings changed by a reload, the target tests' retry settings, an
#    error's SQLSTATE, a target with nothing pending, a bounded wait;
#  - track_tables: the extension, a holding consumer and tracked tables;
#  - crash_worker: kill -9 of the sync worker and the crash restart;
#  - start_standin / stop_standin and standin_*: the loopback stand-ins of
#    test/lib (webhook_receiver.py, s3_sigv4_receiver.py,
#    snowflake_standin.py, fhir_standin.py, all built on standin.py): start
#    one on a free port, read its request log, change its answers, stop it.
#
# Every wait is bounded: a timeout on each psql call and a deadline on each
# poll.

package GsSyncTest;

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter 'import';
use File::Basename qw(dirname);
use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use Time::HiRes qw(usleep time);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(gs_node sql sql_db try_sql wait_until read_target
  check_changes final_state table_state compare_states logged_event_ids
  worker_pid bg_send bg_wait reload_conf retry_settings track_tables
  crash_worker sql_error pending_is_zero wait_for
  start_standin stop_standin standin_stderr standin_records standin_requests
  wait_requests standin_control $QUERY_TIMEOUT);

# bound on a single psql call
our $QUERY_TIMEOUT = 60;

my $json = JSON::PP->new->canonical(1);

# gs_node(name, extra postgresql.conf text): init and start a cluster with
# globalsync preloaded; file_target_dir is <basedir>/out (absolute).
sub gs_node
{
	my ($name, $extra) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	my $out = $node->basedir . '/out';
	mkdir $out or die "mkdir $out: $!";
	$node->append_conf(
		'postgresql.conf', qq{
shared_preload_libraries = 'globalsync'
globalsync.file_target_dir = '$out'
globalsync.tick_interval = '20ms'
globalsync.idle_poll_interval = '1s'
log_min_messages = 'info'
} . ($extra // ''));
	$node->start;
	return $node;
}

# reload_conf(node, name => value, ...): append the settings to
# postgresql.conf, reload, and wait (10 s at most) until the server shows
# every one of them; true if it does.
sub reload_conf
{
	my ($node, @settings) = @_;
	my (@names, @values, $conf);
	while (my ($name, $value) = splice(@settings, 0, 2))
	{
		push @names, $name;
		push @values, $value;
		$conf .= "$name = '$value'\n";
	}
	$node->append_conf('postgresql.conf', $conf);
	$node->reload;
	return wait_until($node, 'SELECT ' . join(q{ || ' ' || }, map { "current_setting('$_')" } @names),
		join(' ', @values), 10);
}

# retry_settings(name => value, ...): the delivery settings of the target
# tests (max_attempts 4, retry_base_delay 50ms, retry_max_delay 200ms,
# breaker_threshold 3, breaker_cooldown 1s) with the names given (without
# "globalsync.") changed, as a list for reload_conf
sub retry_settings
{
	my (%o) = @_;
	my @names = qw(max_attempts retry_base_delay retry_max_delay breaker_threshold breaker_cooldown);
	my %s = (
		max_attempts => 4, retry_base_delay => '50ms', retry_max_delay => '200ms',
		breaker_threshold => 3, breaker_cooldown => '1s', %o);
	die "retry_settings: unknown setting" if keys %s != @names;
	return map { ("globalsync.$_" => $s{$_}) } @names;
}

# track_tables(node, columns, tables...): CREATE EXTENSION globalsync, a
# consumer test_hold (so that the change log is kept), and the tables,
# each with those columns, tracked
sub track_tables
{
	my ($node, $columns, @tables) = @_;
	sql($node, q{
CREATE EXTENSION globalsync;
SELECT globalsync.register_consumer('test_hold');
} . join('', map { "CREATE TABLE $_ ($columns); SELECT globalsync.track('$_');\n" } @tables));
	return;
}

# crash_worker(node, when): kill -9 of the sync worker of database postgres
# and wait for the crash restart; three tests (a worker ran, it was killed,
# the server is back).  Returns the pid killed.
sub crash_worker
{
	my ($node, $when) = @_;
	my $pid = worker_pid($node);
	cmp_ok($pid, '>', 0, "the worker runs (pid $pid)");
	my $log_offset = -s $node->logfile;
	ok(kill('KILL', $pid), "kill -9 of the globalsync worker $pid $when");
	$node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
	ok($node->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()'),
		'the server is back after the crash restart');
	return $pid;
}

# sql(node, sql): psql in database postgres; dies on error.
sub sql
{
	my ($node, $q) = @_;
	return $node->safe_psql('postgres', $q, timeout => $QUERY_TIMEOUT);
}

sub sql_db
{
	my ($node, $db, $q) = @_;
	return $node->safe_psql($db, $q, timeout => $QUERY_TIMEOUT);
}

# try_sql(node, sql, %opts): (ok, stdout, stderr) without dying; opts
# db (default postgres), user (connect as this role)
sub try_sql
{
	my ($node, $q, %o) = @_;
	my ($out, $err) = ('', '');
	my @extra;
	push @extra, ('-U', $o{user}) if defined $o{user};
	my $rc = $node->psql(
		$o{db} // 'postgres', $q,
		stdout => \$out,
		stderr => \$err,
		timeout => $QUERY_TIMEOUT,
		extra_params => \@extra,
		on_error_stop => 1);
	return ($rc == 0, $out, $err);
}

# sql_error(node, sql, %opts of try_sql): the SQLSTATE and the text of the
# error: ('', stderr) if there is none, '?' if psql shows no SQLSTATE
sub sql_error
{
	my ($node, $q, %o) = @_;
	my ($ok, $out, $err) = try_sql($node, "\\set VERBOSITY verbose\n$q", %o);
	return ('', $err) if $ok;
	my ($state) = $err =~ /ERROR:\s+([0-9A-Z]{5}):/;
	return ($state // '?', $err);
}

# pending_is_zero(node, target id, seconds): wait (default 30 s) until
# target_health shows no pending event for the target
sub pending_is_zero
{
	my ($node, $tid, $secs) = @_;
	return wait_until($node, qq{SELECT pending_events FROM globalsync.target_health WHERE target_id = '$tid'},
		'0', $secs // 30);
}

# wait_for(what, seconds, sub): poll the sub every 50 ms until it returns
# true, at most `seconds`; 1, or 0 with a diagnostic naming what
sub wait_for
{
	my ($what, $secs, $cond) = @_;
	my $deadline = time() + $secs;
	while (time() < $deadline)
	{
		return 1 if $cond->();
		usleep(50_000);
	}
	diag("waited ${secs}s in vain for $what");
	return 0;
}

# wait_until(node, sql, expected, seconds, db): poll every 100 ms until the
# query returns expected; at most `seconds` (default 60).  Returns 1 / 0
# and on timeout shows the last output.
sub wait_until
{
	my ($node, $q, $expected, $secs, $db) = @_;
	$secs //= 60;
	$db //= 'postgres';
	my $deadline = time() + $secs;
	my $max_attempts = $secs * 10 + 1;
	my ($out, $err) = ('', '');
	for (my $i = 0; $i < $max_attempts && time() < $deadline; $i++)
	{
		($out, $err) = ('', '');
		$node->psql(
			$db, $q,
			stdout => \$out,
			stderr => \$err,
			timeout => $secs + 5);
		chomp $out;
		return 1 if $out eq $expected && $err eq '';
		usleep(100_000);
	}
	diag("wait_until: no \"$expected\" after ${secs}s from:\n$q\nlast output: $out\nstderr: $err");
	return 0;
}

# bg_send(session, sql, marker): hand sql to a background psql session
# without waiting; it echoes marker when done.  bg_wait(session, marker):
# wait (bounded by the session's timeout) for that; true if it came.
sub bg_send
{
	my ($bg, $q, $marker) = @_;
	$bg->{stdin} .= "$q\n\\echo $marker\n";
	$bg->{run}->pump_nb();
	return;
}

sub bg_wait
{
	my ($bg, $marker) = @_;
	pump_until($bg->{run}, $bg->{timeout}, \$bg->{stdout}, qr/\Q$marker\E/);
	my $ok = $bg->{stdout} =~ /\Q$marker\E/;
	$bg->{stdout} =~ s/.*\Q$marker\E\n?//s if $ok;
	return $ok;
}

# worker_pid(node, db): the pid of the database's sync worker, 0 if none
sub worker_pid
{
	my ($node, $db) = @_;
	return sql_db($node, $db // 'postgres',
		"SELECT coalesce((globalsync.health()->>'worker_pid')::int, 0)");
}

# logged_event_ids(node, table): event ids the change log holds for a table
sub logged_event_ids
{
	my ($node, $table) = @_;
	my @ids = split /\n/,
	  sql($node,
		"SELECT event_id FROM globalsync.change_log WHERE table_name = '$table' ORDER BY event_id");
	return \@ids;
}

# read_target(dir): the batches of a file target's folder.  Returns a hash:
#   batches     incremental batches in delivery order (tick, first event id)
#   snapshots   snapshot batches (op R) in (sync, table, chunk, lo) order
#   bad         descriptions of lines that are not JSON objects, of files
#               whose lines' batch_id disagree with their name, of unknown
#               names
#   tmp         names of leftover temporary files
# Each batch: {name, kind, prev, tick, first, last, events => [...] }
sub read_target
{
	my ($dir) = @_;
	my (%r, @inc, @snap);
	$r{bad} = [];
	$r{tmp} = [];
	opendir(my $dh, $dir) or return { batches => [], snapshots => [], bad => ["no folder $dir"], tmp => [] };
	my @names = grep { $_ ne '.' && $_ ne '..' } readdir $dh;
	closedir $dh;
	for my $f (sort @names)
	{
		if ($f =~ /\.tmp$/)
		{
			push @{ $r{tmp} }, $f;
			next;
		}
		if ($f !~ /^(.+)\.ndjson$/)
		{
			push @{ $r{bad} }, "unexpected file $f";
			next;
		}
		my $id = $1;
		my $b = { name => $id, events => [] };
		if ($id =~ /^(TGT_[A-Z0-9]{8})-(\d+)-(\d+)-(\d+)-(\d+)$/)
		{
			@$b{qw(kind target prev tick first last)} = ('inc', $1, $2, $3, $4, $5);
		}
		elsif ($id =~ /^(TGT_[A-Z0-9]{8})-(SYN_[A-Z0-9]+)-(\d+)-(\d+)(?:-(\d+)-(\d+))?$/)
		{
			@$b{qw(kind target sync oid chunk lo)} = ('snap', $1, $2, $3, $4, $5 // 0);
		}
		else
		{
			push @{ $r{bad} }, "batch file with an unknown id: $f";
			next;
		}
		open(my $fh, '<', "$dir/$f") or die "open $dir/$f: $!";
		local $/;
		my $text = <$fh>;
		close $fh;
		if ($text eq '' || substr($text, -1) ne "\n")
		{
			push @{ $r{bad} }, "$f does not end with a newline (partial or empty)";
		}
		for my $line (split /\n/, $text)
		{
			my $e = eval { decode_json($line) };
			if (!$e || ref $e ne 'HASH')
			{
				push @{ $r{bad} }, "$f: a line that is not a JSON object: " . substr($line, 0, 200);
				next;
			}
			push @{ $r{bad} }, "$f: line with batch_id " . ($e->{batch_id} // 'null')
			  if ($e->{batch_id} // '') ne $id;
			push @{ $b->{events} }, $e;
		}
		if ($b->{kind} eq 'inc')
		{
			push @inc, $b;
		}
		else
		{
			push @snap, $b;
		}
	}
	$r{batches} = [ sort { $a->{tick} <=> $b->{tick} || $a->{first} <=> $b->{first} } @inc ];
	$r{snapshots} = [ sort { $a->{sync} cmp $b->{sync} || $a->{oid} <=> $b->{oid}
			  || $a->{chunk} <=> $b->{chunk} || $a->{lo} <=> $b->{lo} } @snap ];
	return \%r;
}

# the canonical text of an event without its batch id (resends of one event
# under another batch id, after a split, are still identical otherwise)
sub _event_text
{
	my ($e) = @_;
	my %c = %$e;
	delete $c{batch_id};
	return $json->encode(\%c);
}

sub _pk_key
{
	my ($e) = @_;
	return ($e->{table} // '') . ' ' . $json->encode($e->{pk});
}

# check_changes(read_target result, [logged event ids], label, table):
# runs the checks as tests; returns a hash event_id => event (first copy).
sub check_changes
{
	my ($got, $logged, $label, $table) = @_;
	my (%seen, %last_per_pk);
	my ($dups, $bad_dups, $order_bad, $id_outside, $non_inc, $events) = (0, 0, 0, 0, 0, 0);
	my @order_examples;
	for my $b (@{ $got->{batches} })
	{
		my ($min, $max);
		for my $e (@{ $b->{events} })
		{
			next if defined $table && ($e->{table} // '') ne $table;
			$events++;
			my $id = $e->{event_id};
			if (!defined $id || $id !~ /^\d+$/)
			{
				$non_inc++;
				next;
			}
			$id_outside++ if $id < $b->{first} || $id > $b->{last};
			if (exists $seen{$id})
			{
				$dups++;
				$bad_dups++ if _event_text($seen{$id}) ne _event_text($e);
				next;
			}
			$seen{$id} = $e;
			my $k = _pk_key($e);
			if (defined $last_per_pk{$k} && $last_per_pk{$k} > $id)
			{
				$order_bad++;
				push @order_examples, "$k: $last_per_pk{$k} before $id (batch $b->{name})"
				  if @order_examples < 5;
			}
			$last_per_pk{$k} = $id;
		}
	}
	my %logged = map { $_ => 1 } @$logged;
	my @missing = grep { !exists $seen{$_} } @$logged;
	my @extra = grep { !exists $logged{$_} } keys %seen;
	is(scalar(@missing), 0,
		"$label: every one of the " . scalar(@$logged) . " logged events arrived")
	  or diag("missing event ids (first 20): @missing[0 .. ($#missing < 19 ? $#missing : 19)]");
	is(scalar(@extra), 0, "$label: no event arrived that the log does not hold")
	  or diag("extra: @extra[0 .. ($#extra < 19 ? $#extra : 19)]");
	is($bad_dups, 0, "$label: duplicates ($dups) are identical resends");
	is($order_bad, 0, "$label: per row, event ids increase in delivery order")
	  or diag(join("\n", @order_examples));
	is($id_outside + $non_inc, 0,
		"$label: every event id lies in its batch id's range");
	return \%seen;
}

# final_state(read_target result, table): pk text => row hash, from the
# snapshot rows and the events (the latest event by event id wins over the
# snapshot row; D and T remove).
sub final_state
{
	my ($got, $table) = @_;
	my (%snap, %ev);
	for my $b (@{ $got->{snapshots} })
	{
		for my $e (@{ $b->{events} })
		{
			next if ($e->{table} // '') ne $table;
			$snap{ $json->encode($e->{pk}) } = $e->{row};
		}
	}
	my %truncated_after;
	for my $b (@{ $got->{batches} })
	{
		for my $e (@{ $b->{events} })
		{
			next if ($e->{table} // '') ne $table;
			next if ($e->{op} // '') eq 'T';
			my $k = $json->encode($e->{pk});
			$ev{$k} = $e if !defined $ev{$k} || $ev{$k}{event_id} < $e->{event_id};
		}
	}
	my %state = %snap;
	for my $k (keys %ev)
	{
		if ($ev{$k}{op} eq 'D')
		{
			delete $state{$k};
		}
		else
		{
			$state{$k} = $ev{$k}{row};
		}
	}
	return \%state;
}

# table_state(node, table, facility): pk text => row hash, from the table
sub table_state
{
	my ($node, $table, $where) = @_;
	$where = defined $where ? "WHERE $where" : '';
	my %state;
	for my $l (split /\n/,
		sql($node,
			"SELECT jsonb_build_object('id', id)::text || chr(9) || to_jsonb(x)::text FROM $table x $where"))
	{
		my ($pk, $row) = split /\t/, $l, 2;
		$state{ $json->encode(decode_json($pk)) } = decode_json($row);
	}
	return \%state;
}

# compare_states(got, want, label): one test; diagnostics on a mismatch
sub compare_states
{
	my ($got, $want, $label) = @_;
	my (@missing, @extra, @differ);
	for my $k (keys %$want)
	{
		if (!exists $got->{$k})
		{
			push @missing, $k;
		}
		elsif ($json->encode($got->{$k}) ne $json->encode($want->{$k}))
		{
			push @differ, "$k: target " . $json->encode($got->{$k}) . " table " . $json->encode($want->{$k});
		}
	}
	for my $k (keys %$got)
	{
		push @extra, $k if !exists $want->{$k};
	}
	my $ok = ok(!@missing && !@extra && !@differ,
		"$label: the state rebuilt at the target equals the table (" . scalar(keys %$want) . " rows)");
	if (!$ok)
	{
		diag(scalar(@missing) . " missing, e.g. @missing[0 .. ($#missing < 9 ? $#missing : 9)]") if @missing;
		diag(scalar(@extra) . " extra, e.g. @extra[0 .. ($#extra < 9 ? $#extra : 9)]") if @extra;
		diag(scalar(@differ) . " differ, e.g.\n" . join("\n", @differ[0 .. ($#differ < 9 ? $#differ : 9)])) if @differ;
	}
	return $ok;
}

# --------------------------------------------------------------------
# the loopback stand-ins of test/lib
# --------------------------------------------------------------------
my $LIB = dirname(abs_path(__FILE__));
my $PYTHON = -x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3';
my $http = HTTP::Tiny->new(timeout => 10);

# start_standin(name, script, %o): test/lib/<script> on 127.0.0.1 on a free
# port, in a directory of its own (its port file, request log, stdout and
# stderr); waits (15 s at most) for the port file and dies if none comes.
# o: command => [sub-command before the options], args => [options after
# --port 0 --port-file --log --max-lifetime], lifetime (seconds, default
# 600), scheme (of base, default http), control (the path of its control
# endpoint, default /__control).
# Returns {name, h (IPC::Run), port, base (scheme://127.0.0.1:port), log,
# dir, control}.
sub start_standin
{
	my ($name, $script, %o) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir("standin_$name");
	my @cmd = (
		$PYTHON, "$LIB/$script", @{ $o{command} // [] },
		'--port', '0', '--port-file', "$dir/port", '--log', "$dir/requests.jsonl",
		'--max-lifetime', $o{lifetime} // 600, @{ $o{args} // [] });
	my $h = IPC::Run::start(\@cmd, '<', \undef, '>', "$dir/stdout", '2>', "$dir/stderr");
	my $port;
	for (my $i = 0; $i < 150; $i++)
	{
		# the stand-in writes the file through a rename: never half of it
		if (-s "$dir/port")
		{
			$port = slurp_file("$dir/port");
			chomp $port;
			last;
		}
		usleep(100_000);
	}
	die "stand-in $name ($script) did not start: " . (-f "$dir/stderr" ? slurp_file("$dir/stderr") : '')
	  unless $port;
	return {
		name => $name, h => $h, port => $port, dir => $dir, log => "$dir/requests.jsonl",
		base => ($o{scheme} // 'http') . "://127.0.0.1:$port",
		control => $o{control} // '/__control'
	};
}

# stop_standin(stand-in, label): SIGTERM (SIGKILL after 5 s); one test: it
# exited with status 0
sub stop_standin
{
	my ($s, $label) = @_;
	$label //= "stand-in $s->{name}";
	my $killed = $s->{h}->kill_kill(grace => 5);
	my @res = $s->{h}->full_results;
	return is(($killed ? 'needed SIGKILL, ' : '') . "@res", '0', "$label exits with status 0 on SIGTERM");
}

# standin_stderr(stand-in): what it wrote to stderr
sub standin_stderr
{
	my ($s) = @_;
	return -f "$s->{dir}/stderr" ? slurp_file("$s->{dir}/stderr") : '';
}

# standin_records(stand-in, kind): the records of its log (of that kind, if
# given), in log order; a line still being written is left out
sub standin_records
{
	my ($s, $kind) = @_;
	my @out;
	open(my $fh, '<', $s->{log}) or return [];
	while (my $l = <$fh>)
	{
		next unless $l =~ /\n\z/;
		my $e = eval { decode_json($l) } or next;
		push @out, $e if !defined $kind || ($e->{kind} // '') eq $kind;
	}
	close $fh;
	return \@out;
}

# standin_requests(stand-in, path): the requests it logged (of that path,
# if given), in the order it numbered them (seq)
sub standin_requests
{
	my ($s, $path) = @_;
	return [ sort { $a->{seq} <=> $b->{seq} }
		  grep { !defined $path || $_->{path} eq $path } @{ standin_records($s, 'request') } ];
}

# wait_requests(stand-in, path, n, seconds): until it logged n requests of
# the path
sub wait_requests
{
	my ($s, $path, $n, $secs) = @_;
	return wait_for("$n requests on $path", $secs, sub { @{ standin_requests($s, $path) } >= $n });
}

# standin_control(stand-in, {settings}): POST them to its control endpoint;
# its answer (the configuration), decoded; dies if it refuses
sub standin_control
{
	my ($s, $settings) = @_;
	my $res = $http->post("$s->{base}$s->{control}",
		{ content => encode_json($settings), headers => { 'content-type' => 'application/json' } });
	die "control of stand-in $s->{name} failed: $res->{status} $res->{content}" unless $res->{success};
	return decode_json($res->{content});
}

1;
