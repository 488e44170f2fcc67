"""Calls a live Weft gateway over HTTP with the Open Inference Protocol's own clients.

tritonclient.http (binary tensors, as it asks by default, and JSON tensors) and KServe's
InferenceRESTClient call `text`, `vision` and `speech`; the numbers they get are printed
as one JSON object for InferenceProtocolTests to compare with the Swift client's.

Usage: oip_clients.py HOST:PORT IMAGE WAV
"""

import asyncio
import json
import sys

import numpy as np
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException
from kserve import InferenceRESTClient, InferRequest, InferInput, RESTConfig

TEXTS = ["a cat sits on the mat", "the stock market fell sharply"]


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def floats(array):
    return [float(value) for value in np.asarray(array).reshape(-1)]


def with_triton(address, image, wav, binary):
    client = triton.InferenceServerClient(url=address)
    outputs = lambda *names: [triton.InferRequestedOutput(name, binary_data=binary) for name in names]

    sentences = triton.InferInput("text", [len(TEXTS)], "BYTES")
    sentences.set_data_from_numpy(np.array([t.encode() for t in TEXTS], dtype=object), binary_data=binary)
    embedded = client.infer("text", [sentences], outputs=outputs("embedding", "token_counts"), request_id="text-1")

    picture = triton.InferInput("image", [1], "BYTES")
    picture.set_data_from_numpy(np.array([image], dtype=object), binary_data=True)
    classified = client.infer(
        "vision", [picture], outputs=outputs("labels", "probabilities", "indices", "logits"), parameters={"top_k": 5})

    audio = triton.InferInput("audio", [1], "BYTES")
    audio.set_data_from_numpy(np.array([wav], dtype=object), binary_data=True)
    detected = client.infer("speech", [audio], outputs=outputs("segments", "probabilities"))

    return {
        "id": embedded.get_response()["id"],
        "embedding": floats(embedded.as_numpy("embedding")),
        "embedding_shape": list(embedded.as_numpy("embedding").shape),
        "token_counts": [int(v) for v in embedded.as_numpy("token_counts")],
        "labels": [text(v) for v in classified.as_numpy("labels")],
        "indices": [int(v) for v in classified.as_numpy("indices")],
        "probabilities": floats(classified.as_numpy("probabilities")),
        "logits": floats(classified.as_numpy("logits")),
        "segments": floats(detected.as_numpy("segments")),
        "speech_probabilities": floats(detected.as_numpy("probabilities")),
        "model_version": classified.get_response()["model_version"],
    }


def triton_metadata_and_errors(address):
    client = triton.InferenceServerClient(url=address)
    result = {
        "live": client.is_server_live(),
        "ready": client.is_server_ready(),
        "text_ready": client.is_model_ready("text"),
        "server": client.get_server_metadata(),
        "text": client.get_model_metadata("text"),
    }
    errors = {}

    def status_of(call):
        try:
            call()
            return "200"
        except InferenceServerException as error:
            return error.status()

    errors["unknown_model"] = status_of(lambda: client.get_model_metadata("nothing"))
    errors["unknown_version"] = status_of(lambda: client.get_model_metadata("text", model_version="9"))
    wrong = triton.InferInput("text", [2], "FP32")
    wrong.set_data_from_numpy(np.zeros(2, dtype=np.float32))
    errors["wrong_datatype"] = status_of(lambda: client.infer("text", [wrong]))
    result["errors"] = errors
    return result


async def with_kserve(address, image, wav):
    client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=60))
    base = f"http://{address}"

    sentences = InferInput("text", [len(TEXTS)], "BYTES")
    sentences.set_data_from_numpy(np.array([t.encode() for t in TEXTS], dtype=object), binary_data=True)
    embedded = await client.infer(base, InferRequest("text", [sentences]), model_name="text")

    picture = InferInput("image", [1], "BYTES")
    picture.set_data_from_numpy(np.array([image], dtype=object), binary_data=True)
    classified = await client.infer(
        base, InferRequest("vision", [picture], parameters={"top_k": 5}), model_name="vision")

    audio = InferInput("audio", [1], "BYTES")
    audio.set_data_from_numpy(np.array([wav], dtype=object), binary_data=True)
    detected = await client.infer(base, InferRequest("speech", [audio]), model_name="speech")

    outputs = lambda response: {output.name: output.as_numpy() for output in response.outputs}
    e, c, d = outputs(embedded), outputs(classified), outputs(detected)
    ready = await client.is_model_ready(base, "vision")
    await client.close()
    return {
        "embedding": floats(e["embedding"]),
        "labels": [text(v) for v in c["labels"]],
        "probabilities": floats(c["probabilities"]),
        "segments": floats(d["segments"]),
        "speech_probabilities": floats(d["probabilities"]),
        "vision_ready": ready,
    }


def main():
    address, image_path, wav_path = sys.argv[1:4]
    image = open(image_path, "rb").read()
    wav = open(wav_path, "rb").read()
    print(json.dumps({
        "triton_binary": with_triton(address, image, wav, binary=True),
        "triton_json": with_triton(address, image, wav, binary=False),
        "triton": triton_metadata_and_errors(address),
        "kserve": asyncio.run(with_kserve(address, image, wav)),
    }))


if __name__ == "__main__":
    main()
