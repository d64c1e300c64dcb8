#!/usr/bin/env bash
# The main job, from a fresh Debian machine: install what berth needs, build it, make a base
# image, and show the image commands at work.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "berth manages mounts, namespaces and cgroups: run this as root (sudo $0)" >&2
  exit 1
fi
./scripts/deps.sh
cargo build --release -p berth
install -m 0755 target/release/berth /usr/local/bin/berth
echo "== berth $(berth version --format '{{.Client.Version}}') installed in /usr/local/bin"

echo "== making the busybox base image"
./scripts/make-base-image.sh berth busybox:latest
berth images
echo "== the image as Docker describes it"
berth image inspect --format 'Cmd={{.Config.Cmd}} Layers={{len .RootFS.Layers}} Size={{.Size}}' busybox
berth tag busybox demo:1
berth save -o /tmp/berth-demo.tar demo:1
berth rmi demo:1
berth load -i /tmp/berth-demo.tar
berth images
berth system check
