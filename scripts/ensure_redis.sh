#!/usr/bin/env bash
# Make sure redis-server is installed (Debian: apt-get), for `make demo`. It does not start
# Redis: the demo uses the Redis at REDIS_URL when one answers, else starts its own private
# redis-server child (see campaigns/management/commands/demo.py). Safe to run again.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "Redis is not installed: installing redis-server with apt-get"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
command -v redis-server >/dev/null 2>&1 || { echo "redis-server is still missing" >&2; exit 1; }
