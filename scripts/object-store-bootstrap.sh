#!/usr/bin/env bash
# Creates what the log-store and trace-store need in the object store: buckets loki-chunks
# and tempo-traces, keys loki-key and tempo-key, each with read+write on its bucket.
# Safe to run again: existing buckets, keys and grants are left as they are.
#
# Usage: scripts/object-store-bootstrap.sh [-c garage.toml]
#   OBJECT_STORE_BIN   the object-store executable (default: object-store on PATH)
#   LOKI_KEY_ID / LOKI_SECRET, TEMPO_KEY_ID / TEMPO_SECRET
#                      import these credentials instead of generating new ones, so that
#                      the services' configs can name them in advance.
# Prints the credentials of both keys as KEY_NAME_ID=... / KEY_NAME_SECRET=... lines.
set -euo pipefail

bin=${OBJECT_STORE_BIN:-object-store}
config_args=()
if [ "${1:-}" = "-c" ] && [ -n "${2:-}" ]; then config_args=(-c "$2"); fi
os() { "$bin" "${config_args[@]}" "$@"; }

# Wait for the node's admin API (the job may start before the node).
for _ in $(seq 1 60); do
  if os bucket list >/dev/null 2>&1; then break; fi
  sleep 1
done
os bucket list >/dev/null

ensure_bucket() {
  local name=$1
  if ! os bucket info "$name" >/dev/null 2>&1; then
    os bucket create "$name" >/dev/null
  fi
}

# Prints "ID SECRET" of the key named $1, creating (or importing) it when missing.
ensure_key() {
  local name=$1 wanted_id=$2 wanted_secret=$3 info
  if ! info=$(os key info --show-secret "$name" 2>/dev/null); then
    if [ -n "$wanted_id" ] && [ -n "$wanted_secret" ]; then
      info=$(os key import -n "$name" --yes "$wanted_id" "$wanted_secret")
    else
      info=$(os key create "$name")
    fi
  fi
  awk -F': ' '/^Key ID:/ {id=$2} /^Secret key:/ {secret=$2} END {print id, secret}' <<<"$info"
}

ensure_bucket loki-chunks
ensure_bucket tempo-traces
read -r loki_id loki_secret < <(ensure_key loki-key "${LOKI_KEY_ID:-}" "${LOKI_SECRET:-}")
read -r tempo_id tempo_secret < <(ensure_key tempo-key "${TEMPO_KEY_ID:-}" "${TEMPO_SECRET:-}")
os bucket allow --read --write loki-chunks --key "$loki_id" >/dev/null
os bucket allow --read --write tempo-traces --key "$tempo_id" >/dev/null

echo "LOKI_KEY_ID=$loki_id"
echo "LOKI_SECRET=$loki_secret"
echo "TEMPO_KEY_ID=$tempo_id"
echo "TEMPO_SECRET=$tempo_secret"
