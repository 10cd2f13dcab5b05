
# 002_capture_crash.pl: change capture across a backend crash and a server
# crash.
#
#  1. kill -9 of a backend in the middle of a transaction that has logged
#     events (and whose log rows were flushed to disk by a CHECKPOINT): the
#     postmaster restarts all backends; none of that transaction's events
#     is visible in change_log or delivered, every committed event is.
#  2. several committed transactions (some ticked, some not yet, one only
#     in WAL), a consumer with one batch finished and one open, and a
#     transaction in flight (its log rows flushed); then an immediate stop (no shutdown checkpoint, WAL replay on
#     start): after a tick the consumer gets the open batch again and then
#     everything else -- every committed event delivered exactly once over
#     the whole test, nothing of the in-flight transaction.
#
# Every wait is bounded: pg_ctl -w (60 s) for start/stop, a timeout on every
# psql call and background session, poll_query_until / wait_for_log
# (timeout_default) for the crash restart.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $timeout = $PostgreSQL::Test::Utils::timeout_default;

my $node = PostgreSQL::Test::Cluster->new('capture_crash');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'globalsync'
restart_after_crash = on
# nothing may prune the dead log rows before the test has looked at them
autovacuum = off
});
$node->start;

# psql with a bound on how long it may take; dies on any error.
sub run_sql
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql, timeout => $timeout);
}

# --------------------------------------------------------------------
# setup: two tracked tables, a consumer, and a drain that records what it
# delivered (in the same transaction as finish_batch)
# --------------------------------------------------------------------
run_sql(q{
CREATE EXTENSION globalsync;
CREATE EXTENSION pageinspect;
CREATE TABLE crash_items (id int PRIMARY KEY, note text, payload text);
CREATE TABLE crash_pairs (a int, b text, val int, PRIMARY KEY (a, b));
SELECT globalsync.track('crash_items');
SELECT globalsync.track('crash_pairs');
SELECT globalsync.register_consumer('crash_reader');

CREATE TABLE delivered (batch_id bigint, event_id bigint, xid xid8, table_name text,
                        op "char", pk jsonb, note text);

-- Drain the consumer: every batch there is (at most 1000), each paged
-- through 100 events at a time and finished.  Returns the number of
-- batches and of events of our two tables it delivered.
CREATE FUNCTION drain(p_consumer text, OUT batches int, OUT events bigint)
    LANGUAGE plpgsql AS $$
DECLARE
    b record;
    e globalsync.change_log;
    v_after bigint;
    v_got int;
BEGIN
    batches := 0;
    events := 0;
    FOR i IN 1..1001 LOOP
        IF i > 1000 THEN
            RAISE EXCEPTION 'consumer % still has batches after 1000', p_consumer;
        END IF;
        SELECT * INTO b FROM globalsync.next_batch(p_consumer);
        EXIT WHEN b.batch_id IS NULL;
        batches := batches + 1;
        v_after := 0;
        FOR p IN 1..10001 LOOP
            IF p > 10000 THEN
                RAISE EXCEPTION 'batch % has more than 10000 pages', b.batch_id;
            END IF;
            v_got := 0;
            FOR e IN SELECT * FROM globalsync.batch_events(b.batch_id, v_after, 100) LOOP
                v_got := v_got + 1;
                v_after := e.event_id;
                IF e.table_name IN ('public.crash_items', 'public.crash_pairs') THEN
                    INSERT INTO delivered VALUES (b.batch_id, e.event_id, e.xid, e.table_name,
                                                  e.op, e.pk, e.row_data->>'note');
                    events := events + 1;
                END IF;
            END LOOP;
            EXIT WHEN v_got < 100;
        END LOOP;
        IF NOT globalsync.finish_batch(b.batch_id) THEN
            RAISE EXCEPTION 'could not finish batch %', b.batch_id;
        END IF;
    END LOOP;
END
$$;
});

# events of our tables in the log, as any session sees them
sub logged
{
	my ($where) = @_;
	$where = defined $where ? "AND ($where)" : '';
	return run_sql(
		"SELECT count(*) FROM globalsync.change_log
		  WHERE table_name IN ('public.crash_items', 'public.crash_pairs') $where");
}

# Log rows physically on disk (live or dead) written by a transaction: so
# the crash really left rows of the unfinished transaction behind.  Run it
# before anything else reads the log (a read may prune dead rows).
sub on_disk
{
	my ($xid8) = @_;
	my $xid = $xid8 % 4294967296;
	return run_sql(qq{
SELECT count(*)
  FROM unnest(ARRAY['globalsync.change_log_0', 'globalsync.change_log_1', 'globalsync.change_log_2']) r,
       generate_series(0, (pg_relation_size(r) / current_setting('block_size')::int)::int - 1) blk,
       heap_page_items(get_raw_page(r, blk)) i
 WHERE i.t_xmin::text::bigint = $xid;
});
}

# delivered: total, distinct events, transactions split over two batches
my $delivered_sql = q{
SELECT count(*), count(DISTINCT event_id),
       (SELECT count(*) FROM (SELECT xid FROM delivered GROUP BY xid
                               HAVING count(DISTINCT batch_id) > 1) s)
  FROM delivered;
};

# A transaction left open in a background session: it logs events, then a
# CHECKPOINT (from another session) writes its log rows to disk, so after
# the crash they are there, on disk, from a transaction that never committed.
# Returns the session, its backend pid and its xid.
sub start_in_flight
{
	my ($from, $to, $label) = @_;
	my $bg = $node->background_psql('postgres', timeout => $timeout);
	$bg->query_safe('BEGIN');
	$bg->query_safe(
		"INSERT INTO crash_items SELECT g, '$label', repeat('x', 200)
		   FROM generate_series($from, $to) g");
	# also updates and deletes of committed rows, and the other table
	$bg->query_safe("UPDATE crash_items SET note = '$label' WHERE id BETWEEN 1 AND 5");
	$bg->query_safe("DELETE FROM crash_items WHERE id BETWEEN 6 AND 8");
	$bg->query_safe("INSERT INTO crash_pairs VALUES (-1, '$label', 0)");
	my $xid = $bg->query_safe('SELECT pg_current_xact_id()');
	my $pid = $bg->query_safe('SELECT pg_backend_pid()');
	my $own = $bg->query_safe(
		"SELECT count(*) FROM globalsync.change_log WHERE xid = pg_current_xact_id()");
	is($own, ($to - $from + 1) + 5 + 3 + 1,
		"$label: the open transaction sees its own events in the log");
	run_sql('CHECKPOINT');
	return ($bg, $pid, $xid);
}

# --------------------------------------------------------------------
# 1. kill -9 of a backend mid-transaction
# --------------------------------------------------------------------
my $committed = 0;

run_sql(q{
INSERT INTO crash_items SELECT g, 'before-kill', repeat('y', 100) FROM generate_series(1, 50) g;
});
$committed += 50;
run_sql(q{UPDATE crash_items SET note = 'before-kill-upd' WHERE id <= 10});
$committed += 10;
run_sql(q{INSERT INTO crash_pairs SELECT g, 'k', g FROM generate_series(1, 20) g});
$committed += 20;
run_sql('SELECT globalsync.tick()');

my ($bg, $pid, $xid) = start_in_flight(1001, 1200, 'in-flight-kill');
# a tick that sees the transaction in progress: its events must come in no
# batch, neither this one nor any later
run_sql('SELECT globalsync.tick()');
my $log_offset = -s $node->logfile;

ok(kill('KILL', $pid), "kill -9 of backend $pid");

# the postmaster notices, terminates every backend and reinitializes
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
# the killed session's psql: gone with its connection (its exit status is
# of no interest)
eval { $bg->quit; };
ok( $node->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()'),
	'server accepts connections again after the crash restart');

is(on_disk($xid), 209,
	'the killed transaction\'s 209 log rows are on disk after the restart');
is(run_sql("SELECT pg_xact_status('$xid'::xid8)"), 'aborted',
	'the killed transaction is aborted');
is(logged("xid = '$xid'::xid8"), '0',
	'no event of the killed transaction is visible in change_log');
is(logged("row_data->>'note' = 'in-flight-kill' OR pk->>'b' = 'in-flight-kill'"), '0',
	'no row written by the killed transaction is in change_log');
is(logged(), $committed, "all $committed committed events are in change_log");
is(run_sql("SELECT count(*) FROM crash_items WHERE note = 'in-flight-kill' OR id > 1000"), '0',
	'the killed transaction left no rows in the table');

run_sql('SELECT globalsync.tick()');
my ($batches, $events) = split /\|/, run_sql("SELECT * FROM drain('crash_reader')");
is($events, $committed, "after the kill, the consumer gets all $committed committed events");
cmp_ok($batches, '>=', 3, "in several batches ($batches)");
is(run_sql($delivered_sql), "$committed|$committed|0",
	'each delivered once, no transaction split over two batches');
is(run_sql("SELECT count(*) FROM delivered WHERE xid = '$xid'::xid8 OR note = 'in-flight-kill'"),
	'0', 'nothing of the killed transaction delivered');

# capture still works in the restarted backends
run_sql(q{INSERT INTO crash_items VALUES (100, 'after-kill', NULL)});
$committed += 1;

# --------------------------------------------------------------------
# 2. server crash: immediate stop, WAL replay
# --------------------------------------------------------------------
# committed in several transactions; the first ones ticked and the consumer
# finishes one batch of them, opens the next and does not finish it; the
# last ones committed after the last tick
for my $i (1 .. 4)
{
	my $from = 2000 + $i * 1000;
	my $to = $from + 249;
	run_sql(
		"INSERT INTO crash_items SELECT g, 'batch-$i', repeat('z', 300)
		   FROM generate_series($from, $to) g");
	$committed += 250;
	run_sql('SELECT globalsync.tick()') if $i <= 2;
}
run_sql(q{UPDATE crash_items SET note = 'updated' WHERE id BETWEEN 3000 AND 3099});
$committed += 100;
run_sql(q{DELETE FROM crash_items WHERE id BETWEEN 4000 AND 4049});
$committed += 50;
run_sql(q{
BEGIN;
INSERT INTO crash_pairs SELECT g, 'crash', g FROM generate_series(1, 30) g;
UPDATE crash_pairs SET val = -val WHERE b = 'crash' AND a <= 10;
COMMIT;
});
$committed += 40;

# the consumer: finish the batch of the first tick (the after-kill insert
# and batch-1), open the next one (batch-2) and leave it open.  (next_batch
# and batch_events in separate statements: batch_events is STABLE and does
# not see a batch opened earlier in the same statement.)
my $first_batch = run_sql(q{SELECT batch_id FROM globalsync.next_batch('crash_reader')});
like($first_batch, qr/^\d+$/, 'a batch before the crash');
is( run_sql(qq{
SELECT string_agg(DISTINCT e.row_data->>'note', ',' ORDER BY e.row_data->>'note')
  FROM globalsync.batch_events($first_batch, 0, 10000) e;
}),
	'after-kill,batch-1', 'it holds the after-kill insert and batch-1');
my $finished_events = run_sql(qq{
BEGIN;
INSERT INTO delivered
SELECT $first_batch, e.event_id, e.xid, e.table_name, e.op, e.pk, e.row_data->>'note'
  FROM globalsync.batch_events($first_batch, 0, 10000) e;
SELECT globalsync.finish_batch($first_batch);
SELECT count(*) FROM delivered WHERE batch_id = $first_batch;
COMMIT;
});
is($finished_events, "t\n251", 'delivered its 251 events and finished it');
$finished_events = 251;
my $open_batch = run_sql(q{SELECT batch_id FROM globalsync.next_batch('crash_reader')});
like($open_batch, qr/^\d+$/, 'opened the next batch and left it unfinished');
isnt($open_batch, $first_batch, 'a new batch');
is( run_sql(
		"SELECT count(*), min(row_data->>'note'), max(row_data->>'note')
		   FROM globalsync.batch_events($open_batch, 0, 10000)"),
	'250|batch-2|batch-2', 'the open batch holds batch-2');

my ($bg2, $pid2, $xid2) = start_in_flight(20001, 20500, 'in-flight-crash');
# committed after that CHECKPOINT: at the crash, only in WAL
run_sql(q{
INSERT INTO crash_items SELECT g, 'after-checkpoint', NULL FROM generate_series(30001, 30060) g;
});
$committed += 60;
# and a tick while it is in flight, after all the commits
run_sql('SELECT globalsync.tick()');
my $log_before = logged();
is($log_before, $committed, "$committed committed events in the log before the crash");

$node->stop('immediate');
eval { $bg2->quit; };
$node->start;

is(on_disk($xid2), 509,
	'the in-flight transaction\'s 509 log rows are on disk after WAL replay');
is(run_sql("SELECT pg_xact_status('$xid2'::xid8)"), 'aborted',
	'the transaction in flight at the crash is aborted');
is(logged("xid = '$xid2'::xid8"), '0',
	'no event of the in-flight transaction is visible in change_log');
is(logged("row_data->>'note' = 'in-flight-crash' OR pk->>'b' = 'in-flight-crash'"), '0',
	'no row written by the in-flight transaction is in change_log');
is(logged(), $committed, "all $committed committed events are still in change_log");

# the open batch is returned again after the crash (at least once)
is(run_sql(q{SELECT batch_id FROM globalsync.next_batch('crash_reader')}),
	$open_batch, 'the batch left open before the crash is returned again');

run_sql('SELECT globalsync.tick()');
($batches, $events) = split /\|/, run_sql("SELECT * FROM drain('crash_reader')");
is( $events,
	$committed - 80 - $finished_events,
	'after the crash the consumer gets every committed event it had not finished');
is(run_sql($delivered_sql), "$committed|$committed|0",
	"over the whole test: all $committed committed events delivered, each once, no transaction split");
is( run_sql(
		"SELECT count(*) FROM globalsync.change_log l
		  WHERE l.table_name IN ('public.crash_items', 'public.crash_pairs')
		    AND NOT EXISTS (SELECT FROM delivered d WHERE d.event_id = l.event_id)"),
	'0', 'no logged event left undelivered');
is( run_sql(
		"SELECT count(*) FROM delivered
		  WHERE xid = '$xid2'::xid8 OR note = 'in-flight-crash' OR pk->>'b' = 'in-flight-crash'"),
	'0', 'nothing of the in-flight transaction delivered');
is( run_sql(
		"SELECT string_agg(op::text || ':' || n, ' ' ORDER BY op)
		   FROM (SELECT op, count(*) AS n FROM delivered GROUP BY op) s"),
	'D:50 I:1161 U:120', 'delivered inserts, updates and deletes by count');

# capture and batches keep working after the crash
run_sql(q{INSERT INTO crash_items VALUES (200, 'after-crash', NULL)});
run_sql('SELECT globalsync.tick()');
is(run_sql("SELECT events FROM drain('crash_reader')"), '1',
	'a change after the crash is captured and delivered');

$node->stop;
done_testing();
