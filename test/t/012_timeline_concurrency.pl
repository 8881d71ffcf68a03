# Real concurrency on a timeline index: pgbench clients insert (in time
# order and late, under known and new keys), scan newest-first across
# several keys checking the order, delete and VACUUM, and run
# omni.timeline_check, all at once (the check must not take the segments
# the inserts add meanwhile for corruption); then omni.timeline_check
# passes and the index answers exactly as a sequential scan.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION omnichannel;
	CREATE TABLE ev (id bigint, ts timestamptz, v bigint);
	INSERT INTO ev SELECT g % 300, now() - g * interval '1 second', g FROM generate_series(1, 30000) g;
	CREATE INDEX ev_tl ON ev USING timeline (id, ts);
	ALTER DATABASE postgres SET enable_seqscan = off;
	ALTER DATABASE postgres SET enable_bitmapscan = off;
	CREATE FUNCTION check_order(k bigint) RETURNS bigint LANGUAGE plpgsql AS $$
	DECLARE
		prev timestamptz;
		r record;
		n bigint := 0;
	BEGIN
		FOR r IN SELECT ts FROM ev WHERE id = ANY (ARRAY[k, k + 1, k + 7, k + 50])
		          ORDER BY ts DESC LIMIT 300 LOOP
			IF prev IS NOT NULL AND r.ts > prev THEN
				RAISE EXCEPTION 'timeline scan out of order for key %', k;
			END IF;
			prev := r.ts;
			n := n + 1;
		END LOOP;
		RETURN n;
	END
	$$;
});

$node->pgbench(
	'--no-vacuum --client=6 --time=8',
	0,
	[qr{processed: [1-9]}],
	[qr{^$}],
	'concurrent inserts, scans and VACUUM',
	{
		'001_insert@6' => q{
			\set k random(0, 320)
			\set n random(1000, 100000)
			INSERT INTO ev VALUES (:k, now(), 1), (:k + 1, now() - interval '1 day' * random(), 2), (:n, now(), 3);
		},
		'002_scan@6' => q{
			\set k random(0, 250)
			SELECT check_order(:k);
		},
		'003_vacuum@1' => q{
			DELETE FROM ev WHERE v % 97 = 0 AND random() < 0.3;
			VACUUM ev;
		},
		'004_check@1' => q{
			SELECT keys > 0 FROM omni.timeline_check('ev_tl');
		}
	});

my $check = $node->safe_psql('postgres',
	q{SELECT live_rows = (SELECT count(*) FROM ev WHERE id IS NOT NULL) FROM omni.timeline_check('ev_tl')});
is($check, 't', 'omni.timeline_check passes after the concurrent run');

for my $q (
	q{SELECT v, ts FROM ev WHERE id = ANY ('{1,2,3,150,299,320}') ORDER BY ts DESC, v LIMIT 500},
	q{SELECT v, ts FROM ev WHERE id = ANY ('{4,5,6}') ORDER BY ts, v})
{
	my $idx = $node->safe_psql('postgres', "SELECT md5(string_agg(x::text, ',')) || count(*) FROM ($q) x");
	my $seq = $node->safe_psql('postgres',
		"SET enable_seqscan = on; SET enable_indexscan = off; SELECT md5(string_agg(x::text, ',')) || count(*) FROM ($q) x");
	is($idx, $seq, "same rows by index and by sequential scan: $q");
}

$node->stop;
done_testing();
