// omnichannel from Node.js with node-postgres (pg), as an application would use
// it: plain SQL with bound parameters, no knowledge of the extension's types.
// Connects with the libpq environment (PGHOST, PGPORT, PGUSER, PGDATABASE,
// PGPASSWORD); prints "ok"/"not ok" per check and exits non-zero on a failure.
'use strict';
const { Client } = require('pg');

let failures = 0;
function check(name, cond, detail) {
  if (cond) {
    console.log(`ok - ${name}`);
  } else {
    failures += 1;
    console.log(`not ok - ${name} ${detail === undefined ? '' : JSON.stringify(detail)}`);
  }
}

async function main() {
  const db = new Client();
  await db.connect();
  await db.query('CREATE EXTENSION IF NOT EXISTS omnichannel');

  const t0 = new Date(Date.UTC(2026, 3, 1, 9, 0, 0));
  const at = (minutes) => new Date(t0.getTime() + minutes * 60000);
  const touches = [
    ['device', 'dev-node-1', 'app', 'app_open', at(0), null, null, {}],
    ['device', 'dev-node-1', 'app', 'add_to_cart', at(3), null, 'P007', { qty: 2 }],
    ['email', 'Node.User@Outlook.com', 'email', 'email_click', at(600), 'win_back', 'P007', {}],
    ['crm', 'CRM-NODE-1', 'call_center', 'call', at(1440), null, null, { note: 'said "hi"' }],
  ];
  const ids = [];
  for (const [kind, value, channel, event, ts, campaign, topic, props] of touches) {
    const r = await db.query('SELECT omni.touch($1, $2, $3, $4, $5, $6, $7, $8::jsonb) AS id',
      [kind, value, channel, event, ts, campaign, topic, JSON.stringify(props)]);
    ids.push(r.rows[0].id);
  }
  check('omni.touch returns distinct ids', new Set(ids).size === 4, ids);

  await db.query('SELECT omni.link($1, $2, $3, $4, $5)', ['device', 'dev-node-1', 'crm', 'CRM-NODE-1', 'app_login']);
  await db.query('SELECT omni.link($1, $2, $3, $4, $5)', ['crm', 'CRM-NODE-1', 'email', 'node.user+x@outlook.com', 'signup']);
  const who = await db.query(
    'SELECT omni.customer_of($1, $2) AS a, omni.customer_of($3, $4) AS b, omni.customer_of($5, $6) AS c',
    ['device', 'dev-node-1', 'email', ' NODE.USER@outlook.com', 'crm', 'CRM-NODE-1']);
  const { a, b, c } = who.rows[0];
  check('one customer across device, e-mail and CRM id', a !== null && a === b && b === c, who.rows[0]);

  await db.query(`INSERT INTO omni.suppression_rule (name, kind, event, time_window, match_topic)
                  VALUES ($1, 'recent_event', 'add_to_cart', '7 days', true)
                  ON CONFLICT (name) DO NOTHING`, ['client node recent cart']);
  const sent = await db.query(
    `INSERT INTO omni.message (recipient_kind, recipient, channel, campaign, category, topic, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7), ($1, $2, $3, $4, $5, $8, $7)
     RETURNING topic, status, reasons`,
    ['email', 'node.user@outlook.com', 'email', 'cart_reminder', 'marketing', 'P007', at(1500), 'P999']);
  const byTopic = Object.fromEntries(sent.rows.map((r) => [r.topic, r]));
  check('message about the product just put in the cart is suppressed',
    byTopic.P007 && byTopic.P007.status === 'suppressed' && Array.isArray(byTopic.P007.reasons)
      && byTopic.P007.reasons.some((r) => r.includes('client node recent cart')), byTopic.P007);
  check('message about another product is not suppressed by that rule',
    byTopic.P999 && !byTopic.P999.reasons.some((r) => r.includes('client node recent cart')), byTopic.P999);
  await db.query('DELETE FROM omni.suppression_rule WHERE name = $1', ['client node recent cart']);

  const j = await db.query(
    `SELECT omni.journey(t.ts, t.channel, t.event)::text AS j
       FROM omni.touchpoint t JOIN omni.identity i USING (identity_id) WHERE i.customer_id = $1`, [a]);
  const steps = JSON.parse(j.rows[0].j);
  check('journey text form is JSON in time order',
    steps.map((s) => s.channel).join(',') === 'app,app,email,call_center', steps);

  for (const view of ['customer_journey', 'channel_transition', 'channel_attribution']) {
    const r = await db.query(`SELECT * FROM omni.${view} LIMIT 20`);
    const types = await db.query('SELECT array_agg(typname::text) AS t FROM pg_type WHERE oid = ANY($1)',
      [r.fields.map((f) => f.dataTypeID)]);
    const std = new Set(['text', 'int8', 'int4', 'numeric', 'timestamptz', 'interval', '_text', 'bool', 'float8', 'date']);
    const odd = types.rows[0].t.filter((t) => !std.has(t));
    check(`omni.${view} reads with standard types`, odd.length === 0, odd);
  }
  const cj = await db.query('SELECT channels, steps FROM omni.customer_journey WHERE customer_id = $1', [a]);
  check('customer_journey row: channels as an array, steps as a number',
    cj.rows.length === 1 && Array.isArray(cj.rows[0].channels) && Number(cj.rows[0].steps) === 4, cj.rows);

  await db.end();
  console.log(`${failures ? 'FAILED' : 'PASSED'}: ${failures} failed checks`);
  process.exit(failures ? 1 : 0);
}

main().catch((err) => {
  console.log(`not ok - unexpected error: ${err.message}`);
  process.exit(1);
});
