#!/bin/sh
# Installs the Debian packages the test suite needs (PostgreSQL server, Chromium) when they are missing.
# Runs apt-get only as root; otherwise says what to install and leaves it to the user.
need=""
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$need postgresql"
[ -x /usr/bin/chromium ] || need="$need chromium"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing$need from Debian's packages"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need fonts-noto-cjk >/dev/null
else
  echo "system-deps: please install:$need (Debian: sudo apt-get install$need)" >&2
  exit 1
fi
