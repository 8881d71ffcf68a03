#!/usr/bin/env bash
#
# Client tests: omnichannel used from Python (psycopg2) and Node.js
# (node-postgres) in a throwaway cluster.  Installs python3-psycopg2 and
# Node.js with apt-get and the pg module with npm when they are missing.
# Expects the extension to be installed (make install).  Prints one line per
# client, "<client> ... ok|FAILED", and exits non-zero when one failed.
set -u
cd "$(dirname "$0")" || exit 2
need=()
python3 -c 'import psycopg2' 2>/dev/null || need+=(python3-psycopg2)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
        { echo "error: apt-get install ${need[*]} failed" >&2; exit 1; }
fi
# The system python3 has psycopg2 from Debian; another python3 earlier on PATH may not.
py=python3
python3 -c 'import psycopg2' 2>/dev/null || py=/usr/bin/python3
if [ ! -d node_modules/pg ]; then
    npm install --no-audit --no-fund --loglevel=error >/dev/null 2>npm.log ||
        { cat npm.log; echo "error: npm install pg failed" >&2; exit 1; }
    rm -f npm.log
fi
export OMNI_PY=$py
pg_virtualenv -o fsync=off bash -c '
    rc=0
    if out=$("$OMNI_PY" client_psycopg2.py 2>&1); then echo "client psycopg2 ... ok"
    else echo "client psycopg2 ... FAILED"; echo "$out"; rc=1; fi
    if out=$(node client_pg.js 2>&1); then echo "client node-postgres ... ok"
    else echo "client node-postgres ... FAILED"; echo "$out"; rc=1; fi
    exit $rc
' 2>&1 | grep -v '^\*\*\*\|^20[0-9][0-9]-.* \(LOG\|ERROR\|STATEMENT\|DETAIL\|CONTEXT\|HINT\): \|^Creating new PostgreSQL\|^Dropping cluster'
exit "${PIPESTATUS[0]}"
