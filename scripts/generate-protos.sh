#!/usr/bin/env bash
# Regenerates the Swift code for Vigil's .proto schemas. Run it by hand after editing a
# schema and commit the output: CI never builds the protoc plugins (about ten minutes).
#
# Needs protoc (Debian's protobuf-compiler). The two Swift plugins are built once into
# .build-protogen from the same swift-protobuf and grpc-swift-protobuf versions that
# Package.swift uses.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v protoc >/dev/null || apt-get install -y protobuf-compiler

tools="$root/.build-protogen"
if [ ! -x "$tools/release/protoc-gen-grpc-swift-2" ]; then
  mkdir -p "$tools/pkg/Dummy"
  cat > "$tools/pkg/Package.swift" <<'PKG'
// swift-tools-version:6.0
import PackageDescription
let package = Package(
  name: "protogen",
  dependencies: [
    .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
  ],
  targets: [.target(name: "Dummy", path: "Dummy")]
)
PKG
  echo "" > "$tools/pkg/Dummy/empty.swift"
  swift build -c release --package-path "$tools/pkg" --scratch-path "$tools" --product protoc-gen-swift
  swift build -c release --package-path "$tools/pkg" --scratch-path "$tools" --product protoc-gen-grpc-swift-2
fi

protos=Shared/Protos
gen() { # out-dir, grpc?, files...
  local out=$1 grpc=$2; shift 2
  rm -rf "$out"; mkdir -p "$out"
  protoc -I "$protos" --plugin=protoc-gen-swift="$tools/release/protoc-gen-swift" \
    --swift_out="$out" --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores "$@"
  if [ "$grpc" = yes ]; then
    # Only files that declare a service get gRPC stubs.
    local services=()
    for f in "$@"; do grep -q '^service ' "$protos/$f" && services+=("$f"); done
    protoc -I "$protos" --plugin=protoc-gen-grpc-swift="$tools/release/protoc-gen-grpc-swift-2" \
      --grpc-swift_out="$out" --grpc-swift_opt=Visibility=Public,Server=true,Client=true \
      --grpc-swift_opt=FileNaming=PathToUnderscores "${services[@]}"
  fi
}

gen Shared/OTLP/Generated yes \
  opentelemetry/proto/common/v1/common.proto \
  opentelemetry/proto/resource/v1/resource.proto \
  opentelemetry/proto/trace/v1/trace.proto \
  opentelemetry/proto/metrics/v1/metrics.proto \
  opentelemetry/proto/logs/v1/logs.proto \
  opentelemetry/proto/collector/trace/v1/trace_service.proto \
  opentelemetry/proto/collector/metrics/v1/metrics_service.proto \
  opentelemetry/proto/collector/logs/v1/logs_service.proto \
  google/rpc/status.proto
gen Shared/PrometheusRemoteWrite/Generated no prometheus/remote.proto
echo "generated into Shared/OTLP/Generated and Shared/PrometheusRemoteWrite/Generated"
