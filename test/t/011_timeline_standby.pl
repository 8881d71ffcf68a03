# A streaming standby replays a timeline index (built with one full-page
# record per page, then changed by generic WAL records: appends, new
# segments, directory growth, VACUUM rewrites) and answers the same
# queries identically.  wal_consistency_checking makes the standby compare
# every replayed page with the primary's image.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "wal_consistency_checking = 'generic'\n");
$primary->start;
# consistency checking logs a full image with every record: keep the WAL
# for the standby with a slot
$primary->safe_psql('postgres', "SELECT pg_create_physical_replication_slot('standby')");
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->append_conf('postgresql.conf', "primary_slot_name = 'standby'\n");
$standby->start;

$primary->safe_psql('postgres', q{
	CREATE EXTENSION omnichannel;
	CREATE TABLE ev (id bigint, ts timestamptz, v bigint);
	INSERT INTO ev SELECT g % 300, timestamptz '2026-01-01 00:00+00' + g * interval '1 second', g
	  FROM generate_series(1, 30000) g;
	CREATE INDEX ev_tl ON ev USING timeline (id, ts);
	INSERT INTO ev SELECT (g * 7) % 500 - 100, timestamptz '2026-02-01 00:00+00' + g * interval '1 second', 100000 + g
	  FROM generate_series(1, 20000) g;
	INSERT INTO ev VALUES (35184372088832, now(), -1), (-35184372088832, now(), -2), (1, NULL, -3);
	DELETE FROM ev WHERE v % 4 = 0;
	VACUUM ev;
	INSERT INTO ev SELECT g % 300, timestamptz '2026-01-15 00:00+00' + g * interval '1 second', 200000 + g
	  FROM generate_series(1, 5000) g;
});
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));

# A new backend whose first statement is planned: opening the timeline
# index during planning loads the library, whose planner hook then offers
# the ordered path, so the plan has no Sort.
my $first = $standby->safe_psql('postgres',
	q{EXPLAIN (COSTS OFF) SELECT v FROM ev WHERE id = ANY ('{1,2,3}') ORDER BY ts DESC LIMIT 5});
like($first, qr/Index Scan Backward using ev_tl/, 'a new backend plans the merged newest-first scan');
unlike($first, qr/Sort/, 'with no Sort');

my @queries = (
	q{SELECT v FROM ev WHERE id = ANY ('{1,2,3,-50,399,35184372088832,-35184372088832}') ORDER BY ts DESC, v LIMIT 300},
	q{SELECT v FROM ev WHERE id = ANY ('{1,2,3,-50,399}') ORDER BY ts, v},
	q{SELECT v FROM ev WHERE id = 7 AND ts >= '2026-01-10 00:00+00' ORDER BY ts DESC, v},
	q{SELECT count(*) FROM ev WHERE id = ANY ('{4,5,6,7,8,9}')});
for my $q (@queries)
{
	my $forced = "SET enable_seqscan = off; SET enable_bitmapscan = off; "
	  . "SELECT md5(string_agg(x::text, ',')) || count(*) FROM ($q) x";
	my $on_primary = $primary->safe_psql('postgres', $forced);
	my $on_standby = $standby->safe_psql('postgres', $forced);
	my $seq = $primary->safe_psql('postgres',
		"SET enable_indexscan = off; SET enable_bitmapscan = off; SELECT md5(string_agg(x::text, ',')) || count(*) FROM ($q) x");
	is($on_standby, $on_primary, "standby answers as the primary: $q");
	is($on_primary, $seq, "the primary's index answers as a sequential scan: $q");
	like($standby->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) $q"),
		qr/ev_tl/, 'the standby used the timeline index');
}
is($standby->safe_psql('postgres',
	q{SELECT live_rows = (SELECT count(*) FROM ev WHERE id IS NOT NULL) FROM omni.timeline_check('ev_tl')}),
	't', 'omni.timeline_check passes on the standby');

$standby->stop;
$primary->stop;
done_testing();
