# omni.touchpoint_layout = 'partitioned' on one server: omni.touchpoint is
# partitioned by hash of customer_id, with two local partitions attached by
# the DBA.  Ingestion, merges, unmerges, re-resolution, recent-event
# suppression, the timeline, the journey views and erasure work as in the
# plain layout, and give the same results as a database of the plain layout
# holding the same data; bad rows get clear errors; pg_dump and pg_restore
# keep the layout and the rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $top = abs_path(dirname(__FILE__) . '/../..');

my $node = PostgreSQL::Test::Cluster->new('partitioned');
$node->init;
$node->start;

# The setting: checked once the library is loaded, and by the install
# script before that (a SET in a new session is an unchecked placeholder).
my ($rc, $out, $err) = $node->psql('postgres', q{LOAD 'omnichannel'; SET omni.touchpoint_layout = 'sharded'});
like($err, qr/ERROR:  invalid value for parameter "omni\.touchpoint_layout": "sharded"\n.*HINT:  Use "table" or "partitioned"\./s,
	'a layout other than table or partitioned is refused');
($rc, $out, $err) = $node->psql('postgres', q{SET omni.touchpoint_layout = 'partioned'; CREATE EXTENSION omnichannel});
like($err, qr/ERROR:  invalid value for parameter "omni\.touchpoint_layout": "partioned"/,
	'CREATE EXTENSION refuses a misspelled layout set before the library was loaded');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_extension WHERE extname = 'omnichannel'}), '0',
	'and creates nothing');

# Two databases: "plain" (the default layout) and "part", whose layout is a
# database setting, as a restore needs it.
$node->safe_psql('postgres', q{
	CREATE DATABASE plain;
	CREATE DATABASE part;
	ALTER DATABASE part SET omni.touchpoint_layout = 'partitioned';
});
$node->safe_psql('plain', 'CREATE EXTENSION omnichannel');
$node->safe_psql('part', 'CREATE EXTENSION omnichannel');
is($node->safe_psql('plain', q{SELECT relkind FROM pg_class WHERE oid = 'omni.touchpoint'::regclass}), 'r',
	'the default layout is a plain table');
is($node->safe_psql('part', q{SELECT relkind::text || ' ' || pg_get_partkeydef('omni.touchpoint'::regclass) FROM pg_class WHERE oid = 'omni.touchpoint'::regclass}),
	'p HASH (customer_id)', 'partitioned by hash of customer_id');
is($node->safe_psql('part', q{SELECT string_agg(indexrelid::regclass::text, ', ' ORDER BY indexrelid::regclass::text) FROM pg_index WHERE indrelid = 'omni.touchpoint'::regclass}),
	'omni.touchpoint_customer_event_ts_idx, omni.touchpoint_identity_ts_idx, omni.touchpoint_timeline_idx',
	'the same indexes (no primary key)');
is($node->safe_psql('part', q{SELECT count(*) FROM pg_constraint WHERE conrelid = 'omni.touchpoint'::regclass AND contype IN ('f', 'p', 'u')}),
	'0', 'no primary key and no foreign keys (foreign partitions forbid them)');
is($node->safe_psql('part', q{SELECT count(*) FROM pg_depend WHERE objid = 'omni.touchpoint'::regclass AND deptype = 'e'}),
	'1', 'omni.touchpoint is a member of the extension');

# No partition yet: PostgreSQL's own error.
($rc, $out, $err) = $node->psql('part', q{SELECT omni.touch('email', 'nobody@part.test', 'web', 'page_view')});
like($err, qr/ERROR:  no partition of relation "touchpoint" found for row/, 'without partitions a touchpoint has nowhere to go');

$node->safe_psql('part', q{
	CREATE TABLE public.touchpoint_p0 PARTITION OF omni.touchpoint FOR VALUES WITH (MODULUS 2, REMAINDER 0);
	CREATE TABLE public.touchpoint_p1 PARTITION OF omni.touchpoint FOR VALUES WITH (MODULUS 2, REMAINDER 1);
});

# The same story in both databases.
my $story = q{
	SELECT omni.touch('email', 'ann@part.test', 'web', 'page_view', '2026-03-01 10:00+00', topic => 'hat');
	SELECT omni.touch('email', 'ann@part.test', 'email', 'email_open', '2026-03-01 11:00+00');
	SELECT omni.touch('phone', '+33612345678', 'store', 'purchase', '2026-03-02 12:00+00', topic => 'hat');
	SELECT omni.touch('email', 'bob@part.test', 'web', 'page_view', '2026-03-01 09:00+00');
	SELECT omni.touch('email', 'bob@part.test', 'web', 'add_to_cart', '2026-03-01 09:05+00');
	SELECT omni.touch('email', 'cy@part.test', 'app', 'page_view', '2026-03-03 08:00+00');
	SELECT omni.touch('email', 'cy@part.test', 'app', 'purchase', '2026-03-03 08:10+00', topic => 'scarf');
};
$node->safe_psql($_, $story) for ('plain', 'part');

my $check = q{SELECT count(*) FROM omni.touchpoint t JOIN omni.identity i USING (identity_id) WHERE t.customer_id <> i.customer_id};
my $spread = q{SELECT count(DISTINCT tableoid) FROM omni.touchpoint};

# a customer of each partition: ann's phone and ann's mail are two customers until linked
my $cust = sub {
	my ($db, $kind, $value) = @_;
	return $node->safe_psql($db, "SELECT customer_id FROM omni.identity WHERE kind = '$kind' AND value = '$value'");
};
my $where = sub {
	my ($db, $customer) = @_;
	return $node->safe_psql($db, "SELECT string_agg(DISTINCT tableoid::regclass::text, ',') FROM omni.touchpoint WHERE customer_id = $customer");
};
is($node->safe_psql('part', $spread), '2', 'touchpoints are in both partitions');

# Journeys, views, the timeline: the same in both layouts.
my %queries = (
	journeys => q{SELECT i.kind, i.value, omni.journey(t.ts, t.channel, t.event)::text
		FROM omni.touchpoint t JOIN omni.identity i ON i.identity_id = t.identity_id
		GROUP BY i.customer_id, i.kind, i.value ORDER BY 2},
	customer_journey => q{SELECT (SELECT min(value) FROM omni.identity i WHERE i.customer_id = j.customer_id), j.first_ts, j.last_ts, j.steps, j.channels, j.path, j.sessions, j.converted
		FROM omni.customer_journey j ORDER BY 1},
	channel_transition => q{SELECT * FROM omni.channel_transition ORDER BY 1, 2},
	channel_attribution => q{SELECT * FROM omni.channel_attribution ORDER BY 1},
	timeline => q{SELECT t.ts, t.channel, t.event FROM omni.identity i, omni.timeline(i.customer_id, 2) t
		WHERE i.value = 'ann@part.test'},
);
my $same = sub {
	my ($when) = @_;
	for my $name (sort keys %queries)
	{
		my $p = $node->safe_psql('plain', $queries{$name});
		isnt($p, '', "$name $when: rows");
		is($node->safe_psql('part', $queries{$name}), $p, "$name $when: the same in both layouts");
	}
	is($node->safe_psql('part', $check), '0', "$when: every touchpoint carries its identifier's customer");
};
$same->('after ingestion');

# A merge: ann's mail and phone were two customers, in two partitions.
my ($ann_mail, $ann_phone) = ($cust->('part', 'email', 'ann@part.test'), $cust->('part', 'phone', '+33612345678'));
my ($p_mail, $p_phone) = ($where->('part', $ann_mail), $where->('part', $ann_phone));
isnt($p_mail, $p_phone, "ann's mail ($p_mail) and phone ($p_phone) are in different partitions")
	or diag('the hash of the two customers is the same partition: pick other values');
$node->safe_psql($_, q{SELECT omni.link('email', 'ann@part.test', 'phone', '+33612345678', 'crm', '2026-03-05 00:00+00')})
	for ('plain', 'part');
my $survivor = $cust->('part', 'email', 'ann@part.test');
is($cust->('part', 'phone', '+33612345678'), $survivor, 'merged');
is($where->('part', $survivor), $survivor == $ann_mail ? $p_mail : $p_phone,
	"the absorbed customer's touchpoints moved to the survivor's partition");
is($node->safe_psql('part', "SELECT count(*) FROM omni.touchpoint WHERE customer_id = $survivor"), '3',
	'all three touchpoints of ann are the survivor\'s');
$same->('after a merge');

# Recent-event suppression reads the partitioned table.
my $suppress = q{
	INSERT INTO omni.suppression_rule (name, kind, event, time_window, match_topic)
	VALUES ('just_bought_it', 'recent_event', 'purchase', '14 days', true);
	SELECT status, reasons FROM omni.would_suppress('email', 'ann@part.test', 'email', topic => 'hat',
		category => 'marketing', created_at => '2026-03-04 00:00+00');
	SELECT status, reasons FROM omni.would_suppress('email', 'ann@part.test', 'email', topic => 'scarf',
		category => 'marketing', created_at => '2026-03-04 00:00+00');
	SELECT status, reasons FROM omni.would_suppress('email', 'cy@part.test', 'email', topic => 'scarf',
		category => 'marketing', created_at => '2026-03-04 00:00+00');
};
my $sp = $node->safe_psql('plain', $suppress);
like($sp, qr/^suppressed\|\{just_bought_it\}\nqueued\|\{\}\nsuppressed\|\{just_bought_it\}$/,
	'plain: the purchase of the hat (with the phone) suppresses the mail about it');
is($node->safe_psql('part', $suppress), $sp, 'recent-event suppression: the same in the partitioned layout');

# An unmerge gives the phone its own customer back, and its touchpoint.
my $merge_id = $node->safe_psql('part', "SELECT max(merge_id) FROM omni.merge_log");
$node->safe_psql($_, q{SELECT omni.unmerge((SELECT max(merge_id) FROM omni.merge_log))}) for ('plain', 'part');
my $phone = $cust->('part', 'phone', '+33612345678');
isnt($phone, $survivor, 'unmerged');
is($node->safe_psql('part', "SELECT count(*) FROM omni.touchpoint WHERE customer_id = $phone"), '1',
	'the phone\'s touchpoint follows it');
$same->('after an unmerge');
is($node->safe_psql('part', $suppress =~ s/INSERT.*?;//sr), $node->safe_psql('plain', $suppress =~ s/INSERT.*?;//sr),
	'recent-event suppression after the unmerge: the same in both layouts');

# Re-resolution through omni.resolve_all (links staged, then resolved).
my $resolve = q{
	INSERT INTO omni.link_staging (kind_a, value_a, kind_b, value_b, source, observed_at)
	VALUES ('email', 'bob@part.test', 'email', 'cy@part.test', 'import', '2026-03-06 00:00+00');
	SET client_min_messages = warning;
	SELECT merges, moved_identities FROM omni.resolve_all();
};
is($node->safe_psql('part', $resolve), $node->safe_psql('plain', $resolve), 'omni.resolve_all merges as in the plain layout');
is($cust->('part', 'email', 'bob@part.test'), $cust->('part', 'email', 'cy@part.test'), 'bob and cy are one customer');
$same->('after omni.resolve_all');

# Bad input on a partition: the row was routed by the customer_id given.
my $ann = $cust->('part', 'email', 'ann@part.test');
my $ann_identity = $node->safe_psql('part', q{SELECT identity_id FROM omni.identity WHERE value = 'ann@part.test'});
($rc, $out, $err) = $node->psql('part', "INSERT INTO omni.touchpoint (identity_id, ts, channel, event) VALUES ($ann_identity, now(), 'web', 'x')");
like($err, qr/ERROR:  (touchpoint of identity $ann_identity has no customer_id|null value in column "customer_id")/,
	'a touchpoint without customer_id is refused');
my $other = $cust->('part', 'email', 'bob@part.test');
($rc, $out, $err) = $node->psql('part', "INSERT INTO omni.touchpoint (identity_id, customer_id, ts, channel, event) VALUES ($ann_identity, $other, now(), 'web', 'x')");
like($err, qr/ERROR:  touchpoint customer $other is not the customer of identity $ann_identity\nDETAIL:  Identity $ann_identity belongs to customer $ann\./,
	'a touchpoint under another customer is refused');
($rc, $out, $err) = $node->psql('part', "INSERT INTO omni.touchpoint (identity_id, customer_id, ts, channel, event) VALUES ($ann_identity, $ann, now(), 'fax', 'x')");
like($err, qr/ERROR:  channel "fax" does not exist/, 'an unknown channel is refused (in place of the foreign key)');
($rc, $out, $err) = $node->psql('part', "UPDATE omni.touchpoint SET channel = 'fax' WHERE customer_id = $ann");
like($err, qr/ERROR:  channel "fax" does not exist/, 'and so is an update to one');
($rc, $out, $err) = $node->psql('part', "INSERT INTO omni.touchpoint (identity_id, customer_id, ts, channel, event) VALUES (987654321, $ann, now(), 'web', 'x')");
like($err, qr/ERROR:  identity 987654321 does not exist/, 'an unknown identifier is refused (in place of the foreign key)');
($rc, $out, $err) = $node->psql('part', "INSERT INTO omni.touchpoint (identity_id, customer_id, ts, channel, event) VALUES ($ann_identity, $ann, now(), 'web', '')");
like($err, qr/ERROR:  new row for relation "touchpoint_p\d" violates check constraint "touchpoint_event_check"/, 'an empty event is refused');
is($node->safe_psql('part', "UPDATE omni.touchpoint SET channel = 'app' WHERE customer_id = $ann AND event = 'email_open' RETURNING channel"),
	'app', 'a known channel is accepted');

# pg_dump and pg_restore: the restored database needs the layout set
# before CREATE EXTENSION runs; the partitions and their rows come back.
my $dump = $node->basedir . '/part.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('part'), '-f', $dump ], 'pg_dump -Fc of the partitioned layout');
$node->safe_psql('postgres', q{
	CREATE DATABASE part2;
	ALTER DATABASE part2 SET omni.touchpoint_layout = 'partitioned';
});
# ATTACH PARTITION gives a partition the indexes of omni.touchpoint, so the
# dump's own CREATE INDEX (and ALTER INDEX ... ATTACH PARTITION) of the
# partitions' indexes are left out of the restore.
my $toc = $node->basedir . '/part.list';
my ($list) = run_command([ 'pg_restore', '-l', $dump ]);
my @skipped = grep { / INDEX (ATTACH )?public touchpoint_p\d_/ } split /\n/, $list;
is(scalar(@skipped), 12, 'the dump holds the 3 indexes of each of the 2 partitions and their 6 attachments');
open(my $fh, '>', $toc) or die $!;
print $fh join("\n", grep { !/ INDEX (ATTACH )?public touchpoint_p\d_/ } split /\n/, $list), "\n";
close $fh;
$node->command_ok([ 'pg_restore', '--exit-on-error', '-L', $toc, '-d', $node->connstr('part2'), $dump ],
	'pg_restore into a database of the same layout, without the partitions\' indexes');
is($node->safe_psql('part2', q{SELECT count(*) FROM pg_index WHERE indrelid IN ('public.touchpoint_p0'::regclass, 'public.touchpoint_p1'::regclass)}),
	'6', 'the partitions have their indexes again');
for my $q (q{SELECT tableoid::regclass, touchpoint_id, identity_id, customer_id, ts, channel, event, topic FROM omni.touchpoint ORDER BY 2},
	q{SELECT customer_id, omni.journey(ts, channel, event)::text FROM omni.touchpoint GROUP BY 1 ORDER BY 1},
	q{SELECT * FROM omni.identity ORDER BY identity_id})
{
	my $before = $node->safe_psql('part', $q);
	isnt($before, '', 'rows to compare');
	is($node->safe_psql('part2', $q), $before, "identical after restore: $q");
}
is($node->safe_psql('part2', q{SELECT relkind FROM pg_class WHERE oid = 'omni.touchpoint'::regclass}), 'p', 'restored partitioned');
$node->safe_psql('postgres', 'CREATE DATABASE plain2');
my $result = run_log([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('plain2'), $dump ]);
ok(!$result, 'pg_restore into a database of the plain layout fails (ATTACH PARTITION of a table that is not partitioned)');

# Erasure deletes the customer's touchpoints (no ON DELETE CASCADE here).
$node->safe_psql('part', "SELECT omni.forget($ann)");
is($node->safe_psql('part', "SELECT count(*) FROM omni.touchpoint WHERE customer_id = $ann"), '0',
	'omni.forget deletes the touchpoints');

# The generated data set, loaded as test/data/load.sql does it, with a
# second merge wave: the same journeys as the plain layout.
for my $db ('plain', 'part')
{
	($rc, $out, $err) = $node->psql($db,
		"\\set ON_ERROR_STOP 1\nTRUNCATE omni.touchpoint, omni.identity_link, omni.merge_log, omni.identity, omni.customer CASCADE;\n"
		  . "\\i $top/test/data/generate.sql\n"
		  . "SELECT * FROM gen.generate(seed => 3, customers => 200, touchpoints_per_customer => 10);\n"
		  . "\\i $top/test/data/load.sql\n");
	is($rc, 0, "$db: the generated data loads") or diag($err);
}
my $gen_journeys = q{SELECT (SELECT min(i.kind || ':' || i.value) FROM omni.identity i WHERE i.customer_id = t.customer_id) AS who,
	omni.journey(t.ts, t.channel, t.event)::text
	FROM omni.touchpoint t GROUP BY t.customer_id ORDER BY 1};
my $gp = $node->safe_psql('plain', $gen_journeys);
cmp_ok(scalar(split /\n/, $gp), '>', 100, 'generated journeys');
is($node->safe_psql('part', $gen_journeys), $gp, 'generated data: the same journeys in both layouts');
is($node->safe_psql('part', $check), '0', 'generated data: every touchpoint carries its identifier\'s customer');

# omni.timeline reads the partitions' timeline indexes, merged in time order.
my $busiest = $node->safe_psql('part', 'SELECT customer_id FROM omni.touchpoint GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1');
my $tplan = $node->safe_psql('part', "ANALYZE; EXPLAIN (COSTS OFF) SELECT * FROM omni.timeline($busiest, 5)");
note $tplan;
my @used = $tplan =~ /Index Scan(?: Backward)? using (\S+) on/g;
cmp_ok(scalar(@used), '>', 0, 'omni.timeline scans indexes of the partitions');
is($node->safe_psql('part', 'SELECT string_agg(DISTINCT a.amname, \',\') FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname IN ('
		. join(',', map { "'$_'" } @used) . ')'), 'timeline', 'and they are timeline indexes');
is($node->safe_psql('part', "SELECT ts, touchpoint_id FROM omni.timeline($busiest, 5)"),
	$node->safe_psql('part', "SELECT ts, touchpoint_id FROM omni.touchpoint WHERE customer_id = $busiest ORDER BY ts DESC, touchpoint_id LIMIT 5"),
	'the customer\'s latest touchpoints');

# The partitions depend on omni.touchpoint: DROP EXTENSION takes them along.
$node->safe_psql('part', 'DROP EXTENSION omnichannel');
is($node->safe_psql('part', q{SELECT count(*) FROM pg_class WHERE relname LIKE 'touchpoint_p_'}), '0',
	'DROP EXTENSION drops the partitions with omni.touchpoint');

$node->stop;
done_testing();
