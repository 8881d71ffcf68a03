# Crash recovery of a timeline index: an immediate shutdown while many
# transactions insert (and a VACUUM has rewritten segments), then restart;
# the recovered index passes omni.timeline_check and answers every query
# exactly as a sequential scan does.  WAL consistency checking of generic
# records is on, so each replayed record is compared with the page it
# was made from.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', q{
wal_consistency_checking = 'generic'
checkpoint_timeout = 30s
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION omnichannel;
	CREATE TABLE ev (id bigint, ts timestamptz, v bigint);
	INSERT INTO ev SELECT g % 400, timestamptz '2026-01-01 00:00+00' + g * interval '1 second', g
	  FROM generate_series(1, 40000) g;
	CREATE INDEX ev_tl ON ev USING timeline (id, ts);
	DELETE FROM ev WHERE v % 5 = 0;
	VACUUM ev;
	CREATE PROCEDURE load(n int) LANGUAGE plpgsql AS $$
	BEGIN
		FOR i IN 1..n LOOP
			INSERT INTO ev
			SELECT (i * 37 + g) % 700 - 100,
			       timestamptz '2026-02-01 00:00+00' + (i * 100 + g) * interval '1 second'
			         - CASE WHEN g % 17 = 0 THEN interval '20 days' ELSE interval '0' END,
			       1000000 + i * 100 + g
			  FROM generate_series(1, 50) g;
			COMMIT;
		END LOOP;
	END
	$$;
});

# Inserts in the background; crash in the middle of them.
my ($out, $err) = ('', '');
my $h = IPC::Run::start(
	[ 'psql', '-X', '-d', $node->connstr('postgres'), '-c', 'CALL load(1000000)' ],
	'>', \$out, '2>', \$err);
$node->poll_query_until('postgres', 'SELECT count(*) > 60000 FROM ev')
  or die 'the background inserts did not progress';
$node->safe_psql('postgres', 'CHECKPOINT');
$node->poll_query_until('postgres', 'SELECT count(*) > 90000 FROM ev')
  or die 'the background inserts did not progress';
$node->stop('immediate');
$h->finish;
$node->start;

my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM ev');
cmp_ok($rows, '>', 90000, "rows survived the crash ($rows)");

my $check = $node->safe_psql('postgres',
	q{SELECT entries >= live_rows AND live_rows = (SELECT count(*) FROM ev WHERE id IS NOT NULL)
	    FROM omni.timeline_check('ev_tl')});
is($check, 't', 'omni.timeline_check passes after recovery');

# Every query, by index and by sequential scan.
my @queries = (
	q{SELECT v FROM ev WHERE id = ANY ('{1,2,3,-50,699,123}') ORDER BY ts DESC, v LIMIT 200},
	q{SELECT v FROM ev WHERE id = ANY ('{1,2,3,-50,599,123}') ORDER BY ts, v},
	q{SELECT v FROM ev WHERE id = 7 ORDER BY ts DESC, v},
	q{SELECT v FROM ev WHERE id = ANY ('{10,20,30,40,50,60,70,80,90,100,110,120,130,140,150,160,170,180,190,200}')
	    AND ts < '2026-02-03 00:00+00' ORDER BY ts DESC, v LIMIT 500},
	q{SELECT ts FROM ev WHERE id = ANY ('{5,6,-7}') ORDER BY ts DESC});
for my $q (@queries)
{
	my $idx = $node->safe_psql('postgres',
		"SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT md5(string_agg(x::text, ',')) || count(*) FROM ($q) x");
	my $seq = $node->safe_psql('postgres',
		"SET enable_indexscan = off; SET enable_bitmapscan = off; SELECT md5(string_agg(x::text, ',')) || count(*) FROM ($q) x");
	is($idx, $seq, "same rows by index and by sequential scan: $q");
	my $plan = $node->safe_psql('postgres',
		"SET enable_seqscan = off; SET enable_bitmapscan = off; EXPLAIN (COSTS OFF) $q");
	like($plan, qr/ev_tl/, 'the query used the timeline index');
}

# The index keeps working: insert, vacuum, check again.
$node->safe_psql('postgres', q{
	INSERT INTO ev SELECT g % 50, now(), -g FROM generate_series(1, 5000) g;
	DELETE FROM ev WHERE v % 3 = 0;
	VACUUM ev;
});
is($node->safe_psql('postgres',
	q{SELECT live_rows = (SELECT count(*) FROM ev WHERE id IS NOT NULL) FROM omni.timeline_check('ev_tl')}),
	't', 'omni.timeline_check passes after more inserts and a VACUUM');

$node->stop;
done_testing();
