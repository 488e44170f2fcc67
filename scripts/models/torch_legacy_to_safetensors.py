#!/usr/bin/env python3
"""Converts a legacy (pre-1.6, non-zip) PyTorch state dict into a safetensors file.

Standard library only, so set-up needs no PyTorch. The legacy format is a run of
pickles (magic number, protocol version, system info, the state dict, the storage keys)
followed by each storage in key order as a little-endian int64 element count and the raw
elements. Tensors are views into storages with an offset, a shape and strides; the
strides may be anything (TensorFlow-converted convolutions are not row-major), so every
tensor is gathered into row-major order before it is written.

    torch_legacy_to_safetensors.py INPUT.pth OUTPUT.safetensors
"""
import array
import collections
import json
import pickle
import struct
import sys

from safetensors_writer import write_safetensors

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
STORAGE_TYPES = {  # storage class → (safetensors dtype, array typecode, bytes per element)
    "FloatStorage": ("F32", "f", 4),
    "LongStorage": ("I64", "q", 8),
}


class StorageRef:
    """A storage named by a persistent id; its bytes come after the pickles."""

    def __init__(self, key, kind, count):
        self.key, self.kind, self.count = key, kind, count


class TensorView:
    """What `torch._utils._rebuild_tensor_v2` would have built."""

    def __init__(self, storage, offset, shape, strides):
        self.storage, self.offset, self.shape, self.strides = storage, offset, tuple(shape), tuple(strides)


class ConversionError(Exception):
    pass


class LegacyUnpickler(pickle.Unpickler):
    """Resolves only the few globals a state dict refers to; anything else is refused."""

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return lambda storage, offset, shape, strides, *_: TensorView(storage, offset, shape, strides)
        if module == "torch" and name in STORAGE_TYPES:
            return name
        raise ConversionError(f"unsupported global in checkpoint: {module}.{name}")

    def persistent_load(self, pid):
        tag, kind, key, _location, count = pid[:5]
        if tag != "storage" or kind not in STORAGE_TYPES:
            raise ConversionError(f"unsupported persistent id {pid!r}")
        return StorageRef(key, kind, count)


def read_legacy(stream):
    """The state dict of a legacy checkpoint as {name: (dtype, shape, row-major array)}."""
    load = lambda: LegacyUnpickler(stream).load()
    if load() != LEGACY_MAGIC:
        raise ConversionError("not a legacy PyTorch checkpoint (bad magic number)")
    protocol = load()
    if protocol != 1001:
        raise ConversionError(f"unsupported legacy protocol version {protocol}")
    info = load()
    if not info.get("little_endian", False):
        raise ConversionError("big-endian checkpoints are not supported")
    state = load()
    keys = load()
    storages = {}
    kinds = {view.storage.key: view.storage.kind for view in state.values() if isinstance(view, TensorView)}
    for key in keys:
        (count,) = struct.unpack("<q", stream.read(8))
        _dtype, code, size = STORAGE_TYPES[kinds.get(key, "FloatStorage")]
        data = array.array(code)
        raw = stream.read(count * size)
        if len(raw) != count * size:
            raise ConversionError(f"storage {key} is truncated")
        data.frombytes(raw)
        storages[key] = data
    tensors = {}
    for name, view in state.items():
        if not isinstance(view, TensorView):
            raise ConversionError(f"{name} is not a tensor")
        dtype, code, _ = STORAGE_TYPES[view.storage.kind]
        tensors[name] = (dtype, view.shape, gather(storages[view.storage.key], view, code))
    return tensors


def gather(storage, view, code):
    """The view's elements in row-major order, whatever its strides."""
    out = array.array(code)
    if not view.shape:
        out.append(storage[view.offset])
        return out
    *outer, inner = view.shape
    *outer_strides, inner_stride = view.strides
    last = view.offset + sum((n - 1) * s for n, s in zip(view.shape, view.strides) if n > 0)
    if last >= len(storage) or view.offset < 0:
        raise ConversionError("tensor view reaches past its storage")

    def walk(depth, base):
        if depth == len(outer):
            out.extend(storage[base:base + inner * inner_stride:inner_stride] if inner_stride > 0
                       else [storage[base]] * inner)
            return
        for index in range(outer[depth]):
            walk(depth + 1, base + index * outer_strides[depth])

    walk(0, view.offset)
    return out


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    with open(argv[1], "rb") as stream:
        tensors = read_legacy(stream)
    write_safetensors(tensors, argv[2])
    print(f"converted {len(tensors)} tensors to {argv[2]}")


if __name__ == "__main__":
    main(sys.argv)
