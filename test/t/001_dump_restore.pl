# pg_dump keeps the rows of every managed table: dump a populated database
# with -Fc, restore it into a new database, and compare every omni table.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $top = abs_path(dirname(__FILE__) . '/../..');
my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION omnichannel');
my ($rc, $out, $err) = $node->psql('src',
	"\\set ON_ERROR_STOP 1\n\\i $top/test/data/generate.sql\n"
	  . "SELECT * FROM gen.generate(seed => 3, customers => 300, touchpoints_per_customer => 20);\n"
	  . "\\i $top/test/data/load.sql\n");
is($rc, 0, 'generated data loads') or diag($err);

# Configuration a DBA adds next to the seeded rows.
$node->safe_psql('src', q{
	INSERT INTO omni.channel (channel, requires_opt_in, description) VALUES ('kiosk', false, 'In-store kiosk');
	UPDATE omni.channel SET description = 'changed by the DBA' WHERE channel = 'web';
	UPDATE omni.identity_rule SET max_per_customer = 3 WHERE kind = 'email';
	INSERT INTO omni.identity_rule (kind, priority, max_per_customer) VALUES ('passport', 2, 1);
	INSERT INTO omni.blocklist (kind, value, reason) VALUES ('email', 'family@shared.example', 'shared');
	INSERT INTO omni.suppression_rule (name, kind, max_messages, time_window) VALUES ('3 a day', 'frequency_cap', 3, '1 day');
	-- seeded rows whose natural key the DBA changed keep their ids
	UPDATE omni.suppression_rule SET name = 'tcpa_evening' WHERE name = 'tcpa_quiet_hours';
	UPDATE omni.blocklist SET value = 'anonymous user' WHERE value = 'anonymous';
	INSERT INTO omni.consent (customer_id, channel, status, source) SELECT min(customer_id), 'sms', 'opt_in', 'form' FROM omni.customer;
	INSERT INTO omni.message (recipient_kind, recipient, customer_id, channel, campaign)
	  SELECT 'email', value, customer_id, 'email', 'welcome' FROM omni.identity WHERE kind = 'email' ORDER BY identity_id LIMIT 5;
	INSERT INTO omni.forgotten (hash, kind) VALUES ('\x00ff', 'email');
});

my $dump = "${PostgreSQL::Test::Utils::tmp_check}/src.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', $dump ], 'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ], 'pg_restore');

my $tables = $node->safe_psql('src', q{
	SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_class c
	 WHERE c.relnamespace = 'omni'::regnamespace AND c.relkind = 'r'});
for my $t (split / /, $tables)
{
	my $q = "SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM omni.$t x";
	my $before = $node->safe_psql('src', $q);
	my $after = $node->safe_psql('dst', $q);
	is($after, $before, "omni.$t identical after restore");
}
my $seq = q{SELECT string_agg(sequencename || '=' || coalesce(last_value, 0), ',' ORDER BY sequencename)
			  FROM pg_sequences WHERE schemaname = 'omni'};
is($node->safe_psql('dst', $seq), $node->safe_psql('src', $seq), 'sequences identical after restore');
cmp_ok($node->safe_psql('dst', 'SELECT count(*) FROM omni.touchpoint'), '>', 1000, 'touchpoints restored');

# Journeys are derived from the restored rows: every customer's journey is the same.
my $journeys = q{SELECT md5(string_agg(customer_id || ':' || j::text, '|' ORDER BY customer_id))
				   FROM (SELECT i.customer_id, omni.journey(t.ts, t.channel, t.event) AS j
						   FROM omni.touchpoint t JOIN omni.identity i USING (identity_id)
						  GROUP BY i.customer_id) s};
is($node->safe_psql('dst', $journeys), $node->safe_psql('src', $journeys), 'journeys identical after restore');
is($node->safe_psql('dst', 'SELECT count(*) FROM omni.customer_journey'),
	$node->safe_psql('src', 'SELECT count(*) FROM omni.customer_journey'), 'customer_journey view identical row count');

# A plain dump contains the data rows of the managed tables.
my $plain = $node->safe_psql('postgres', 'SELECT 1') && `pg_dump -d "@{[ $node->connstr('src') ]}" --data-only`;
like($plain, qr/^COPY omni\.touchpoint /m, 'plain dump has touchpoint rows');
like($plain, qr/^COPY omni\.identity /m, 'plain dump has identity rows');
like($plain, qr/^kiosk\t/m, 'plain dump has the added channel');
like($plain, qr/^web\t.*changed by the DBA/m, 'plain dump has the changed seeded channel');
unlike($plain, qr/^app\t/m, 'unchanged seeded channels stay with the extension script');
is($node->safe_psql('dst', "SELECT max_per_customer FROM omni.identity_rule WHERE kind = 'email'"), '3',
	'a changed seeded rule survives the restore');

# New rows still get fresh ids after the restore.
$node->safe_psql('dst', q{INSERT INTO omni.customer DEFAULT VALUES});
is($node->safe_psql('dst', 'SELECT count(*) FROM omni.customer GROUP BY customer_id HAVING count(*) > 1'), '',
	'sequence positions restored: no duplicate ids');

$node->stop;
done_testing();
