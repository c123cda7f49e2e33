#!/usr/bin/env bash
# The benchmark, in one command: bash bench/run.sh
# Builds AuthServer in Release, starts it with Production settings on loopback (SQLite; SQL Server when
# BENCH_SQLSERVER holds a connection string; PostgreSQL when BENCH_DATABASE=postgres, on a server started here from
# Debian's postgresql), the bare calibration endpoint and oidc-provider beside it, drives every scenario with wrk and
# writes the table to bench/results/latest.md (and a dated copy).
# Settings (environment): BENCH_DURATION (10 s per run), BENCH_RUNS (3), BENCH_WARMUP (10 s), BENCH_THREADS (2),
# BENCH_CONNECTIONS (32), BENCH_FLOW_CONCURRENCY (4 per core), BENCH_ONLY (comma-separated scenario names),
# BENCH_TELEMETRY (all, metrics or traces: what the "telemetry:" scenarios turn on; see Harness.MeasureTelemetryAsync).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench needs: ${need[*]} (apt-get install ${need[*]})" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# BENCH_DATABASE=postgres: a cluster in bench/.out/postgres on a free loopback port, with the durability defaults
# (fsync on, synchronous_commit on), stopped when the run ends. As root the server runs as the postgres user.
if [ "${BENCH_DATABASE:-sqlite}" = "postgres" ]; then
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$bin/initdb" ] || { echo "BENCH_DATABASE=postgres needs Debian's postgresql (apt-get install postgresql)" >&2; exit 1; }
  pgdir="$PWD/bench/.out/postgres"
  rm -rf "$pgdir" && mkdir -p "$pgdir"
  as=()
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$pgdir"; as=(runuser -u postgres --); fi
  "${as[@]}" "$bin/initdb" -D "$pgdir/data" -U authserver -A trust -E UTF8 --no-locale >/dev/null
  pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${as[@]}" "$bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w -o "-p $pgport -h 127.0.0.1 -k $pgdir -c max_connections=300" start >/dev/null
  trap '"${as[@]}" "$bin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true' EXIT
  "${as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$pgport" -U authserver authserver
  export BENCH_POSTGRES="Host=127.0.0.1;Port=$pgport;Username=authserver;Database=authserver;Maximum Pool Size=200"
fi

# The peer's dependencies come from npm, pinned by its lock file.
(cd bench/peers/oidc-provider && npm ci --no-audit --no-fund --loglevel=error)

# Published as README's production notes say: for this machine's platform, so precompiled (ReadyToRun).
rid=$(dotnet --info | awk '/RID:/ { print $2; exit }')
dotnet publish src/AuthServer -c Release -r "$rid" --self-contained false -o bench/.out/server --nologo -v quiet
dotnet build bench/AuthServer.Bench -c Release --nologo -v quiet
dotnet bench/AuthServer.Bench/bin/Release/net10.0/AuthServer.Bench.dll run
