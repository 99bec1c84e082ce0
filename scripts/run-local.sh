#!/usr/bin/env bash
# Starts the Vigil fleet on this machine with embedded defaults: builds every service
# built so far (release), writes default configs under .vigil/, starts each on the ports
# of ARCHITECTURE.md, prints where each listens, and stops them all on Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

command -v swift >/dev/null || { echo "swift is not on PATH (Swift 6.1 or later is needed)" >&2; exit 1; }
# C libraries the services link (zlib for gzip, snappy for remote write and the WAL,
# SQLite for the object store's metadata).
missing=()
for p in zlib1g-dev libsnappy-dev libsqlite3-dev; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
state="$root/.vigil"
mkdir -p "$state/logs" "$state/collector-queue" "$state/metrics-store" "$state/object-store/meta" "$state/object-store/data"

echo "building services (release)..."
swift build -c release --product collector >/dev/null
swift build -c release --product metrics-store >/dev/null
swift build -c release --product object-store >/dev/null
bin=$(swift build -c release --show-bin-path)

# The collector forwards to the stores on their default ports; until a store runs, its
# exporter keeps the data in a persistent queue on disk and retries.
cat > "$state/collector.yaml" <<YAML
extensions:
  health_check:
    endpoint: 127.0.0.1:13133
  file_storage:
    directory: $state/collector-queue
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
      http:
        endpoint: 0.0.0.0:4318
processors:
  batch:
exporters:
  prometheusremotewrite:
    endpoint: http://127.0.0.1:9090/api/v1/write
    resource_to_telemetry_conversion:
      enabled: true
    remote_write_queue:
      storage: file_storage
    retry_on_failure:
      max_elapsed_time: 0
  otlphttp/logs:
    endpoint: http://127.0.0.1:3100/otlp
    sending_queue:
      storage: file_storage
    retry_on_failure:
      max_elapsed_time: 0
  otlp/traces:
    endpoint: 127.0.0.1:4417
    tls:
      insecure: true
    sending_queue:
      storage: file_storage
    retry_on_failure:
      max_elapsed_time: 0
service:
  extensions: [health_check, file_storage]
  telemetry:
    metrics:
      address: 0.0.0.0:8888
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp/traces]
    metrics:
      receivers: [otlp]
      processors: [batch]
      exporters: [prometheusremotewrite]
    logs:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlphttp/logs]
YAML

# The object store's configuration in Garage's format; the admin token stays local.
[ -f "$state/object-store-token" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$state/object-store-token"
cat > "$state/object-store.toml" <<TOML
metadata_dir = "$state/object-store/meta"
data_dir = "$state/object-store/data"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:3901"
rpc_secret = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"

[s3_api]
api_bind_addr = "0.0.0.0:3900"
s3_region = "garage"
root_domain = ".s3.localhost"

[admin]
api_bind_addr = "127.0.0.1:3903"
admin_token = "$(cat "$state/object-store-token")"
TOML

pids=()
stop_all() {
  echo; echo "stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop_all INT TERM

"$bin/metrics-store" --web.listen-address=0.0.0.0:9090 --storage.tsdb.path="$state/metrics-store" \
  --web.enable-remote-write-receiver >"$state/logs/metrics-store.log" 2>&1 &
pids+=($!)
"$bin/collector" --config="$state/collector.yaml" >"$state/logs/collector.log" 2>&1 &
pids+=($!)

"$bin/object-store" -c "$state/object-store.toml" server \
  >"$state/logs/object-store.log" 2>&1 &
pids+=($!)

for url in http://127.0.0.1:13133/ http://127.0.0.1:9090/-/ready; do
  for _ in $(seq 1 50); do
    curl -fs "$url" >/dev/null 2>&1 && break
    sleep 0.2
  done
done

# Buckets and keys for the log-store and trace-store (kept from earlier runs).
OBJECT_STORE_BIN="$bin/object-store" "$root/scripts/object-store-bootstrap.sh" -c "$state/object-store.toml" \
  > "$state/object-store-credentials" || echo "object-store bootstrap failed; see $state/logs/object-store.log" >&2

cat <<TXT
Vigil is running (logs in $state/logs):
  collector      OTLP gRPC 0.0.0.0:4317   OTLP HTTP 0.0.0.0:4318   self-metrics http://127.0.0.1:8888/metrics   health http://127.0.0.1:13133/
  metrics-store  http://127.0.0.1:9090  (remote write /api/v1/write, OTLP /api/v1/otlp/v1/metrics, API /api/v1/...)
  object-store   S3 http://127.0.0.1:3900   admin http://127.0.0.1:3903   (credentials in $state/object-store-credentials)
Press Ctrl-C to stop.
TXT
wait
