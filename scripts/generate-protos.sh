#!/usr/bin/env bash
# Regenerates the committed protobuf code from Protos/ and stamps it with the
# protos' checksums; a test fails when the stamp no longer matches Protos/.
# Builds protoc-gen-swift once into .build-protoc (about 2-10 minutes).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
command -v protoc >/dev/null || { echo "installing protobuf-compiler"; apt-get install -y -qq protobuf-compiler; }

plugin_dir="$root/.build-protoc"
plugin="$plugin_dir/protoc-gen-swift/.build/release/protoc-gen-swift"
if [ ! -x "$plugin" ]; then
  echo "building protoc-gen-swift (one time)"
  mkdir -p "$plugin_dir"
  rm -rf "$plugin_dir/protoc-gen-swift"
  git clone -q https://github.com/apple/swift-protobuf.git "$plugin_dir/protoc-gen-swift"
  git -C "$plugin_dir/protoc-gen-swift" checkout -q 1.39.0
  (cd "$plugin_dir/protoc-gen-swift" && swift build -c release --product protoc-gen-swift)
fi

out="Sources/WeftProtocol/Generated"
rm -f "$out"/*.pb.swift
protoc --plugin=protoc-gen-swift="$plugin" \
  --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath \
  -I Protos --swift_out="$out" Protos/weft/v1/*.proto

# C (protobuf-c) and Python outputs join here as their clients land.

(cd Protos && sha256sum weft/v1/*.proto) > "$out/protos.sha256"
echo "generated into $out"
