#!/bin/sh
# Until the first release the schema is one migration, 0001, regenerated from the models after a
# model change (no deployed database depends on it yet). After a release: add migrations instead.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f src/weijian/migrations/versions/0001_initial_schema.py
WEIJIAN_DATABASE_URL="sqlite:///$tmp/regen.db" .venv/bin/weijian db revision -m "initial schema" >/dev/null
f=$(ls src/weijian/migrations/versions/*_initial_schema.py)
rev=$(basename "$f" | cut -d_ -f1)
sed "s/$rev/0001/g" "$f" > src/weijian/migrations/versions/0001_initial_schema.py
rm -f "$f"; rm -rf "$tmp"
echo "regenerated src/weijian/migrations/versions/0001_initial_schema.py"
