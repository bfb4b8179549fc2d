#!/usr/bin/env bash
# Checks every crate's declared `rust-version` (MSRV):
#
# 1. The core crate `hushwire` (the one published library) builds with exactly its declared
#    rust-version: it is packaged as `cargo package` would publish it, its dependencies are
#    resolved afresh the way a user's cargo resolves them (MSRV-aware: `fallback`, the default
#    of cargo's resolver v3), and it is checked with Debian's rustc/cargo of that version for
#    each feature set that matters (default; no default features; each feature alone).
# 2. Every workspace member declares a rust-version no lower than the highest rust-version among
#    the dependencies Cargo.lock resolves for it (the workspace's own lockfile is not
#    MSRV-resolved: it takes the newest versions, e.g. the VAES backend of aes 0.9.4).
#
#   bash scripts/check-msrv.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bash scripts/install-deps.sh rust >/dev/null
msrv_rust=$(sed -n 's/^MSRV_RUST=\([^ ]*\).*/\1/p' scripts/install-deps.sh)
home="$root/target/tools/rust-$msrv_rust/usr"
declared=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' crates/hushwire/Cargo.toml)
if [ "$declared" != "$msrv_rust" ]; then
    echo "check-msrv: crates/hushwire declares rust-version $declared but the checked toolchain is $msrv_rust" >&2
    exit 1
fi

# 1. The packaged core crate with its MSRV toolchain.
cargo package -q -p hushwire --no-verify --allow-dirty --locked
work="$root/target/msrv"
rm -rf "$work/src"
mkdir -p "$work/src"
crate=$(ls -t target/package/hushwire-*.crate | head -n 1)
tar xzf "$crate" -C "$work/src"
pkgdir=$(echo "$work"/src/hushwire-*)
(
    cd "$pkgdir"
    # A standalone package, as on crates.io, not a member of this workspace.
    printf "\n[workspace]\n" >>Cargo.toml
    export LD_LIBRARY_PATH="$home/lib/x86_64-linux-gnu" RUSTC="$home/bin/rustc" \
        CARGO_TARGET_DIR="$work/target" CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback
    cargo="$home/bin/cargo"
    "$cargo" --version
    "$RUSTC" --version
    "$cargo" generate-lockfile -q
    features=$(sed -n '/^\[features\]/,/^\[/p' Cargo.toml | sed -n 's/^\([a-z_-]*\) = .*/\1/p' | grep -vx default || true)
    "$cargo" check -q --lib --locked
    "$cargo" check -q --lib --locked --no-default-features
    for f in $features; do
        "$cargo" check -q --lib --locked --no-default-features --features "$f"
    done
    echo "check-msrv: hushwire builds with Rust $msrv_rust (default, no-default-features, each of: $(echo $features))"
)

# 2. Declared rust-version >= what the locked dependencies need, for every member.
cargo metadata -q --format-version 1 --locked >"$work/metadata.json"
python3 - "$work/metadata.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
pkgs = {p["id"]: p for p in m["packages"]}
nodes = {n["id"]: n for n in m["resolve"]["nodes"]}
def ver(s):
    return tuple(int(x) for x in s.split(".")) if s else None
bad = 0
for member in m["workspace_members"]:
    seen, stack = set(), [member]
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        for d in nodes[i]["deps"]:
            if any(k["kind"] in (None, "build") for k in d["dep_kinds"]):
                stack.append(d["pkg"])
    p = pkgs[member]
    need = max((ver(pkgs[i].get("rust_version")) or (0,), pkgs[i]["name"] + " " + pkgs[i]["version"])
               for i in seen if i != member)
    have = ver(p.get("rust_version"))
    if p["name"] == "hushwire":
        continue  # checked by compiling above (its users resolve MSRV-aware)
    if have is None or have < need[0]:
        bad += 1
        print(f"check-msrv: {p['name']} declares rust-version {p.get('rust_version')} but {need[1]} needs {'.'.join(map(str, need[0]))}", file=sys.stderr)
    else:
        print(f"check-msrv: {p['name']} rust-version {p['rust_version']} >= {'.'.join(map(str, need[0]))} ({need[1]})")
sys.exit(1 if bad else 0)
PY
