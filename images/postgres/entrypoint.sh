#!/bin/sh
# Entry point of the locally built PostgreSQL test image (scripts/build-test-images.sh). It
# offers the part of the official `postgres` image's interface that the kind backend uses
# (harness/src/backend/kind/services.rs): POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB on
# first start; connections over the socket trusted (so `docker exec ... psql` works), every
# TCP connection by password (scram-sha-256); listening on every address on 5432.
set -eu

bin=/usr/lib/postgresql/15/bin
data=/var/lib/postgresql/data
as_postgres() {
    setpriv --reuid=postgres --regid=postgres --init-groups "$@"
}

: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-${user}}"

mkdir -p "${data}" /var/run/postgresql
chown postgres:postgres "${data}" /var/run/postgresql
chmod 0700 "${data}"

if [ ! -s "${data}/PG_VERSION" ]; then
    pwfile="$(mktemp)"
    printf '%s' "${POSTGRES_PASSWORD}" >"${pwfile}"
    chown postgres "${pwfile}"
    as_postgres "${bin}/initdb" --pgdata="${data}" --username="${user}" --pwfile="${pwfile}" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 >/dev/null
    rm -f "${pwfile}"
    echo "host all all all scram-sha-256" >>"${data}/pg_hba.conf"
    if [ "${db}" != "postgres" ]; then
        # A server on the socket only, so nothing connects before the database exists.
        as_postgres "${bin}/pg_ctl" --pgdata="${data}" --options="-c listen_addresses=''" \
            --wait --silent start
        as_postgres "${bin}/psql" --username="${user}" --dbname=postgres --set=ON_ERROR_STOP=1 \
            --quiet --command="CREATE DATABASE \"${db}\""
        as_postgres "${bin}/pg_ctl" --pgdata="${data}" --mode=fast --wait --silent stop
    fi
fi

exec setpriv --reuid=postgres --regid=postgres --init-groups \
    "${bin}/postgres" -D "${data}" -c listen_addresses='*'
