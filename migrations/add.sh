#!/usr/bin/env bash
# Adds a migration of the same name for every provider: ./migrations/add.sh <Name>
set -euo pipefail
name=${1:?usage: migrations/add.sh <MigrationName>}
cd "$(dirname "$0")/.."
dotnet tool restore >/dev/null
for provider in Sqlite SqlServer PostgreSql; do
  dotnet ef migrations add "$name" \
    --project "migrations/AuthServer.Migrations.$provider" \
    --startup-project "migrations/AuthServer.Migrations.$provider" \
    --output-dir Migrations
done
