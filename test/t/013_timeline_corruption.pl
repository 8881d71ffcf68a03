# A damaged timeline index is reported, never crashes the server: the data
# pages of an index are overwritten with garbage while the server is down;
# then omni.timeline_check and scans fail with an error (index_corrupted),
# and the server keeps running.
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
	INSERT INTO ev SELECT g % 50, timestamptz '2026-01-01 00:00+00' + g * interval '1 second', g
	  FROM generate_series(1, 20000) g;
	CREATE INDEX ev_tl ON ev USING timeline (id, ts);
	CHECKPOINT;
});
is($node->safe_psql('postgres', q{SELECT live_rows FROM omni.timeline_check('ev_tl')}),
	'20000', 'the index is sound before the damage');
my $file = $node->data_dir . '/'
  . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('ev_tl')});
$node->stop;

# Overwrite the item area of the first data pages (blocks 1 to 3) with
# bytes that look like endless varints and wrong keys.
open(my $fh, '+<', $file) or die "could not open $file: $!";
binmode $fh;
for my $blk (1 .. 3)
{
	seek($fh, $blk * 8192 + 4096, 0) or die "seek failed: $!";
	print $fh ("\xFF" x 4000);
}
close($fh);
$node->start;

my ($rc, $out, $err) = $node->psql('postgres', q{SELECT * FROM omni.timeline_check('ev_tl')});
isnt($rc, 0, 'omni.timeline_check fails on the damaged index');
like($err, qr/timeline index "ev_tl"/, 'and names the index');

my $damaged = 0;
for my $k (0 .. 49)
{
	($rc, $out, $err) = $node->psql('postgres',
		"SET enable_seqscan = off; SET enable_bitmapscan = off; "
		  . "SELECT count(*) FROM (SELECT * FROM ev WHERE id = ANY ('{$k}') ORDER BY ts DESC) s");
	$damaged++ if $rc != 0 && $err =~ /timeline index "ev_tl"/;
}
cmp_ok($damaged, '>', 0, "scans of damaged keys fail with an error ($damaged of 50 keys)");
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is still up');

# REINDEX repairs it.
$node->safe_psql('postgres', 'REINDEX INDEX ev_tl');
is($node->safe_psql('postgres', q{SELECT live_rows FROM omni.timeline_check('ev_tl')}),
	'20000', 'REINDEX rebuilds a sound index');

$node->stop;
done_testing();
