"""Live voice activity detection from a microphone over one ``speech.detect.live`` call.

    python live_microphone.py [tcp://127.0.0.1:5555] [--command "arecord ..."] [--piece-ms 20]

Records 16-bit mono audio at 16 kHz with ``arecord`` (ALSA) or, if it is missing, ``sox``
(``-d``: the default input device), sends it in pieces as it comes and prints each speech
segment as soon as the worker knows it has ended. Ctrl-C ends the recording; the last
segment is printed when the call ends. ``--command`` reads raw 16-bit mono samples from
any program instead (e.g. ``"sox speech.wav -t raw -r 16000 -e signed -b 16 -c 1 -"``).
"""

import argparse
import shlex
import shutil
import subprocess
import sys
from typing import Iterator, List

from weft_client import Client
from weft_client._proto.weft.v1 import speech_pb2

RATE = 16000


def recorder() -> List[str]:
    if shutil.which("arecord"):
        return ["arecord", "-q", "-f", "S16_LE", "-r", str(RATE), "-c", "1", "-t", "raw"]
    if shutil.which("sox"):
        return ["sox", "-q", "-d", "-t", "raw", "-r", str(RATE), "-e", "signed", "-b", "16", "-c", "1", "-"]
    sys.exit("neither arecord (alsa-utils) nor sox is installed; or give --command")


def pieces(command: List[str], piece_ms: int) -> Iterator[speech_pb2.LiveAudio]:
    size = RATE * piece_ms // 1000 * 2
    first = True
    with subprocess.Popen(command, stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        try:
            while chunk := process.stdout.read(size):
                piece = speech_pb2.LiveAudio(samples=chunk, encoding=speech_pb2.LiveAudio.ENCODING_PCM16)
                if first:
                    piece.sample_rate = RATE
                    first = False
                yield piece
        except KeyboardInterrupt:
            process.terminate()  # the call half-closes: the last segment comes back


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gateway", nargs="?", default="tcp://127.0.0.1:5555")
    parser.add_argument("--command", help="a program writing raw 16-bit mono samples at 16 kHz to stdout")
    parser.add_argument("--piece-ms", type=int, default=20)
    arguments = parser.parse_args()
    command = shlex.split(arguments.command) if arguments.command else recorder()
    with Client(arguments.gateway) as client:
        for reply in client.detect_speech_live(pieces(command, arguments.piece_ms)):
            for segment in reply.segments:
                print(f"speech {segment.start:8.3f} – {segment.end:8.3f} s", flush=True)
            if reply.duration:
                print(f"{reply.duration:.2f} s of audio")


if __name__ == "__main__":
    main()
