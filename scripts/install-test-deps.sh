#!/usr/bin/env bash
# Installs what the test suite needs on a Debian machine; safe to run again.
set -euo pipefail

apt_packages=(docker-compose zlib1g-dev libsnappy-dev libsqlite3-dev openssl prometheus prometheus-node-exporter prometheus-alertmanager)
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

pip_packages=(
  pytest pyyaml requests cramjam kubernetes-validate awscli boto3
  opentelemetry-sdk opentelemetry-exporter-otlp-proto-grpc opentelemetry-exporter-otlp-proto-http
)
if ! python3 - <<'PY' 2>/dev/null
import pytest, yaml, requests, cramjam, kubernetes_validate, boto3, awscli
import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.grpc, opentelemetry.exporter.otlp.proto.http
PY
then
  python3 -m pip install -q "${pip_packages[@]}"
fi
