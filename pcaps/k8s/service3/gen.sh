#!/bin/sh
# Regenerates this folder's rules.txt and service3.pcap byte for byte (run from anywhere after
# `npm run build`). The node is node-0 / 192.0.2.10 (host.json: the endpoint pods are reached via
# another node, 192.0.2.20, so MASQUERADE picks 192.0.2.10); the pod network is 198.18.0.0/16;
# clients are 203.0.113.1-50. The replies follow the endpoint nfreplay's replay picks for each
# connection with this host and --seed 1 (--match-replay), so `nfreplay replay --host host.json
# --seed 1` (and `nfreplay demo`) sees every reply un-NATed; other seeds pick other endpoints for
# some connections. The capture therefore depends on the replay engine's random draws: if those
# change, rerun this script.
set -e
cd "$(dirname "$0")"
NFR="node ../../../bin/nfreplay.js"
$NFR k8s rules --manifests manifests.yaml --cluster-cidr 198.18.0.0/16 --pod-cidr 198.18.32.0/24 \
  --node-ip 192.0.2.10 --hostname node-0 --out rules.txt
$NFR k8s traffic --rules rules.txt --connections 1400 --clients 50 --replies --seed 1 \
  --match-replay --replay-host host.json --replay-seed 1 --out service3.pcap
