#!/bin/sh
# Until the first release the tables are made by one migration, 0001, regenerated from the models after
# a model change (no deployed database depends on it yet). Later migrations (hand-written DDL such as
# triggers, revising 0001) are set aside while 0001 is regenerated and then put back.
# After the first release: never regenerate; add a migration instead.
set -eu
cd "$(dirname "$0")/.."
V=src/weijian/migrations/versions
tmp=$(mktemp -d)
for f in "$V"/*.py; do
  case "$(basename "$f")" in __init__.py|0001_initial_schema.py) ;; *) mv "$f" "$tmp/" ;; esac
done
rm -f "$V/0001_initial_schema.py"
WEIJIAN_DATABASE_URL="sqlite:///$tmp/regen.db" .venv/bin/weijian db revision -m "initial schema" >/dev/null
f=$(ls "$V"/*_initial_schema.py)
rev=$(basename "$f" | cut -d_ -f1)
sed "s/$rev/0001/g" "$f" > "$V/0001_initial_schema.py"
rm -f "$f"
for f in "$tmp"/*.py; do [ -e "$f" ] && mv "$f" "$V/"; done
rm -rf "$tmp"
echo "regenerated $V/0001_initial_schema.py"
