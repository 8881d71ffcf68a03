# Scale-out with postgres_fdw: a coordinator and two shard servers on
# loopback, omnichannel installed on every node and listed in the foreign
# servers' "extensions" option.  Touchpoints are hash-partitioned by
# customer_id, each partition a foreign table on one shard.  Grouped by the
# partition key, with enable_partitionwise_aggregate, the journey aggregate
# (and the journey functions over it) run on the shards, and the journeys are
# the same as those of one node holding all the rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $top = abs_path(dirname(__FILE__) . '/../..');

# The columns of omni.touchpoint plus the customer key they are sharded by.
my $columns = q{
	customer_id    bigint NOT NULL,
	touchpoint_id  bigint NOT NULL,
	identity_id    bigint NOT NULL,
	ts             timestamptz NOT NULL,
	channel        text NOT NULL,
	event          text NOT NULL,
	campaign       text,
	topic          text,
	properties     jsonb NOT NULL DEFAULT '{}'
};

# Shards: TCP on 127.0.0.1, the extension and one plain table each.
my @shards;
for my $i (0, 1)
{
	my $shard = PostgreSQL::Test::Cluster->new("shard$i");
	$shard->init;
	$shard->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1'");
	$shard->start;
	$shard->safe_psql('postgres', qq{
		CREATE EXTENSION omnichannel;
		CREATE TABLE public.touchpoint_shard$i ($columns, PRIMARY KEY (customer_id, touchpoint_id));
	});
	push @shards, $shard;
}

# Coordinator: the extension, postgres_fdw, one server per shard.
my $coord = PostgreSQL::Test::Cluster->new('coordinator');
$coord->init;
$coord->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1'");
$coord->start;
$coord->safe_psql('postgres', 'CREATE EXTENSION omnichannel; CREATE EXTENSION postgres_fdw');
for my $i (0, 1)
{
	my $port = $shards[$i]->port;
	$coord->safe_psql('postgres', qq{
		CREATE SERVER shard$i FOREIGN DATA WRAPPER postgres_fdw
			OPTIONS (host '127.0.0.1', port '$port', dbname 'postgres', extensions 'omnichannel',
			         async_capable 'true', fetch_size '1000');
		CREATE USER MAPPING FOR CURRENT_USER SERVER shard$i;
	});
}
$coord->safe_psql('postgres', qq{
	CREATE TABLE public.touchpoint ($columns) PARTITION BY HASH (customer_id);
	CREATE FOREIGN TABLE public.touchpoint_shard0 PARTITION OF public.touchpoint
		FOR VALUES WITH (MODULUS 2, REMAINDER 0) SERVER shard0 OPTIONS (table_name 'touchpoint_shard0');
	CREATE FOREIGN TABLE public.touchpoint_shard1 PARTITION OF public.touchpoint
		FOR VALUES WITH (MODULUS 2, REMAINDER 1) SERVER shard1 OPTIONS (table_name 'touchpoint_shard1');
});

# Generated data, resolved into customers on the coordinator; the local
# single-node copy is touchpoint_local, the sharded one public.touchpoint.
my ($rc, $out, $err) = $coord->psql('postgres',
	"\\set ON_ERROR_STOP 1\n\\i $top/test/data/generate.sql\n"
	  . "SELECT * FROM gen.generate(seed => 7, customers => 300, touchpoints_per_customer => 20);\n"
	  . "\\i $top/test/data/load.sql\n");
is($rc, 0, 'generated data loads') or diag($err);
$coord->safe_psql('postgres', q{
	CREATE TABLE public.touchpoint_local AS
	SELECT i.customer_id, t.touchpoint_id, t.identity_id, t.ts, t.channel, t.event,
	       t.campaign, t.topic, t.properties
	  FROM omni.touchpoint t JOIN omni.identity i USING (identity_id);
	INSERT INTO public.touchpoint SELECT * FROM public.touchpoint_local;
	ANALYZE public.touchpoint_local;
	ANALYZE public.touchpoint;
});

my $total = $coord->safe_psql('postgres', 'SELECT count(*) FROM public.touchpoint_local');
cmp_ok($total, '>', 3000, "a few thousand touchpoints ($total)");
my @on_shard = map { $shards[$_]->safe_psql('postgres', "SELECT count(*) FROM public.touchpoint_shard$_") } (0, 1);
cmp_ok($on_shard[$_], '>', 0, "shard$_ holds rows ($on_shard[$_])") for (0, 1);
is($on_shard[0] + $on_shard[1], $total, 'every row is on exactly one shard');
my @keys = map { $shards[$_]->safe_psql('postgres',
		"SELECT string_agg(DISTINCT customer_id::text, ',') FROM public.touchpoint_shard$_") } (0, 1);
my %on0 = map { $_ => 1 } split /,/, $keys[0];
is(scalar(grep { $on0{$_} } split /,/, $keys[1]), 0, 'each customer lives on one shard');

# Runs a query on the sharded table and on the local copy (the same text with
# public.touchpoint_local) and checks both give the same rows.
sub same_as_local
{
	my ($query, $name, $settings) = @_;
	$settings //= 'SET enable_partitionwise_aggregate = on;';
	(my $local = $query) =~ s/public\.touchpoint\b/public.touchpoint_local/g;
	my $sharded = $coord->safe_psql('postgres', "$settings $query");
	my $single = $coord->safe_psql('postgres', $local);
	isnt($single, '', "$name: the single node gives rows");
	is($sharded, $single, "$name: sharded and single-node results are identical");
	return $sharded;
}

sub explain
{
	my ($query, $settings) = @_;
	$settings //= 'SET enable_partitionwise_aggregate = on;';
	return $coord->safe_psql('postgres', "$settings EXPLAIN (VERBOSE, COSTS OFF) $query");
}

# 1. The journeys themselves, compared by their text (JSON) form.
my $journeys = q{SELECT customer_id, omni.journey(ts, channel, event)::text
	FROM public.touchpoint GROUP BY customer_id ORDER BY customer_id};
my $plan = explain($journeys);
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
is(scalar(split /\n/, $js), $coord->safe_psql('postgres',
		'SELECT count(DISTINCT customer_id) FROM public.touchpoint_local'), 'one journey per customer');

# 2. Journey functions over the aggregate.  Those without text arguments
# (path, sessions, length) are shipped with it.  omni.funnel takes a text[]
# constant, and postgres_fdw ships a function with a collatable input only
# when its collation comes from a foreign column: the shard returns the
# journey and the coordinator computes the funnel level from it.
my $functions = q{SELECT customer_id, omni.path(omni.journey(ts, channel, event)),
		omni.funnel(omni.journey(ts, channel, event), '1 day', ARRAY['page_view', 'add_to_cart', 'purchase']),
		omni.sessions(omni.journey(ts, channel, event), '30 minutes'),
		omni.length(omni.journey(ts, channel, event))
	FROM public.touchpoint GROUP BY customer_id ORDER BY customer_id};
$plan = explain($functions);
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
	FROM public.touchpoint WHERE channel <> 'email' AND ts >= '2026-01-01'
	GROUP BY customer_id ORDER BY customer_id};
$plan = explain($filtered);
like($plan, qr/Remote SQL: SELECT customer_id, omni\.journey\(ts, channel, event\) FROM public\.touchpoint_shard0 WHERE .*channel <> 'email'.* GROUP BY 1/,
	'the filter and the aggregate run on the shards');
same_as_local($filtered, 'journeys of filtered touchpoints');

# 4. Queries over the per-customer journeys: the journeys come from the
# shards, the outer aggregation runs on the coordinator.
my $report = q{SELECT omni.funnel(j, '1 day', ARRAY['page_view', 'add_to_cart', 'purchase']) AS level, count(*)
	FROM (SELECT customer_id, omni.journey(ts, channel, event) AS j
	        FROM public.touchpoint GROUP BY customer_id) s
	GROUP BY 1 ORDER BY 1};
$plan = explain($report);
like($plan, qr/Remote SQL: SELECT .*omni\.journey\(ts, channel, event\).* FROM public\.touchpoint_shard1 GROUP BY 1/,
	'funnel report: the journeys are built on the shards');
my $levels = same_as_local($report, 'funnel report over the journeys');
cmp_ok(scalar(split /\n/, $levels), '>', 1, 'the funnel report has several levels');
my $markov = q{SELECT omni.markov_attribution(j, 'purchase')::text
	FROM (SELECT customer_id, omni.journey(ts, channel, event) AS j
	        FROM public.touchpoint GROUP BY customer_id) s};
like(same_as_local($markov, 'Markov attribution over the journeys'), qr/^\{"\([a-z_]+,/,
	'Markov attribution credits channels');

# 5. What is not pushed down: grouped by something other than the partition
# key, or without partitionwise aggregation, the rows come to the coordinator
# and it aggregates them (same journeys, more traffic).
my $by_channel = q{SELECT channel, omni.length(omni.journey(ts, channel, event))
	FROM public.touchpoint GROUP BY channel ORDER BY channel};
$plan = explain($by_channel);
note $plan;
unlike($plan, qr/Remote SQL: SELECT.*omni\.journey/, 'grouped by channel: the aggregate is not shipped');
like($plan, qr/Finalize|Aggregate/, 'grouped by channel: the coordinator aggregates');
same_as_local($by_channel, 'journeys grouped by channel');
$plan = explain($journeys, 'SET enable_partitionwise_aggregate = off;');
unlike($plan, qr/Remote SQL: SELECT.*omni\.journey/,
	'without enable_partitionwise_aggregate the aggregate is not shipped');
same_as_local($journeys, 'journeys without partitionwise aggregation',
	'SET enable_partitionwise_aggregate = off;');

# Without the extensions option nothing of omnichannel is shipped.
$coord->safe_psql('postgres', q{ALTER SERVER shard0 OPTIONS (DROP extensions)});
$plan = explain($journeys);
unlike($plan, qr/Remote SQL: SELECT.*omni\.journey\(ts, channel, event\) FROM public\.touchpoint_shard0/,
	'without extensions \'omnichannel\' the aggregate stays on the coordinator for shard0');
like($plan, qr/Remote SQL: SELECT.*omni\.journey\(ts, channel, event\) FROM public\.touchpoint_shard1/,
	'and is still shipped to shard1');
same_as_local($journeys, 'journeys with one shard not shipping');
$coord->safe_psql('postgres', q{ALTER SERVER shard0 OPTIONS (ADD extensions 'omnichannel')});

# A merge re-keys the absorbed customer's touchpoints to the survivor, which
# may live on the other shard.  A plain UPDATE of the key is wrong here:
# postgres_fdw runs it on the shard as a remote UPDATE, and PostgreSQL does
# not check the partition constraint of a foreign table, so the rows stay on
# shard0 under a key that belongs to shard1 (and queries that prune by the
# key no longer see them).  Moving the rows with DELETE ... RETURNING and
# INSERT routes each row to the partition of its new key.
my $absorbed = $shards[0]->safe_psql('postgres', 'SELECT min(customer_id) FROM public.touchpoint_shard0');
my $survivor = $shards[1]->safe_psql('postgres', 'SELECT min(customer_id) FROM public.touchpoint_shard1');
my $moving = $shards[0]->safe_psql('postgres', "SELECT count(*) FROM public.touchpoint_shard0 WHERE customer_id = $absorbed");
my $before = $shards[1]->safe_psql('postgres', "SELECT count(*) FROM public.touchpoint_shard1 WHERE customer_id = $survivor");
is($coord->safe_psql('postgres', qq{
	BEGIN;
	UPDATE public.touchpoint SET customer_id = $survivor WHERE customer_id = $absorbed;
	SELECT count(*) FROM public.touchpoint_shard0 WHERE customer_id = $survivor;
	ROLLBACK;}), $moving, 'a plain UPDATE of the key leaves the rows on the wrong shard (rolled back)');
$coord->safe_psql('postgres', qq{
	UPDATE public.touchpoint_local SET customer_id = $survivor WHERE customer_id = $absorbed;
	WITH moved AS (DELETE FROM public.touchpoint WHERE customer_id = $absorbed RETURNING *)
	INSERT INTO public.touchpoint
	SELECT $survivor, touchpoint_id, identity_id, ts, channel, event, campaign, topic, properties FROM moved;
});
is($shards[1]->safe_psql('postgres', "SELECT count(*) FROM public.touchpoint_shard1 WHERE customer_id = $survivor"),
	$before + $moving, "the absorbed customer's $moving rows moved to shard1");
is($shards[0]->safe_psql('postgres', "SELECT count(*) FROM public.touchpoint_shard0 WHERE customer_id = $absorbed"),
	'0', 'the absorbed customer\'s rows left shard0');
same_as_local($journeys, 'journeys after a merge across shards');

$coord->stop;
$_->stop for @shards;
done_testing();
