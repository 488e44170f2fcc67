#!/usr/bin/env python3
"""Tests for onnx_initializers_to_safetensors.py on small ONNX files encoded here by hand
(protobuf wire format), so neither the test nor the converter needs the onnx package.

    python3 -m unittest scripts/models/test_onnx_initializers_to_safetensors.py
"""
import array
import json
import os
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_initializers_to_safetensors as converter  # noqa: E402


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number, payload):
    """A length-delimited field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def scalar(number, value):
    return varint(number << 3) + varint(value)


def tensor(name, dims, values, raw=True, dtype=1, packed_dims=True):
    body = b""
    if packed_dims:
        body += field(1, b"".join(varint(d) for d in dims))
    else:
        body += b"".join(scalar(1, d) for d in dims)
    body += scalar(2, dtype) + field(8, name.encode())
    data = array.array("f", values).tobytes()
    body += field(9, data) if raw else field(4, data)
    return body


def model(graph):
    return scalar(1, 8) + field(7, graph)  # ir_version, graph


def read_safetensors(path):
    with open(path, "rb") as stream:
        (length,) = struct.unpack("<Q", stream.read(8))
        header = json.loads(stream.read(length))
        data = stream.read()
    out = {}
    for name, entry in header.items():
        start, end = entry["data_offsets"]
        out[name] = (entry["shape"], array.array("f", data[start:end]).tolist())
    return out


class ConverterTests(unittest.TestCase):
    def convert(self, onnx_bytes):
        with tempfile.TemporaryDirectory() as work:
            source, target = os.path.join(work, "m.onnx"), os.path.join(work, "m.safetensors")
            with open(source, "wb") as out:
                out.write(onnx_bytes)
            converter.main(["convert", source, target])
            return read_safetensors(target)

    def test_raw_and_float_data_and_nested_graphs(self):
        branch = field(5, tensor("inner.weight", [2], [5.0, 6.0], raw=False))
        node = field(5, field(1, b"then_branch") + field(6, branch))  # NodeProto.attribute with a graph
        graph = field(5, tensor("a.weight", [2, 2], [1, 2, 3, 4])) + field(1, node)
        graph += field(5, tensor("a.bias", [3], [0.5, -1, 2], packed_dims=False))
        found = self.convert(model(graph))
        self.assertEqual(found["a.weight"], ([2, 2], [1, 2, 3, 4]))
        self.assertEqual(found["a.bias"], ([3], [0.5, -1, 2]))
        self.assertEqual(found["inner.weight"], ([2], [5, 6]))

    def test_non_float_initializers_are_left_out(self):
        graph = field(5, tensor("w", [1], [1])) + field(5, tensor("steps", [1], [7], dtype=7))
        self.assertEqual(set(self.convert(model(graph))), {"w"})

    def test_refusals(self):
        cases = [
            (model(field(5, tensor("w", [3], [1, 2]))), "2 values for shape [3]"),
            (model(scalar(1, 8)), "no float32 initializers"),
            (model(field(5, tensor("w", [1], [1]) + scalar(14, 1))), "outside the file"),
            (b"\x0a\xff", "truncated"),
        ]
        for data, message in cases:
            with self.assertRaises(converter.ConversionError) as caught:
                self.convert(data)
            self.assertIn(message, str(caught.exception))


if __name__ == "__main__":
    unittest.main()
