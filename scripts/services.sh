# shellcheck shell=bash
# Sourced by scripts/test (after .venv exists): installs what is missing, then starts the
# services the destination tests load into, each on 127.0.0.1 and a free port:
#
#   PostgreSQL (Debian's)  ZOOMSYNC_TEST_POSTGRES_URL        postgresql://zoomsync:zoomsync@127.0.0.1:PORT/zoomsync
#   moto's S3 server       ZOOMSYNC_TEST_S3_ENDPOINT         http://127.0.0.1:PORT (any key and secret)
#   Azurite (Blob)         ZOOMSYNC_TEST_AZURITE_BLOB_URL    http://127.0.0.1:PORT/devstoreaccount1
#                          ZOOMSYNC_TEST_AZURITE_CONNECTION_STRING
#
# and stops them when the sourcing shell exits, whatever the tests did. Installing happens
# once (apt-get for PostgreSQL and npm, `npm ci` of the committed .services/package-lock.json
# for Azurite, moto through the `test` extra); later runs only start and stop (~1 s).
# A service that cannot be installed here (not root, no apt) is reported and left out: its
# tests then fail, because scripts/test sets ZOOMSYNC_TEST_SERVICES=required.

_svc_dir=$(mktemp -d "${TMPDIR:-/tmp}/zoomsync-services.XXXXXX")
_svc_pids=()
_svc_pg_bin=""
_svc_az_pid=""
_svc_s3_pid=""

_svc_say() { echo "services: $*" >&2; }

_svc_stop() {
  local pid
  if [ -n "$_svc_pg_bin" ] && [ -f "$_svc_dir/pg/postmaster.pid" ]; then
    _svc_as_postgres "$_svc_pg_bin/pg_ctl" -D "$_svc_dir/pg" -m immediate -s stop || true
  fi
  for pid in "${_svc_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${_svc_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$_svc_dir"
}
trap _svc_stop EXIT
trap 'exit 130' INT TERM  # run the EXIT trap on Ctrl-C and on CI's stop too

# PostgreSQL refuses to run as root; Debian's package creates the `postgres` user for it.
_svc_as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

_svc_pg_find() {
  _svc_pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
}

_svc_install() {
  local missing=()
  _svc_pg_find
  [ -n "$_svc_pg_bin" ] || missing+=(postgresql)
  command -v npm >/dev/null || missing+=(nodejs npm)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      _svc_say "installing ${missing[*]} from Debian"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
      _svc_pg_find
    else
      _svc_say "missing ${missing[*]}: install them (as root: apt-get install ${missing[*]})"
    fi
  fi
  if command -v npm >/dev/null && [ ! -x .services/node_modules/.bin/azurite-blob ]; then
    _svc_say "installing Azurite (npm ci in .services)"
    # Azurite pinned by the committed lock file; audit and funding calls would leave the box.
    npm ci --prefix .services --no-audit --no-fund --loglevel=error >/dev/null
  fi
}

# Free ports, chosen together so no two coincide; bound again by the servers at once after.
_svc_ports() {
  .venv/bin/python - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# Wait for a TCP port to accept connections; print the server's log if it never does.
_svc_wait() {
  local name=$1 port=$2 log=$3 pid=$4 i
  for i in $(seq 1 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  _svc_say "$name did not start on 127.0.0.1:$port; its log:"
  tail -n 20 "$log" >&2
  return 1
}

_svc_start_postgres() {
  local port=$1 data="$_svc_dir/pg"
  [ -n "$_svc_pg_bin" ] || return 0
  mkdir -p "$data"
  [ "$(id -u)" = 0 ] && chown postgres "$_svc_dir" "$data"
  _svc_as_postgres "$_svc_pg_bin/initdb" -D "$data" -U zoomsync --auth=trust -E UTF8 \
    --no-sync >"$_svc_dir/initdb.log" 2>&1 || { tail -n 20 "$_svc_dir/initdb.log" >&2; return 1; }
  # Throwaway cluster: no fsync, sockets in the temp dir (not /var/run), loopback only.
  _svc_as_postgres "$_svc_pg_bin/pg_ctl" -D "$data" -l "$_svc_dir/pg.log" -w -s \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $_svc_dir -c fsync=off \
        -c synchronous_commit=off -c full_page_writes=off" start \
    || { tail -n 20 "$_svc_dir/pg.log" >&2; return 1; }
  _svc_as_postgres "$_svc_pg_bin/createdb" -h 127.0.0.1 -p "$port" -U zoomsync zoomsync
  # Trust ignores the password, but dlt refuses credentials without one.
  export ZOOMSYNC_TEST_POSTGRES_URL="postgresql://zoomsync:zoomsync@127.0.0.1:$port/zoomsync"
}

# Azurite and moto take a second or two to listen: launch them, start PostgreSQL meanwhile,
# then wait for both.
_svc_launch_azurite() {
  [ -x .services/node_modules/.bin/azurite-blob ] || return 0
  # --skipApiVersionCheck: newer azure-storage-blob versions than Azurite knows;
  # --disableTelemetry: it would call Application Insights; --loose: ignore unsupported headers.
  .services/node_modules/.bin/azurite-blob --blobHost 127.0.0.1 --blobPort "$1" \
    --location "$_svc_dir/azurite" --skipApiVersionCheck --disableTelemetry --loose \
    >"$_svc_dir/azurite.log" 2>&1 &
  _svc_pids+=($!)
  _svc_az_pid=$!
}

_svc_ready_azurite() {
  [ -n "${_svc_az_pid:-}" ] || return 0
  _svc_wait Azurite "$1" "$_svc_dir/azurite.log" "$_svc_az_pid" || return 1
  local account=devstoreaccount1
  # Azurite's fixed, published development key: not a secret.
  local key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
  export ZOOMSYNC_TEST_AZURITE_BLOB_URL="http://127.0.0.1:$1/$account"
  export ZOOMSYNC_TEST_AZURITE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=$account;AccountKey=$key;BlobEndpoint=$ZOOMSYNC_TEST_AZURITE_BLOB_URL;"
}

_svc_launch_moto() {
  [ -x .venv/bin/moto_server ] || return 0
  .venv/bin/moto_server -H 127.0.0.1 -p "$1" >"$_svc_dir/moto.log" 2>&1 &
  _svc_pids+=($!)
  _svc_s3_pid=$!
}

_svc_ready_moto() {
  [ -n "${_svc_s3_pid:-}" ] || return 0
  _svc_wait "moto S3" "$1" "$_svc_dir/moto.log" "$_svc_s3_pid" || return 1
  export ZOOMSYNC_TEST_S3_ENDPOINT="http://127.0.0.1:$1"
}

_svc_started=$SECONDS
_svc_install
read -r _svc_pg_port _svc_az_port _svc_s3_port <<<"$(_svc_ports 3)"
_svc_launch_azurite "$_svc_az_port"
_svc_launch_moto "$_svc_s3_port"
_svc_start_postgres "$_svc_pg_port"
_svc_ready_azurite "$_svc_az_port"
_svc_ready_moto "$_svc_s3_port"
_svc_say "PostgreSQL, Azurite and moto S3 on 127.0.0.1, ready in $((SECONDS - _svc_started)) s"
