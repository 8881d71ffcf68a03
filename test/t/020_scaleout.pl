# Scale-out with postgres_fdw: a coordinator and two shard servers on
# loopback, omnichannel installed on every node and listed in the foreign
# servers' "extensions" option.  The coordinator's extension is created with
# omni.touchpoint_layout = 'partitioned': omni.touchpoint itself is
# partitioned by hash of customer_id, each partition a foreign table on one
# shard.  Touchpoints are ingested on the coordinator through the extension
# and land on their customer's shard.  Grouped by the partition key, with
# enable_partitionwise_aggregate, the journey aggregate (and the journey
# functions over it) run on the shards, and the journeys are the same as
# those of a single-node database (the plain layout) holding the same data,
# also after a merge that moves a customer's touchpoints to another shard
# and after its unmerge.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $top = abs_path(dirname(__FILE__) . '/../..');

# Shards: TCP on 127.0.0.1, the extension (for the aggregate and the journey
# functions) and one plain table each, with the columns of omni.touchpoint.
my @shards;
for my $i (0, 1)
{
	my $shard = PostgreSQL::Test::Cluster->new("shard$i");
	$shard->init;
	$shard->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1'");
	$shard->start;
	$shard->safe_psql('postgres', qq{
		CREATE EXTENSION omnichannel;
		CREATE TABLE public.touchpoint_shard$i (
			touchpoint_id  bigint NOT NULL,
			identity_id    bigint NOT NULL,
			customer_id    bigint NOT NULL,
			ts             timestamptz NOT NULL,
			channel        text NOT NULL,
			event          text NOT NULL CHECK (event <> ''),
			campaign       text,
			topic          text,
			properties     jsonb NOT NULL DEFAULT '{}',
			PRIMARY KEY (customer_id, touchpoint_id)
		);
	});
	push @shards, $shard;
}

# Coordinator: database "postgres" with the partitioned layout, and the
# single-node reference, database "single", with the plain layout.
my $coord = PostgreSQL::Test::Cluster->new('coordinator');
$coord->init;
$coord->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1'");
$coord->start;
$coord->safe_psql('postgres', q{
	CREATE DATABASE single;
	ALTER DATABASE postgres SET omni.touchpoint_layout = 'partitioned';
});
$coord->safe_psql('single', 'CREATE EXTENSION omnichannel');
$coord->safe_psql('postgres', 'CREATE EXTENSION omnichannel; CREATE EXTENSION postgres_fdw');
is($coord->safe_psql('postgres', q{SELECT relkind FROM pg_class WHERE oid = 'omni.touchpoint'::regclass}), 'p',
	'the coordinator\'s omni.touchpoint is partitioned');
for my $i (0, 1)
{
	my $port = $shards[$i]->port;
	$coord->safe_psql('postgres', qq{
		CREATE SERVER shard$i FOREIGN DATA WRAPPER postgres_fdw
			OPTIONS (host '127.0.0.1', port '$port', dbname 'postgres', extensions 'omnichannel',
			         async_capable 'true', fetch_size '1000');
		CREATE USER MAPPING FOR CURRENT_USER SERVER shard$i;
		CREATE FOREIGN TABLE public.touchpoint_shard$i PARTITION OF omni.touchpoint
			FOR VALUES WITH (MODULUS 2, REMAINDER $i) SERVER shard$i
			OPTIONS (schema_name 'public', table_name 'touchpoint_shard$i');
	});
}

# The same generated data in both databases, through identity resolution
# (test/data/load.sql) and omni.touch.
my $touches = q{
	SELECT omni.touch('email', 'new.one@scale.test', 'web', 'page_view', '2026-02-01 10:00+00');
	SELECT omni.touch('email', 'new.one@scale.test', 'email', 'email_open', '2026-02-01 11:00+00');
	SELECT omni.touch('email', 'new.two@scale.test', 'app', 'purchase', '2026-02-02 09:00+00', topic => 'hat');
};
for my $db ('postgres', 'single')
{
	my ($rc, $out, $err) = $coord->psql($db,
		"\\set ON_ERROR_STOP 1\n\\i $top/test/data/generate.sql\n"
		  . "SELECT * FROM gen.generate(seed => 7, customers => 300, touchpoints_per_customer => 20);\n"
		  . "\\i $top/test/data/load.sql\n$touches\nANALYZE;\n");
	is($rc, 0, "$db: generated data loads") or diag($err);
}
is($coord->safe_psql('postgres', 'SELECT customer_id, string_agg(kind || value, \',\' ORDER BY kind, value) FROM omni.identity GROUP BY 1 ORDER BY 1'),
	$coord->safe_psql('single', 'SELECT customer_id, string_agg(kind || value, \',\' ORDER BY kind, value) FROM omni.identity GROUP BY 1 ORDER BY 1'),
	'the same customers, with the same ids, in both databases');

my $total = $coord->safe_psql('single', 'SELECT count(*) FROM omni.touchpoint');
cmp_ok($total, '>', 3000, "a few thousand touchpoints ($total)");
is($coord->safe_psql('postgres', 'SELECT count(*) FROM omni.touchpoint'), $total, 'as many on the coordinator');
my $on_shards = sub {
	my @n = map { $shards[$_]->safe_psql('postgres', "SELECT count(*) FROM public.touchpoint_shard$_") } (0, 1);
	return @n;
};
my @on_shard = $on_shards->();
cmp_ok($on_shard[$_], '>', 0, "shard$_ holds rows ($on_shard[$_])") for (0, 1);
is($on_shard[0] + $on_shard[1], $total, 'every row is on exactly one shard');
my $one_shard = sub {
	my @keys = map { $shards[$_]->safe_psql('postgres',
			"SELECT string_agg(DISTINCT customer_id::text, ',') FROM public.touchpoint_shard$_") } (0, 1);
	my %on0 = map { $_ => 1 } split /,/, $keys[0];
	return scalar(grep { $on0{$_} } split /,/, $keys[1]);
};
is($one_shard->(), 0, 'each customer lives on one shard');
my $consistent = q{SELECT count(*) FROM omni.touchpoint t JOIN omni.identity i USING (identity_id) WHERE t.customer_id <> i.customer_id};
is($coord->safe_psql('postgres', $consistent), '0', 'every touchpoint carries its identifier\'s customer');

# Runs a query on the coordinator (the sharded omni.touchpoint) and on the
# single node, and checks both give the same rows.
sub same_as_local
{
	my ($query, $name, $settings) = @_;
	$settings //= 'SET enable_partitionwise_aggregate = on;';
	my $sharded = $coord->safe_psql('postgres', "$settings $query");
	my $single = $coord->safe_psql('single', $query);
	isnt($single, '', "$name: the single node gives rows");
	is($sharded, $single, "$name: sharded and single-node results are identical");
	return $sharded;
}

sub explain_plan
{
	my ($query, $settings) = @_;
	$settings //= 'SET enable_partitionwise_aggregate = on;';
	return $coord->safe_psql('postgres', "$settings EXPLAIN (VERBOSE, COSTS OFF) $query");
}

# 1. The journeys themselves, compared by their text (JSON) form.
my $journeys = q{SELECT customer_id, omni.journey(ts, channel, event)::text
	FROM omni.touchpoint GROUP BY customer_id ORDER BY customer_id};
my $plan = explain_plan($journeys);
note $plan;
for my $i (0, 1)
{
	like($plan,
		qr/Async Foreign Scan\n.*\n\s+Relations: Aggregate on \(public\.touchpoint_shard$i touchpoint(_\d+)?\)\n\s+Remote SQL: SELECT customer_id, omni\.journey\(ts, channel, event\) FROM public\.touchpoint_shard$i GROUP BY 1/,
		"the journey aggregate runs on shard$i (inside the Foreign Scan's Remote SQL)");
}
unlike($plan, qr/Aggregate\s*$|(Hash|Group)Aggregate|Partial|Finalize/m,
	'no aggregation is left on the coordinator');
my $js = same_as_local($journeys, 'journeys');
like($js, qr/^\d+\|\[\{"ts": "[^"]+", "channel": "[a-z_]+"/, 'journeys are read back in their text form');
is(scalar(split /\n/, $js), $coord->safe_psql('single',
		'SELECT count(DISTINCT customer_id) FROM omni.touchpoint'), 'one journey per customer');

# 2. Journey functions over the aggregate.  Those without text arguments
# (path, sessions, length) are shipped with it.  omni.funnel takes a text[]
# constant, and postgres_fdw ships a function with a collatable input only
# when its collation comes from a foreign column: the shard returns the
# journey and the coordinator computes the funnel level from it.
my $functions = q{SELECT customer_id, omni.path(omni.journey(ts, channel, event)),
		omni.funnel(omni.journey(ts, channel, event), '1 day', ARRAY['page_view', 'add_to_cart', 'purchase']),
		omni.sessions(omni.journey(ts, channel, event), '30 minutes'),
		omni.length(omni.journey(ts, channel, event))
	FROM omni.touchpoint GROUP BY customer_id ORDER BY customer_id};
$plan = explain_plan($functions);
note $plan;
like($plan, qr/Remote SQL: SELECT customer_id, omni\.path\(omni\.journey\(ts, channel, event\), true\), omni\.journey\(ts, channel, event\), omni\.sessions\(omni\.journey\(ts, channel, event\), '00:30:00'::interval\), omni\.length\(omni\.journey\(ts, channel, event\)\) FROM public\.touchpoint_shard0 GROUP BY 1/,
	'omni.path, omni.sessions and omni.length are computed on the shards, and the journey omni.funnel reads');
like($plan, qr/Output: .*omni\.funnel\(\(omni\.journey\(touchpoint\.ts, touchpoint\.channel, touchpoint\.event\)\), '1 day'::interval/,
	'omni.funnel reads the journey computed by the shard');
unlike($plan, qr/Aggregate\s*$|(Hash|Group)Aggregate|Partial|Finalize/m,
	'no aggregation is left on the coordinator');
same_as_local($functions, 'path, funnel, sessions and length');

# 3. A WHERE clause on the touchpoints is shipped too.
my $filtered = q{SELECT customer_id, omni.journey(ts, channel, event)::text
	FROM omni.touchpoint WHERE channel <> 'email' AND ts >= '2026-01-01'
	GROUP BY customer_id ORDER BY customer_id};
$plan = explain_plan($filtered);
like($plan, qr/Remote SQL: SELECT customer_id, omni\.journey\(ts, channel, event\) FROM public\.touchpoint_shard0 WHERE .*channel <> 'email'.* GROUP BY 1/,
	'the filter and the aggregate run on the shards');
same_as_local($filtered, 'journeys of filtered touchpoints');

# 4. Queries over the per-customer journeys: the journeys come from the
# shards, the outer aggregation runs on the coordinator.
my $report = q{SELECT omni.funnel(j, '1 day', ARRAY['page_view', 'add_to_cart', 'purchase']) AS level, count(*)
	FROM (SELECT customer_id, omni.journey(ts, channel, event) AS j
	        FROM omni.touchpoint GROUP BY customer_id) s
	GROUP BY 1 ORDER BY 1};
$plan = explain_plan($report);
like($plan, qr/Remote SQL: SELECT .*omni\.journey\(ts, channel, event\).* FROM public\.touchpoint_shard1 GROUP BY 1/,
	'funnel report: the journeys are built on the shards');
my $levels = same_as_local($report, 'funnel report over the journeys');
cmp_ok(scalar(split /\n/, $levels), '>', 1, 'the funnel report has several levels');
my $markov = q{SELECT omni.markov_attribution(j, 'purchase')::text
	FROM (SELECT customer_id, omni.journey(ts, channel, event) AS j
	        FROM omni.touchpoint GROUP BY customer_id) s};
like(same_as_local($markov, 'Markov attribution over the journeys'), qr/^\{"\([a-z_]+,/,
	'Markov attribution credits channels');

# 5. What is not pushed down: grouped by something other than the partition
# key, or without partitionwise aggregation, the rows come to the coordinator
# and it aggregates them (same journeys, more traffic).
my $by_channel = q{SELECT channel, omni.length(omni.journey(ts, channel, event))
	FROM omni.touchpoint GROUP BY channel ORDER BY channel};
$plan = explain_plan($by_channel);
note $plan;
unlike($plan, qr/Remote SQL: SELECT.*omni\.journey/, 'grouped by channel: the aggregate is not shipped');
like($plan, qr/Finalize|Aggregate/, 'grouped by channel: the coordinator aggregates');
same_as_local($by_channel, 'journeys grouped by channel');
$plan = explain_plan($journeys, 'SET enable_partitionwise_aggregate = off;');
unlike($plan, qr/Remote SQL: SELECT.*omni\.journey/,
	'without enable_partitionwise_aggregate the aggregate is not shipped');
same_as_local($journeys, 'journeys without partitionwise aggregation',
	'SET enable_partitionwise_aggregate = off;');

# Without the extensions option nothing of omnichannel is shipped.
$coord->safe_psql('postgres', q{ALTER SERVER shard0 OPTIONS (DROP extensions)});
$plan = explain_plan($journeys);
unlike($plan, qr/Remote SQL: SELECT.*omni\.journey\(ts, channel, event\) FROM public\.touchpoint_shard0/,
	'without extensions \'omnichannel\' the aggregate stays on the coordinator for shard0');
like($plan, qr/Remote SQL: SELECT.*omni\.journey\(ts, channel, event\) FROM public\.touchpoint_shard1/,
	'and is still shipped to shard1');
same_as_local($journeys, 'journeys with one shard not shipping');
$coord->safe_psql('postgres', q{ALTER SERVER shard0 OPTIONS (ADD extensions 'omnichannel')});

# A merge on the coordinator of two customers on different shards: the
# absorbed customer's touchpoints move to the survivor's shard.  PostgreSQL
# does not move rows out of a foreign partition on an UPDATE of the key, so
# in this layout the extension deletes them (DELETE ... RETURNING) and
# inserts them again, which routes each to the survivor's partition.
my $pick = sub {
	my ($i) = @_;
	return $shards[$i]->safe_psql('postgres', "SELECT min(customer_id) FROM public.touchpoint_shard$i");
};
my ($c0, $c1) = ($pick->(0), $pick->(1));
my $ident = sub {
	my ($c) = @_;
	return split /\|/, $coord->safe_psql('postgres', "SELECT kind, value FROM omni.identity WHERE customer_id = $c ORDER BY identity_id LIMIT 1");
};
my @i0 = $ident->($c0);
my @i1 = $ident->($c1);
my $rows_of = sub {
	my ($i, $c) = @_;
	return $shards[$i]->safe_psql('postgres', "SELECT count(*) FROM public.touchpoint_shard$i WHERE customer_id = $c");
};
my ($n0, $n1) = ($rows_of->(0, $c0), $rows_of->(1, $c1));
cmp_ok($n0, '>', 0, "customer $c0 has $n0 touchpoints on shard0");
cmp_ok($n1, '>', 0, "customer $c1 has $n1 touchpoints on shard1");

# An UPDATE that would move a touchpoint to another customer through a
# foreign partition is refused (the row would stay on the wrong shard).
my $tp = $shards[0]->safe_psql('postgres', "SELECT min(touchpoint_id) FROM public.touchpoint_shard0 WHERE customer_id = $c0");
my $other_identity = $coord->safe_psql('postgres', "SELECT min(identity_id) FROM omni.identity WHERE customer_id = $c1");
my ($rc, $out, $err) = $coord->psql('postgres',
	"UPDATE omni.touchpoint SET identity_id = $other_identity, customer_id = $c1 WHERE customer_id = $c0 AND touchpoint_id = $tp");
like($err, qr/ERROR:  cannot move a touchpoint of identity $other_identity to customer $c1 by an UPDATE of foreign partition "touchpoint_shard0"/,
	'moving a touchpoint by an UPDATE of a foreign partition is refused');

my $link = "SELECT omni.link('$i0[0]', '$i0[1]', '$i1[0]', '$i1[1]', 'test', '2026-06-01 00:00+00')";
$coord->safe_psql($_, $link) for ('postgres', 'single');
my $survivor = $coord->safe_psql('postgres', "SELECT customer_id FROM omni.identity WHERE kind = '$i0[0]' AND value = '$i0[1]'");
is($coord->safe_psql('postgres', "SELECT customer_id FROM omni.identity WHERE kind = '$i1[0]' AND value = '$i1[1]'"),
	$survivor, "customers $c0 and $c1 are merged into $survivor");
is($coord->safe_psql('single', "SELECT customer_id FROM omni.identity WHERE kind = '$i1[0]' AND value = '$i1[1]'"),
	$survivor, 'the same survivor on the single node');
my ($s_shard, $a_shard, $absorbed) = $survivor == $c0 ? (0, 1, $c1) : (1, 0, $c0);
is($rows_of->($s_shard, $survivor), $n0 + $n1, "all $n0 + $n1 touchpoints are on the survivor's shard$s_shard");
is($rows_of->($a_shard, $absorbed), '0', "none is left under the absorbed customer on shard$a_shard");
is($rows_of->($a_shard, $survivor), '0', "none is left on shard$a_shard under the survivor's key");
is(join(',', $on_shards->()), join(',', $s_shard == 1 ? ($on_shard[0] - $n0, $on_shard[1] + $n0) : ($on_shard[0] + $n1, $on_shard[1] - $n1)),
	'the shards\' counts moved by the absorbed customer\'s rows');
is($one_shard->(), 0, 'each customer still lives on one shard');
is($coord->safe_psql('postgres', $consistent), '0', 'every touchpoint carries its identifier\'s customer after the merge');
same_as_local($journeys, 'journeys after a merge across shards');
same_as_local(q{SELECT t.ts, t.channel, t.event, t.touchpoint_id FROM omni.timeline(} . $survivor . q{, 1000) t ORDER BY t.ts, t.touchpoint_id},
	'omni.timeline of the survivor');

# Recent-event suppression reads the survivor's touchpoints on its shard.
my $purchase = $coord->safe_psql('single', "SELECT ts + interval '1 hour' FROM omni.touchpoint WHERE customer_id = $survivor AND event = 'purchase' ORDER BY ts DESC LIMIT 1");
SKIP:
{
	skip 'the survivor made no purchase', 2 if $purchase eq '';
	my $q = qq{
		INSERT INTO omni.suppression_rule (name, kind, event, time_window)
		VALUES ('just_bought', 'recent_event', 'purchase', '1 day');
		SELECT status, reasons FROM omni.would_suppress('$i1[0]', '$i1[1]', 'email', created_at => '$purchase');
		DELETE FROM omni.suppression_rule WHERE name = 'just_bought';};
	my $r = $coord->safe_psql('single', $q);
	is($r, 'suppressed|{just_bought}', 'single node: a purchase an hour ago suppresses marketing');
	is($coord->safe_psql('postgres', $q), $r, 'the coordinator reads the purchase on the shard');
}

# The unmerge moves them back.
$coord->safe_psql($_, 'SELECT omni.unmerge((SELECT max(merge_id) FROM omni.merge_log))') for ('postgres', 'single');
is($rows_of->(0, $c0), $n0, "after the unmerge customer $c0 has its $n0 touchpoints on shard0 again");
is($rows_of->(1, $c1), $n1, "and customer $c1 its $n1 on shard1");
is(join(',', $on_shards->()), join(',', @on_shard), 'the shards hold what they held before the merge');
is($coord->safe_psql('postgres', $consistent), '0', 'every touchpoint carries its identifier\'s customer after the unmerge');
same_as_local($journeys, 'journeys after the unmerge');

# Re-resolution: a link staged in bulk and omni.resolve_all() merge two other
# customers of different shards; the rows move the same way.
my $second = sub {
	my ($i) = @_;
	return $shards[$i]->safe_psql('postgres',
		"SELECT customer_id FROM public.touchpoint_shard$i WHERE customer_id NOT IN ($c0, $c1) GROUP BY 1 ORDER BY 1 LIMIT 1");
};
my ($d0, $d1) = ($second->(0), $second->(1));
my @j0 = $ident->($d0);
my @j1 = $ident->($d1);
my ($m0, $m1) = ($rows_of->(0, $d0), $rows_of->(1, $d1));
my $resolve = qq{
	INSERT INTO omni.link_staging (kind_a, value_a, kind_b, value_b, source, observed_at)
	VALUES ('$j0[0]', '$j0[1]', '$j1[0]', '$j1[1]', 'import', '2026-06-02 00:00+00');
	SET client_min_messages = warning;
	SELECT merges, moved_identities FROM omni.resolve_all();};
is($coord->safe_psql('postgres', $resolve), $coord->safe_psql('single', $resolve),
	'omni.resolve_all on the coordinator merges as on the single node');
my $into = $coord->safe_psql('postgres', "SELECT customer_id FROM omni.identity WHERE kind = '$j1[0]' AND value = '$j1[1]'");
is($coord->safe_psql('postgres', "SELECT customer_id FROM omni.identity WHERE kind = '$j0[0]' AND value = '$j0[1]'"),
	$into, "customers $d0 and $d1 are one ($into)");
my $into_shard = $into == $d0 ? 0 : $into == $d1 ? 1 : undef;
ok(defined $into_shard, 'the merged customer keeps one of the two keys') or diag("merged into $into");
is($rows_of->($into_shard, $into), $m0 + $m1, "all $m0 + $m1 touchpoints are on shard$into_shard");
is($one_shard->(), 0, 'each customer still lives on one shard after omni.resolve_all');
is($coord->safe_psql('postgres', $consistent), '0', 'every touchpoint carries its identifier\'s customer after omni.resolve_all');
same_as_local($journeys, 'journeys after omni.resolve_all');

# Erasure deletes the customer's touchpoints on its shard.
$coord->safe_psql($_, "SELECT omni.forget($into)") for ('postgres', 'single');
is($rows_of->($into_shard, $into), '0', "omni.forget deletes customer ${into}'s touchpoints on shard$into_shard");
my @after = $on_shards->();
is($after[0] + $after[1], $coord->safe_psql('single', 'SELECT count(*) FROM omni.touchpoint'),
	'the shards hold as many touchpoints as the single node after the erasure');
same_as_local($journeys, 'journeys after omni.forget');

$coord->stop;
$_->stop for @shards;
done_testing();
