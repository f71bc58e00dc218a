#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1; start them if stopped, install them with
# apt-get if absent (Debian). Used by `make test`; safe to run again.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
apt_updated=0
apt_install() {
    if [ "$apt_updated" = 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "PostgreSQL is not installed: installing it with apt-get"
    apt_install postgresql
fi
if ! pg_up; then
    echo "Starting PostgreSQL"
    for version in $(ls /etc/postgresql); do
        $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
pg_up || { echo "PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 1; }

# The tests connect as postgres over TCP: make sure that works without a password prompt.
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
    echo "Allowing local trust authentication for the test database user"
    hba=$($SUDO -u postgres psql -Atc 'show hba_file' 2>/dev/null || su postgres -c "psql -Atc 'show hba_file'")
    $SUDO sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    $SUDO -u postgres psql -c 'select pg_reload_conf()' >/dev/null 2>&1 \
        || su postgres -c "psql -c 'select pg_reload_conf()'" >/dev/null
fi

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if ! command -v redis-server >/dev/null 2>&1; then
    echo "Redis is not installed: installing it with apt-get"
    apt_install redis-server
fi
if ! redis_up; then
    echo "Starting Redis"
    mkdir -p /tmp/dialer-redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir /tmp/dialer-redis --logfile /tmp/dialer-redis/redis.log
    for _ in $(seq 1 30); do redis_up && break; sleep 0.5; done
fi
redis_up || { echo "Redis does not answer on 127.0.0.1:6379" >&2; exit 1; }
echo "PostgreSQL and Redis are up"
