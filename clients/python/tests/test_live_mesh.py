"""The Python client against a live mesh.

Needs ``WEFT_GATEWAY`` (a gateway frontend with ``echo``, ``sleep``, ``text``,
``vision`` and ``speech`` workers); the Swift integration test ``ClientLibraryTests`` starts such a mesh and runs
this file. Without the variable every test here is skipped, except the offline ones.
"""

import asyncio
import json
import os
import pathlib
import socket
import time
import unittest

import zmq

from weft_client import (
    AsyncClient,
    CallOptions,
    Client,
    DeadlineExceeded,
    InvalidArgument,
    StatusCode,
    Unavailable,
    WeftError,
    encode_header,
)
from weft_client import services
from weft_client._proto.weft.v1 import header_pb2, speech_pb2
from weft_client.wire import SIGNATURE, decode_reply

GATEWAY = os.environ.get("WEFT_GATEWAY")
FIXTURE_DIR = pathlib.Path(__file__).resolve().parents[3] / "Tests" / "WeftModelsTests" / "Fixtures"
FIXTURES = FIXTURE_DIR / "minilm.json"
live = unittest.skipUnless(GATEWAY, "WEFT_GATEWAY not set")


def unused_endpoint() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{probe.getsockname()[1]}"


class OfflineTests(unittest.TestCase):
    def test_header_round_trips_through_protobuf(self):
        raw = encode_header(7, "text", "embed", CallOptions(timeout=0.25, user_id="u", metadata={"k": b"\x00"}))
        header = header_pb2.RequestHeader.FromString(raw)
        self.assertEqual((header.request_id, header.service, header.method, header.timeout_ms), (7, "text", "embed", 250))
        self.assertEqual(header.metadata["k"].binary, b"\x00")
        self.assertTrue(header.idempotent)

    def test_missing_service_is_invalid_argument(self):
        with self.assertRaises(InvalidArgument):
            encode_header(1, "", "embed", CallOptions())

    def test_the_async_client_has_every_helper_of_the_blocking_one(self):
        import inspect

        transport = {"send", "poll", "cancel", "close", "pending"}
        helpers = {name for name, value in vars(Client).items() if callable(value) and not name.startswith("_")} - transport
        for name in sorted(helpers):
            twin = getattr(AsyncClient, name, None)
            self.assertIsNotNone(twin, f"AsyncClient has no {name}")
            self.assertTrue(inspect.iscoroutinefunction(twin) or inspect.isasyncgenfunction(twin)
                            or name in {"stream", "stream_method"}, f"AsyncClient.{name} is not async")

    def test_malformed_replies_are_rejected(self):
        self.assertIsNone(decode_reply([b"XXX\x01", b""]))
        self.assertIsNone(decode_reply([SIGNATURE]))
        self.assertIsNone(decode_reply([SIGNATURE, b"\x0a\xff\xff"]))

    def test_unknown_status_maps_to_base_error(self):
        error = WeftError.of(99, "strange")
        self.assertEqual(error.code, StatusCode.UNKNOWN)
        self.assertIn("99", error.message)

    def test_no_gateway_ends_at_the_deadline(self):
        with Client(unused_endpoint()) as client:
            start = time.monotonic()
            with self.assertRaises(DeadlineExceeded):
                client.call("echo", "echo", [b"x"], timeout=0.2)
            self.assertLess(time.monotonic() - start, 2.0)
            self.assertEqual(client.pending, 0)


@live
def wait_until(condition, timeout=5.0):
    """Polls ``condition`` every 10 ms until it holds; fails after ``timeout`` seconds."""
    give_up = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.01)


def sleep_in_flight(client):
    """Requests the gateway has in flight on the sleep workers."""
    status = client.mesh_status()
    return sum(w.in_flight for s in status.services if s.name == "sleep" for v in s.versions for w in v.workers)


class BlockingClientTests(unittest.TestCase):
    def setUp(self):
        self.client = Client(GATEWAY)

    def tearDown(self):
        self.client.close()

    def test_round_trip_with_metadata(self):
        reply = self.client.call("echo", "echo", [b"hello", b"\x00\xff"], metadata={"trace": "t-1", "blob": b"\x01"})
        self.assertEqual(reply.status, StatusCode.OK)
        self.assertEqual(reply.body, [b"hello", b"\x00\xff"])
        self.assertEqual(reply.metadata, {"trace": "t-1", "blob": b"\x01"})
        self.assertTrue(reply.end_of_stream)
        self.assertNotEqual(reply.worker_id, "")

    def test_many_in_flight(self):
        ids = {self.client.send("echo", "echo", [f"body-{index}".encode()]): index for index in range(300)}
        self.assertEqual(self.client.pending, 300)
        seen = {}
        while self.client.pending:
            reply = self.client.poll(timeout=10)
            self.assertIsNotNone(reply)
            seen[reply.request_id] = reply
        self.assertEqual(set(seen), set(ids))
        for request_id, index in ids.items():
            self.assertEqual(seen[request_id].body, [f"body-{index}".encode()])

    def test_deadline_expiry(self):
        start = time.monotonic()
        with self.assertRaises(DeadlineExceeded) as caught:
            self.client.call("sleep", "sleep", timeout=0.15, metadata={"sleep_ms": "2000"})
        self.assertLess(time.monotonic() - start, 1.5)
        self.assertEqual(caught.exception.code, StatusCode.DEADLINE_EXCEEDED)

    def test_cancel_reaches_the_gateway(self):
        before = self.client.mesh_status().cancelled_by_clients
        request_id = self.client.send("sleep", "sleep", timeout=10, metadata={"sleep_ms": "1500"})
        wait_until(lambda: sleep_in_flight(self.client) > 0)
        self.assertTrue(self.client.cancel(request_id))
        self.assertFalse(self.client.cancel(request_id))
        wait_until(lambda: self.client.mesh_status().cancelled_by_clients == before + 1)

    def test_unknown_service(self):
        with self.assertRaises(Unavailable) as caught:
            self.client.call("no-such-service", "run", timeout=5)
        self.assertIn("no-such-service", caught.exception.message)

    def test_unknown_method(self):
        with self.assertRaises(WeftError) as caught:
            self.client.call("echo", "no-such-method", timeout=5)
        self.assertEqual(caught.exception.code, StatusCode.NOT_FOUND)

    def test_streaming(self):
        replies = list(self.client.stream("echo", "stream", [b"a", b"b", b"c"], timeout=5))
        self.assertEqual([reply.body for reply in replies], [[b"a"], [b"b"], [b"c"]])
        self.assertFalse(any(reply.end_of_stream for reply in replies))

    def test_sync_call_keeps_other_replies_for_poll(self):
        first = self.client.send("echo", "echo", [b"first"])
        self.assertEqual(self.client.call("echo", "echo", [b"second"]).body, [b"second"])
        reply = self.client.poll(timeout=5)
        self.assertEqual((reply.request_id, reply.body), (first, [b"first"]))

    def test_malformed_request_gets_invalid_argument(self):
        context = zmq.Context.instance()
        raw = context.socket(zmq.DEALER)
        raw.setsockopt(zmq.LINGER, 0)
        raw.setsockopt(zmq.RCVTIMEO, 5000)
        raw.connect(GATEWAY)
        try:
            raw.send_multipart([SIGNATURE, b"\x0a\xff\xff\xff"])  # a length past the end
            reply = decode_reply(raw.recv_multipart())
            self.assertEqual(reply.status, StatusCode.INVALID_ARGUMENT)
            raw.send_multipart([b"WFC\x09", b""])  # another protocol version
            self.assertEqual(decode_reply(raw.recv_multipart()).status, StatusCode.UNIMPLEMENTED)
        finally:
            raw.close()

    def test_embeddings_match_the_reference(self):
        cases = json.loads(FIXTURES.read_text())["cases"][:6]
        vectors = self.client.embed([case["text"] for case in cases], timeout=20)
        self.assertEqual(vectors.shape, (len(cases), 384))
        for vector, case in zip(vectors, cases):
            self.assertLessEqual(max(abs(float(a) - b) for a, b in zip(vector, case["embedding"])), 1e-4, case["text"])
        scores = self.client.similarity(cases[0]["text"], [cases[0]["text"], cases[1]["text"]], timeout=20)
        self.assertAlmostEqual(float(scores[0]), 1.0, places=4)

    def test_classification_matches_the_reference(self):
        reference = json.loads((FIXTURE_DIR / "efficientnet.json").read_text())["exact_inputs"][1]
        image = (FIXTURE_DIR / "vision" / reference["file"]).read_bytes()
        result = self.client.classify(image, top_k=5, include_logits=True, timeout=20)
        self.assertEqual([index for index, _, _ in result.top], reference["top5"])
        self.assertEqual(result.top[0][1], "espresso")
        self.assertLessEqual(max(abs(float(a) - b) for a, b in zip(result.logits, reference["logits"])), 1e-3)
        self.assertEqual(self.client.image_embedding(image, timeout=20).shape, (1280,))
        with self.assertRaises(InvalidArgument) as caught:
            self.client.classify(image[:100], timeout=20)
        self.assertIn("corrupt PNG", str(caught.exception))

    def test_speech_segments_match_the_reference(self):
        reference = json.loads((FIXTURE_DIR / "speech" / "vad.json").read_text())
        entry = next(item for item in reference["files"] if item["name"] == "speech-pauses-16k.wav")
        wav = (FIXTURE_DIR / "speech" / entry["name"]).read_bytes()
        expected = [(start / 16000, end / 16000) for start, end in entry["segments"][0]]
        result = self.client.detect_speech(wav)
        self.assertEqual(result.segments, expected)
        self.assertEqual(len(result.probabilities), len(entry["probabilities"]))
        self.assertLessEqual(max(abs(float(a) - b) for a, b in zip(result.probabilities, entry["probabilities"])), 1e-4)
        self.assertEqual(list(self.client.detect_speech_stream(wav)), expected)
        options = reference["optionSets"][2]
        tighter = self.client.detect_speech(wav, omit_probabilities=True, threshold=options["threshold"], neg_threshold=options["neg_threshold"],
                                            min_speech_ms=options["min_speech_duration_ms"], min_silence_ms=options["min_silence_duration_ms"],
                                            speech_pad_ms=options["speech_pad_ms"])
        self.assertEqual(tighter.segments, [(start / 16000, end / 16000) for start, end in entry["segments"][2]])
        self.assertIsNone(tighter.probabilities)
        with self.assertRaises(InvalidArgument) as caught:
            self.client.detect_speech(wav[:200])
        self.assertIn("truncated", str(caught.exception))

    def test_a_call_that_stays_open_echoes_every_message_in_order(self):
        messages = ([str(i).encode()] for i in range(3000))
        echoed = [response.body[0] for response in self.client.stream_call("echo", "chat", messages)]
        self.assertEqual(echoed, [str(i).encode() for i in range(3000)])

    def test_live_speech_equals_detection_of_the_whole_recording(self):
        wav = (FIXTURE_DIR / "speech" / "speech-22k.wav").read_bytes()
        whole = self.client.detect_speech(wav)
        import wave
        with wave.open(str(FIXTURE_DIR / "speech" / "speech-22k.wav")) as reader:
            rate, pcm = reader.getframerate(), reader.readframes(reader.getnframes())
        step = 2 * (rate * 37 // 1000)  # 37 ms of 16-bit samples per piece
        pieces = [speech_pb2.LiveAudio(samples=pcm[start:start + step], encoding=speech_pb2.LiveAudio.ENCODING_PCM16,
                                       sample_rate=rate if start == 0 else 0, include_probabilities=start == 0)
                  for start in range(0, len(pcm), step)]
        responses = list(self.client.detect_speech_live(pieces))
        segments = [(segment.start, segment.end) for response in responses for segment in response.segments]
        self.assertEqual(segments, whole.segments)
        probabilities = [p for response in responses if response.HasField("probabilities")
                         for p in services.tensor_values(response.probabilities)]
        self.assertEqual(len(probabilities), len(whole.probabilities))
        self.assertLessEqual(max(abs(float(a) - float(b)) for a, b in zip(probabilities, whole.probabilities)), 1e-4)
        self.assertAlmostEqual(responses[-1].duration, whole.duration, places=9)

    def test_mesh_status_lists_the_services(self):
        names = {service.name for service in self.client.mesh_status().services}
        self.assertTrue({"echo", "sleep", "text", "vision", "speech"} <= names, names)

    def test_rewards_reach_the_version_figures(self):
        def echo_version(status):
            echo = next(service for service in status.services if service.name == "echo")
            return next(version for version in echo.versions if version.version == "1")

        before = echo_version(self.client.mesh_status())
        self.client.reward([("echo", "1", 1.0), ("echo", "1", 0.0)])
        after = echo_version(self.client.mesh_status())
        self.assertEqual(after.rewards, before.rewards + 2)
        with self.assertRaises(WeftError) as caught:
            self.client.reward([("echo", "no-such-version", 0.5)])
        self.assertEqual(caught.exception.code, StatusCode.NOT_FOUND)
        self.assertEqual(len(self.client.routes().routes), 0)

    def test_recommender_learns_counts_retries_once_and_forgets(self):
        def axis(index):
            vector = [0.0] * 384
            vector[index] = 1.0
            return vector

        user = f"py-{time.time_ns()}"
        self.client.upsert_catalog([(f"song-{index}", axis(index), ["rock" if index % 2 else "jazz"], 0.0) for index in range(4)])
        likes = [(user, "song-2", 1.0, f"{user}-{index}") for index in range(5)]
        self.assertEqual(self.client.feedback(likes).applied, 5)
        self.assertEqual(self.client.feedback(likes).duplicates, 5)
        ranked = self.client.recommend(user, k=2, include_rated=True, exploration=0)
        self.assertEqual(ranked.items[0].id, "song-2")
        self.assertEqual(self.client.profile(user).events, 5)

        candidates = [(f"song-{index}", 0.5 - 0.1 * index) for index in range(4)]
        ranked = self.client.personalize(user, candidates, embeddings=[axis(index) for index in range(4)], exploration=0)
        self.assertEqual(ranked.items[0].id, "song-2")
        self.assertEqual(ranked.items[0].model_rank, 2)
        with self.assertRaises(InvalidArgument):
            self.client.personalize(user, candidates, embeddings=[axis(0)], exploration=0)

        self.assertTrue(self.client.delete_profile(user).existed)
        self.assertFalse(self.client.profile(user).exists)

    def test_a_personalised_similarity_is_ranked_for_the_user(self):
        from weft_client._proto.weft.v1 import text_pb2

        body = [services.similarity_request("a pet", ["a cat", "a dog", "the stock market"])]
        response = self.client.call("text", "similarity", body, timeout=20, personalize=True, user_id="py-user")
        self.assertTrue(response.personalized)
        reply = text_pb2.SimilarityResponse()
        reply.ParseFromString(response.body[0])
        self.assertEqual(len(reply.personalized.items), 3)

    def test_feedback_with_a_personalised_replys_token_credits_its_version(self):
        def text_version(status, name):
            text = next(service for service in status.services if service.name == "text")
            return next(version for version in text.versions if version.version == name)

        body = [services.similarity_request("a pet", ["a cat", "the stock market"])]
        response = self.client.call("text", "similarity", body, timeout=20, personalize=True, user_id="py-rewarder")
        self.assertTrue(response.personalized)
        token = response.reward_token
        self.assertIsNotNone(token)
        before = text_version(self.client.mesh_status(), response.model_version).rewards
        event = ("py-rewarder", "a cat", 1.0, f"py-reward-{time.time_ns()}")
        self.assertEqual(self.client.feedback([event], reward_token=token).applied, 1)
        self.assertEqual(text_version(self.client.mesh_status(), response.model_version).rewards, before + 1)
        # A token credits once.
        self.client.feedback([("py-rewarder", "a cat", 1.0, f"py-reward-again-{time.time_ns()}")], reward_token=token)
        self.assertEqual(text_version(self.client.mesh_status(), response.model_version).rewards, before + 1)


@live
class AsyncClientTests(unittest.TestCase):
    def run_async(self, coroutine):
        return asyncio.run(asyncio.wait_for(coroutine, 30))

    def test_a_call_that_stays_open_from_an_async_source(self):
        async def scenario():
            async def messages():
                for i in range(2000):
                    yield [str(i).encode()]
            async with AsyncClient(GATEWAY) as client:
                return [response.body[0] async for response in client.stream_call("echo", "chat", messages())]

        self.assertEqual(self.run_async(scenario()), [str(i).encode() for i in range(2000)])

    def test_many_in_flight(self):
        async def scenario():
            async with AsyncClient(GATEWAY) as client:
                replies = await asyncio.gather(*[client.call("echo", "echo", [str(i).encode()]) for i in range(300)])
                return [reply.body for reply in replies]

        self.assertEqual(self.run_async(scenario()), [[str(i).encode()] for i in range(300)])

    def test_deadline_and_errors(self):
        async def scenario():
            async with AsyncClient(GATEWAY) as client:
                with self.assertRaises(DeadlineExceeded):
                    await client.call("sleep", "sleep", timeout=0.15, metadata={"sleep_ms": "2000"})
                with self.assertRaises(Unavailable):
                    await client.call("no-such-service", "run", timeout=5)
                return await client.call("echo", "echo", [b"after"], user_id="user-1", personalize=False)

        self.assertEqual(self.run_async(scenario()).body, [b"after"])

    def test_streaming(self):
        async def scenario():
            async with AsyncClient(GATEWAY) as client:
                return [reply.body async for reply in client.stream("echo", "stream", [b"x", b"y"])]

        self.assertEqual(self.run_async(scenario()), [[b"x"], [b"y"]])

    def test_a_cancelled_task_cancels_its_call_at_the_gateway(self):
        async def scenario():
            async with AsyncClient(GATEWAY) as client:
                before = (await client.mesh_status()).cancelled_by_clients
                call = asyncio.ensure_future(client.call("sleep", "sleep", timeout=10, metadata={"sleep_ms": "1500"}))
                for _ in range(500):
                    status = await client.mesh_status()
                    if any(w.in_flight for s in status.services if s.name == "sleep" for v in s.versions for w in v.workers):
                        break
                    await asyncio.sleep(0.01)
                call.cancel()
                for _ in range(500):
                    if (await client.mesh_status()).cancelled_by_clients == before + 1:
                        return True
                    await asyncio.sleep(0.01)
                return False

        self.assertTrue(self.run_async(scenario()))

    def test_no_gateway_ends_at_the_deadline(self):
        async def scenario():
            async with AsyncClient(unused_endpoint()) as client:
                await client.call("echo", "echo", timeout=0.2)

        with self.assertRaises(DeadlineExceeded):
            self.run_async(scenario())

    def test_typed_helpers_answer_as_the_blocking_client_does(self):
        wav = (FIXTURE_DIR / "speech" / "speech-pauses-16k.wav").read_bytes()
        user = f"py-async-{time.time_ns()}"

        async def scenario():
            async with AsyncClient(GATEWAY) as client:
                detection = await client.detect_speech(wav, omit_probabilities=True)
                streamed = [segment async for segment in client.detect_speech_stream(wav)]
                names = {service.name for service in (await client.mesh_status()).services}
                routes = await client.routes()
                await client.upsert_catalog([("a", [1.0] + [0.0] * 383, ["x"], 0.0)])
                applied = (await client.feedback([(user, "a", 1.0, f"{user}-1")])).applied
                ranked = await client.recommend(user, k=1, include_rated=True, exploration=0)
                events = (await client.profile(user)).events
                existed = (await client.delete_profile(user)).existed
                return detection, streamed, names, routes, applied, ranked, events, existed

        detection, streamed, names, routes, applied, ranked, events, existed = self.run_async(scenario())
        with Client(GATEWAY) as blocking:
            self.assertEqual(detection.segments, blocking.detect_speech(wav, omit_probabilities=True).segments)
        self.assertEqual(streamed, detection.segments)
        self.assertTrue({"echo", "speech", "recommender"} <= names, names)
        self.assertEqual(len(routes.routes), 0)
        self.assertEqual((applied, ranked.items[0].id, events, existed), (1, "a", 1, True))

    def test_embed(self):
        async def scenario():
            async with AsyncClient(GATEWAY) as client:
                return await client.embed(["A man is eating food.", "A car drives."], timeout=20)

        self.assertEqual(self.run_async(scenario()).shape, (2, 384))


if __name__ == "__main__":
    unittest.main()
