"""Writes tensors into a safetensors file: an 8-byte little-endian header length, a JSON
header naming each tensor's dtype, shape and byte range, then the raw data. Standard
library only; shared by the converters in this folder."""
import json
import struct
import sys


def write_safetensors(tensors, path):
    """`tensors` is {name: (dtype, shape, array.array)}, each array in row-major order."""
    header, offset = {}, 0
    for name, (dtype, shape, data) in tensors.items():
        size = len(data) * data.itemsize
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(encoded)))
        out.write(encoded)
        for _dtype, _shape, data in tensors.values():
            if sys.byteorder != "little":
                data.byteswap()
            out.write(data.tobytes())
