#!/usr/bin/env bash
# Pruning beside token issuance: copies a SQLite file a bench run left (bench/.out/bench-*.db), starts the
# published server on it, drives client_credentials with wrk, and runs `prune` (Retention:Tokens=0, so every expired
# token goes) in the middle of a run. Prints throughput and latency before, during and after, and what was removed.
set -euo pipefail
SOURCE=$(realpath "${1:?usage: bench/prune.sh <a SQLite file left by bench/run.sh in bench/.out, whose tokens have expired>}")
cd "$(dirname "$0")/.."
OUT=bench/.out
DLL=$OUT/server/AuthServer.dll
cp "$SOURCE" /tmp/prune.db
rm -f /tmp/prune.db-wal /tmp/prune.db-shm
export ASPNETCORE_ENVIRONMENT=Production Database__Provider=Sqlite Database__ConnectionString="Data Source=/tmp/prune.db"
export OAuth__Issuer=https://127.0.0.1:5095/ DataProtection__CertificatePath=$OUT/keyring.pfx
export Transport__UseForwardedHeaders=true Transport__KnownProxies__0=127.0.0.1 RateLimits__TokenFailuresPerMinute=1000000
count() { python3 -c "import sqlite3;c=sqlite3.connect('/tmp/prune.db');print(c.execute('select count(*) from OpenIddictTokens').fetchone()[0])"; }
echo "tokens before: $(count); file $(du -h /tmp/prune.db | cut -f1)"
APP=$(dotnet $DLL clients create --name prune-bench --grant client_credentials --scope read)
ID=$(echo "$APP" | jq -r .client_id); SECRET=$(echo "$APP" | jq -r .client_secret)
BASIC=$(printf '%s:%s' "$ID" "$SECRET" | base64 -w0)
dotnet $DLL --urls http://127.0.0.1:5095 > /tmp/prune-server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for i in $(seq 1 60); do curl -sf http://127.0.0.1:5095/healthz >/dev/null && break; sleep 0.5; done
export BENCH_WRK_DIR=bench/wrk BENCH_BODY="grant_type=client_credentials&scope=read"
load() { wrk -t2 -c32 -d$1s --latency -s bench/wrk/post.lua -H "X-Forwarded-Proto: https" -H "Authorization: Basic $BASIC" http://127.0.0.1:5095/oauth/token 2>&1 | grep -E "Requests/sec|  50%|  99%|Non-2xx|Socket errors" ; }
echo "--- warm-up 15 s"; load 15 >/dev/null
echo "--- load without pruning (10 s)"; load 10
echo "--- load while 'prune' runs (Retention:Tokens=0: every expired token goes)"
start=$(date +%s.%N)
( Retention__Tokens=00:00:00 dotnet $DLL prune > /tmp/prune-result.json; echo "prune took $(echo "$(date +%s.%N) - $start" | bc) s" ) &
PRUNE=$!
load 20
wait $PRUNE
cat /tmp/prune-result.json
echo "tokens after: $(count)"
echo "--- load after pruning (10 s)"; load 10
grep -c " 500 \|status 500\|fail:" /tmp/prune-server.log || true
