#!/usr/bin/env python3
"""Copies the float32 initializers (the weights) of an ONNX model into a safetensors file.

Standard library only, so set-up needs neither onnx nor onnxruntime. An ONNX file is a
protobuf `ModelProto`; this reads just enough of the wire format to walk
ModelProto.graph (field 7) → GraphProto.initializer (field 5) → TensorProto (dims 1,
data_type 2, float_data 4, name 8, raw_data 9), including the graphs nested in node
attributes (If/Loop branches). Tensors whose data lives outside the file are refused.

    onnx_initializers_to_safetensors.py INPUT.onnx OUTPUT.safetensors
"""
import array
import sys

from safetensors_writer import write_safetensors

FLOAT = 1  # TensorProto.DataType.FLOAT
MODEL_GRAPH, GRAPH_NODE, GRAPH_INITIALIZER = 7, 1, 5
NODE_ATTRIBUTE, ATTRIBUTE_GRAPH, ATTRIBUTE_GRAPHS = 5, 6, 11
TENSOR_DIMS, TENSOR_TYPE, TENSOR_FLOATS, TENSOR_NAME, TENSOR_RAW, TENSOR_LOCATION = 1, 2, 4, 8, 9, 14


class ConversionError(Exception):
    pass


def varint(data, position):
    value = shift = 0
    while True:
        if position >= len(data):
            raise ConversionError("truncated varint")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, position


def fields(data):
    """Yields (field number, wire type, value) for each field of one message."""
    position = 0
    while position < len(data):
        key, position = varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = varint(data, position)
        elif wire == 1:
            value, position = data[position:position + 8], position + 8
        elif wire == 5:
            value, position = data[position:position + 4], position + 4
        elif wire == 2:
            length, position = varint(data, position)
            value, position = data[position:position + length], position + length
        else:
            raise ConversionError(f"unsupported wire type {wire}")
        if position > len(data):
            raise ConversionError("truncated field")
        yield number, wire, value


def read_tensor(data):
    name, dims, dtype, raw, floats = "", [], 0, None, array.array("f")
    for number, wire, value in fields(data):
        if number == TENSOR_DIMS:
            if wire == 0:
                dims.append(value)
            else:  # packed
                position = 0
                while position < len(value):
                    dim, position = varint(value, position)
                    dims.append(dim)
        elif number == TENSOR_TYPE:
            dtype = value
        elif number == TENSOR_NAME:
            name = value.decode()
        elif number == TENSOR_RAW:
            raw = value
        elif number == TENSOR_FLOATS:
            floats.frombytes(value)
        elif number == TENSOR_LOCATION and value == 1:
            raise ConversionError(f"tensor {name or '?'} keeps its data outside the file")
    if dtype != FLOAT:
        return name, None
    data = array.array("f")
    if raw is not None:
        data.frombytes(raw)
    else:
        data = floats
    if sys.byteorder != "little":
        data.byteswap()
    count = 1
    for dim in dims:
        count *= dim
    if len(data) != count:
        raise ConversionError(f"tensor {name} has {len(data)} values for shape {dims}")
    return name, (dims, data)


def messages(data):
    """(field number, bytes) of the length-delimited fields of one message: the only
    kind that can hold a nested message."""
    return ((number, value) for number, wire, value in fields(data) if wire == 2)


def read_graph(data, tensors):
    for number, value in messages(data):
        if number == GRAPH_INITIALIZER:
            name, tensor = read_tensor(value)
            if tensor is not None:
                if name in tensors:
                    raise ConversionError(f"initializer {name} appears twice")
                tensors[name] = ("F32", tensor[0], tensor[1])
        elif number == GRAPH_NODE:
            for node_field, attribute in messages(value):
                if node_field != NODE_ATTRIBUTE:
                    continue
                for attribute_field, nested in messages(attribute):
                    if attribute_field in (ATTRIBUTE_GRAPH, ATTRIBUTE_GRAPHS):
                        read_graph(nested, tensors)


def read_initializers(data):
    """The model's float32 initializers as {name: ("F32", shape, array)}, in file order."""
    tensors = {}
    for number, value in messages(data):
        if number == MODEL_GRAPH:
            read_graph(value, tensors)
    if not tensors:
        raise ConversionError("no float32 initializers found: is this an ONNX model?")
    return tensors


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    with open(argv[1], "rb") as stream:
        tensors = read_initializers(stream.read())
    write_safetensors(tensors, argv[2])
    print(f"converted {len(tensors)} tensors to {argv[2]}")


if __name__ == "__main__":
    main(sys.argv)
