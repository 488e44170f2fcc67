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
  # A machine of this kind keeps a copy of the Swift packages; GitHub is the fallback.
  source=https://github.com/apple/swift-protobuf.git
  [ -d /opt/swift-packages/apple/swift-protobuf.git ] && source=/opt/swift-packages/apple/swift-protobuf.git
  git clone -q "$source" "$plugin_dir/protoc-gen-swift"
  git -C "$plugin_dir/protoc-gen-swift" checkout -q 1.39.0
  (cd "$plugin_dir/protoc-gen-swift" && swift build -c release --product protoc-gen-swift)
fi

# The method tables below need the Python client's virtual environment. Made first:
# scripts/setup-clients.sh also builds the C client from the generated code removed below.
python="$root/.build-python/venv/bin/python"
[ -x "$python" ] || ./scripts/setup-clients.sh

# Messages come from every proto but services.proto, whose service blocks become the
# method tables below.
messages=()
for proto in Protos/weft/v1/*.proto; do
  [ "$(basename "$proto")" = services.proto ] || messages+=("$proto")
done

out="Sources/WeftProtocol/Generated"
rm -f "$out"/*.pb.swift
protoc --plugin=protoc-gen-swift="$plugin" \
  --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath \
  -I Protos --swift_out="$out" "${messages[@]}"

# The C client's protobuf-c code.
command -v protoc-c >/dev/null || { echo "installing protobuf-c-compiler"; apt-get install -y -qq protobuf-c-compiler; }
c_out="clients/c/generated"
rm -rf "$c_out" && mkdir -p "$c_out"
protoc --c_out="$c_out" -I Protos "${messages[@]}"

# The Python client's modules, inside its package: protoc writes `from weft.v1 import …`,
# which is rewritten to the package path so the client needs no top-level `weft` module.
py_out="clients/python/weft_client/_proto"
rm -rf "$py_out" && mkdir -p "$py_out"
protoc --python_out="$py_out" --pyi_out="$py_out" -I Protos "${messages[@]}"
sed -i 's/^from weft\.v1 import/from weft_client._proto.weft.v1 import/' "$py_out"/weft/v1/*_pb2.py "$py_out"/weft/v1/*_pb2.pyi
touch "$py_out/__init__.py" "$py_out/weft/__init__.py" "$py_out/weft/v1/__init__.py"

# The method tables of every language, from services.proto (Python with protobuf: the
# client's virtual environment).
descriptors="$(mktemp)"
trap 'rm -f "$descriptors"' EXIT
protoc -I Protos --include_imports --include_source_info --descriptor_set_out="$descriptors" Protos/weft/v1/services.proto
"$python" scripts/protos/method_tables.py "$descriptors" "$out/Services.swift" \
  "$c_out/weft/v1/methods.h" "$c_out/weft/v1/methods.c" clients/python/weft_client/methods.py

(cd Protos && sha256sum weft/v1/*.proto ../scripts/protos/method_tables.py) > "$out/protos.sha256"
echo "generated into $out, $c_out and $py_out"
