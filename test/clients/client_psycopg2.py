#!/usr/bin/env python3
"""
omnichannel from Python with psycopg2, as an application would use it: plain
SQL with bound parameters, no knowledge of the extension's types.

Connects with the usual libpq environment (PGHOST, PGPORT, PGUSER, PGDATABASE,
PGPASSWORD) and prints one "ok"/"not ok" line per check; exits non-zero when a
check fails.
"""
import datetime
import json
import sys

import psycopg2

failures = 0


def check(name, cond, detail=""):
    global failures
    if cond:
        print(f"ok - {name}")
    else:
        failures += 1
        print(f"not ok - {name} {detail}")


conn = psycopg2.connect("")
conn.autocommit = True
cur = conn.cursor()
cur.execute("CREATE EXTENSION IF NOT EXISTS omnichannel")
cur.execute("DROP SCHEMA IF EXISTS client_py CASCADE")
cur.execute("CREATE SCHEMA client_py")

# Ingest touchpoints with bound parameters (values with quotes, unicode, jsonb).
t0 = datetime.datetime(2026, 3, 1, 9, 0, tzinfo=datetime.timezone.utc)
rows = [
    ("cookie", "ck_py_1", "web", "page_view", t0, None, None, {}),
    ("cookie", "ck_py_1", "web", "product_view", t0 + datetime.timedelta(minutes=2), None, "P042", {"q": "O'Brien's hat"}),
    ("email", " Zoe.OBrien+news@GMAIL.com ", "email", "email_open", t0 + datetime.timedelta(hours=5), "spring_sale", None, {"subject": "Zoë's spring"}),
    ("phone", "(415) 555-0123", "store", "purchase", t0 + datetime.timedelta(days=1), None, "P042", {"amount": 49.9}),
]
ids = []
for kind, value, channel, event, ts, campaign, topic, props in rows:
    cur.execute(
        "SELECT omni.touch(%s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
        (kind, value, channel, event, ts, campaign, topic, json.dumps(props)),
    )
    ids.append(cur.fetchone()[0])
check("omni.touch returns touchpoint ids", all(isinstance(i, int) for i in ids) and len(set(ids)) == 4)

# Link the identifiers with bound parameters: one customer.
cur.execute("SELECT omni.link(%s, %s, %s, %s, %s)", ("cookie", "ck_py_1", "email", "zoeobrien@gmail.com", "login"))
cur.execute("SELECT omni.link(%s, %s, %s, %s, %s)", ("email", "ZOE.OBRIEN@googlemail.com", "phone", "+1 415 555 0123", "checkout"))
cur.execute("SELECT omni.customer_of(%s, %s), omni.customer_of(%s, %s), omni.customer_of(%s, %s)",
            ("cookie", "ck_py_1", "email", "zoe.o.brien@gmail.com", "phone", "4155550123"))
c1, c2, c3 = cur.fetchone()
check("normalized identifiers resolve to one customer", c1 is not None and c1 == c2 == c3, (c1, c2, c3))
customer = c1

# Messages: a cap of one marketing message a day, then two messages.
cur.execute("""INSERT INTO omni.suppression_rule (name, kind, max_messages, time_window, categories)
               VALUES (%s, 'frequency_cap', 1, '1 day', ARRAY['marketing'])
               ON CONFLICT (name) DO NOTHING""", ("client py cap",))
statuses = []
for channel, kind, recipient in (("email", "email", "zoeobrien@gmail.com"), ("sms", "phone", "+14155550123")):
    cur.execute("""INSERT INTO omni.message (recipient_kind, recipient, channel, campaign, category, topic)
                   VALUES (%s, %s, %s, %s, %s, %s) RETURNING customer_id, status, reasons""",
                (kind, recipient, channel, "spring_sale", "marketing", "P100"))
    statuses.append(cur.fetchone())
check("messages resolved to the customer", all(s[0] == customer for s in statuses), statuses)
check("first message queued", statuses[0][1] == "queued", statuses[0])
check("second message suppressed by the cap", statuses[1][1] == "suppressed", statuses[1])
check("reasons arrive as a list of text naming the rule",
      isinstance(statuses[1][2], list) and any("client py cap" in r for r in statuses[1][2]), statuses[1][2])
cur.execute("""SELECT status, reasons FROM omni.would_suppress(recipient_kind => %s, recipient => %s,
               channel => %s, category => %s, campaign => %s, topic => %s)""",
            ("email", "zoeobrien@gmail.com", "email", "marketing", "spring_sale", "P100"))
preview = cur.fetchone()
check("would_suppress previews with reasons", preview is not None and preview[0] == "suppressed", preview)
cur.execute("DELETE FROM omni.suppression_rule WHERE name = %s", ("client py cap",))

# The journey's text form is JSON any client can read.
cur.execute("""SELECT omni.journey(t.ts, t.channel, t.event)::text
                 FROM omni.touchpoint t JOIN omni.identity i USING (identity_id)
                WHERE i.customer_id = %s""", (customer,))
journey = json.loads(cur.fetchone()[0])
check("journey text is a JSON array of steps in time order",
      [s["channel"] for s in journey] == ["web", "web", "email", "store"]
      and [s.get("event") for s in journey][-1] == "purchase", journey)

# Every BI view reads with standard types only.
std = {"text", "int8", "int4", "numeric", "timestamptz", "interval", "_text", "bool", "float8", "date"}
for view in ("customer_journey", "channel_transition", "channel_attribution"):
    cur.execute(f"SELECT * FROM omni.{view} LIMIT 50")
    cur.fetchall()
    oids = tuple(d.type_code for d in cur.description)
    cur.execute("SELECT array_agg(typname::text) FROM pg_type WHERE oid = ANY(%s)", (list(oids),))
    types = set(cur.fetchone()[0])
    check(f"omni.{view} has standard column types", types <= std, types - std)
cur.execute("SELECT path, channels, steps FROM omni.customer_journey WHERE customer_id = %s", (customer,))
row = cur.fetchone()
check("customer_journey row of the customer", row is not None and isinstance(row[1], list) and row[2] == 4, row)

print(f"{'FAILED' if failures else 'PASSED'}: {failures} failed checks")
sys.exit(1 if failures else 0)
