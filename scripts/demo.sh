#!/usr/bin/env bash
# The main job, from a fresh Debian machine: install what berth needs, build it, make a base
# image, show the image commands at work, then build the goals example with `berth build` and
# serve its page from a container.
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

echo "== building the goals example: a web page in an image (examples/goals)"
berth build -t goals:latest examples/goals
echo "== rebuilding it unchanged: every step comes from the build cache"
berth build -t goals:latest examples/goals 2>&1 | grep -E 'CACHED|writing image'
web=$(berth run -d --rm -p 3000:80 goals:latest)
# httpd needs a moment to listen; ask for the page until it answers.
page=""
for _ in $(seq 50); do
  if page=$(curl -fsS http://127.0.0.1:3000/); then break; fi
  sleep 0.1
done
berth stop "$web" >/dev/null
if ! grep -q 'Hello from berth' <<<"$page"; then
  echo "the goals page did not answer on port 3000" >&2
  exit 1
fi
echo "== http://127.0.0.1:3000/ answered:"
echo "$page"
