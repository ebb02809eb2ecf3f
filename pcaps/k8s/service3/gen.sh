#!/bin/sh
# Regenerates this folder's rules.txt and service3.pcap byte for byte (run from anywhere after
# `npm run build`). The node is node-0 / 192.0.2.10 with the pod network 198.18.0.0/16; clients
# are 203.0.113.1-50; masqueraded replies (ClusterIP traffic from outside the cluster CIDR) go to
# 192.0.2.10.
set -e
cd "$(dirname "$0")"
NFR="node ../../../bin/nfreplay.js"
$NFR k8s rules --manifests manifests.yaml --cluster-cidr 198.18.0.0/16 --pod-cidr 198.18.32.0/24 \
  --node-ip 192.0.2.10 --hostname node-0 --out rules.txt
$NFR k8s traffic --rules rules.txt --connections 1400 --clients 50 --replies --seed 1 \
  --out service3.pcap
