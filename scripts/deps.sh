#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need when they are missing (idempotent):
# OpenSSL headers for librdkafka's TLS and SASL/SCRAM, libcurl headers for its OIDC token
# requests (sasl.oauthbearer.method=oidc), pkg-config to find them, and socat, the
# TLS terminator the broker-TLS tests put in front of the test broker.
set -euo pipefail
packages=(libssl-dev libcurl4-openssl-dev pkg-config socat)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}" >&2
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
