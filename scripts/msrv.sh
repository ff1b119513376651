#!/usr/bin/env bash
# Checks that Cargo.toml's `rust-version` is at least what the crate's edition and every
# dependency in Cargo.lock ask for: normal, build and dev dependencies, all features, for the
# host platform. Fails, naming the dependencies that ask for more, when it is lower.
#
# Offline and fast: it reads `cargo metadata` (no build, no network), so the dependencies must
# already be downloaded, as they are after any `cargo build`. Dependencies of other platforms
# only (Windows, wasm) are not seen. What this does not prove: that the crate's own code builds
# with that toolchain. Clippy's `incompatible_msrv` lint (on by default, denied in .ci/run)
# flags standard-library items newer than `rust-version`; language features are checked only
# by building with that toolchain, which this machine does not have.
#
# Usage: scripts/msrv.sh
set -euo pipefail
cd "$(dirname "$0")/.."

host=$(rustc -vV | sed -n 's/^host: //p')
check=$(cat <<'PY'
import json, sys

# "1.85" or "1.85.0" as a tuple of three numbers, to compare.
def parse(version):
    parts = [int(p) for p in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))

def show(version):
    return ".".join(str(p) for p in version[:2]) + ("" if version[2] == 0 else f".{version[2]}")

# The first toolchain of each edition.
EDITIONS = {"2015": "1.0", "2018": "1.31", "2021": "1.56", "2024": "1.85"}

meta = json.load(sys.stdin)
root_id = meta["resolve"]["root"]
packages = {p["id"]: p for p in meta["packages"]}
root = packages[root_id]
if not root.get("rust_version"):
    sys.exit(f"msrv: {root['name']} has no rust-version in Cargo.toml; add one")
declared = parse(root["rust_version"])

# Everything the root reaches in the resolved graph: its own dependencies of every kind, and
# theirs (the resolve holds no dev-dependencies but the root's).
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
reached, todo = set(), [root_id]
while todo:
    for dep in nodes[todo.pop()]["deps"]:
        if dep["pkg"] not in reached:
            reached.add(dep["pkg"])
            todo.append(dep["pkg"])

needs = [(parse(EDITIONS[root["edition"]]), f"edition {root['edition']}")]
for pid in reached:
    p = packages[pid]
    if p.get("rust_version"):
        needs.append((parse(p["rust_version"]), f"{p['name']} {p['version']}"))
needs.sort(reverse=True)
required = needs[0][0]
top = sorted(who for version, who in needs if version == required)

print(f"msrv: rust-version {show(declared)} declared; {len(reached)} dependencies checked; "
      f"{show(required)} required by {', '.join(top)}")
if declared < required:
    too_new = [f"{who} ({show(v)})" for v, who in needs if v > declared]
    sys.exit(
        f"msrv: rust-version {show(declared)} is lower than what these need: "
        f"{', '.join(too_new)}; raise rust-version in Cargo.toml to {show(required)} "
        f"or hold them back in Cargo.lock (cargo update -p NAME --precise VERSION)"
    )
PY
)
cargo metadata --format-version 1 --offline --all-features --filter-platform "$host" |
    python3 -c "$check"
