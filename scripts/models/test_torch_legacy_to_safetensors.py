#!/usr/bin/env python3
"""Tests for torch_legacy_to_safetensors.py on small checkpoints written here in the
legacy format, so neither the test nor the converter needs PyTorch.

    python3 -m unittest scripts/models/test_torch_legacy_to_safetensors.py
"""
import array
import collections
import io
import json
import os
import pickle
import struct
import sys
import tempfile
import types
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_legacy_to_safetensors as converter  # noqa: E402


def _fake_torch():
    """Stand-ins that pickle under the names a real checkpoint uses."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    for name in ("FloatStorage", "LongStorage"):
        setattr(torch, name, type(name, (), {"__module__": "torch"}))
    return torch, utils


class Storage:
    def __init__(self, kind, key, values):
        self.kind, self.key, self.values = kind, key, values


class Tensor:
    def __init__(self, storage, offset, shape, strides):
        self.storage, self.offset, self.shape, self.strides = storage, offset, shape, strides

    def __reduce__(self):
        rebuild = sys.modules["torch._utils"]._rebuild_tensor_v2
        return rebuild, (self.storage, self.offset, self.shape, self.strides, False, collections.OrderedDict())


class LegacyPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            kind = getattr(sys.modules["torch"], obj.kind)
            return ("storage", kind, obj.key, "cpu", len(obj.values), None)
        return None


def legacy_checkpoint(state, storages, magic=converter.LEGACY_MAGIC):
    """The bytes of a legacy checkpoint holding `state` (name → Tensor)."""
    torch, utils = _fake_torch()
    saved = {name: sys.modules.get(name) for name in ("torch", "torch._utils")}
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
    try:
        out = io.BytesIO()
        for header in (magic, 1001, {"protocol_version": 1001, "little_endian": True}):
            pickle.dump(header, out, protocol=2)
        LegacyPickler(out, protocol=2).dump(state)
        pickle.dump([s.key for s in storages], out, protocol=2)
        for storage in storages:
            code = "f" if storage.kind == "FloatStorage" else "q"
            out.write(struct.pack("<q", len(storage.values)))
            out.write(array.array(code, storage.values).tobytes())
        return out.getvalue()
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    tensors = {}
    for name, entry in header.items():
        start, end = entry["data_offsets"]
        values = array.array("f" if entry["dtype"] == "F32" else "q", raw[8 + length + start:8 + length + end])
        tensors[name] = (entry["dtype"], entry["shape"], values.tolist())
    return tensors, (8 + length) % 8


class ConverterTests(unittest.TestCase):
    def convert(self, data):
        with tempfile.TemporaryDirectory() as directory:
            source, target = os.path.join(directory, "in.pth"), os.path.join(directory, "out.safetensors")
            with open(source, "wb") as f:
                f.write(data)
            converter.main(["converter", source, target])
            return read_safetensors(target)

    def test_strided_offset_and_integer_tensors_come_out_row_major(self):
        weights = Storage("FloatStorage", "10", [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        count = Storage("LongStorage", "11", [42])
        state = collections.OrderedDict([
            # A [2, 3] view stored column-major (strides 1, 2), as TensorFlow-converted
            # convolutions are: row-major it reads 0 2 4 / 1 3 5.
            ("transposed", Tensor(weights, 0, (2, 3), (1, 2))),
            ("tail", Tensor(weights, 4, (3,), (1,))),
            ("count", Tensor(count, 0, (), ())),
        ])
        tensors, data_alignment = self.convert(legacy_checkpoint(state, [weights, count]))
        self.assertEqual(tensors["transposed"], ("F32", [2, 3], [0.0, 2.0, 4.0, 1.0, 3.0, 5.0]))
        self.assertEqual(tensors["tail"], ("F32", [3], [4.0, 5.0, 6.0]))
        self.assertEqual(tensors["count"], ("I64", [], [42]))
        self.assertEqual(data_alignment, 0, "data must start 8-byte aligned")

    def test_not_a_legacy_checkpoint_is_refused(self):
        weights = Storage("FloatStorage", "1", [1.0])
        data = legacy_checkpoint({"w": Tensor(weights, 0, (1,), (1,))}, [weights], magic=12345)
        with self.assertRaisesRegex(converter.ConversionError, "magic"):
            self.convert(data)

    def test_a_view_past_its_storage_is_refused(self):
        weights = Storage("FloatStorage", "1", [1.0, 2.0])
        data = legacy_checkpoint({"w": Tensor(weights, 1, (2,), (1,))}, [weights])
        with self.assertRaisesRegex(converter.ConversionError, "past its storage"):
            self.convert(data)

    def test_a_truncated_file_is_refused(self):
        weights = Storage("FloatStorage", "1", [1.0, 2.0, 3.0])
        data = legacy_checkpoint({"w": Tensor(weights, 0, (3,), (1,))}, [weights])
        with self.assertRaisesRegex(converter.ConversionError, "truncated"):
            self.convert(data[:-4])


if __name__ == "__main__":
    unittest.main()
