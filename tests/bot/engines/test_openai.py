"""The openai backend against a real OpenAI-compatible server (llama-cpp-python's, serving the bundled SmolLM2)
on loopback; small stub servers only for what a well-behaved server never does (echo a key, garble a stream)."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from bot.config import GeneratorConfig
from bot.engines import GeneratorUnavailable
from bot.engines.choice import open_generator, stand_in_location
from bot.engines.openai import ModelServerError, OpenAIGenerator
from bot.prompt import ChatMessage
from tests.conftest import EXAMPLES
from tests.fixtures.ports import free_port

KEY = "sk-test-5b1f0c9e7d"  # the real server is started with it and refuses requests without it
VPN = [
    ChatMessage("system", "The VPN server for Acme employees is vpn.acme.example and uses port 1194."),
    ChatMessage("user", "What port does the VPN use?"),
]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's server (`python -m bot.engines.llamacpp.server`: llama_cpp.server without the AMX layout that crashes
    on this machine) on loopback with the stand-in model, its API key, one thread."""
    pytest.importorskip("sse_starlette", reason="needs the llama-cpp-python[server] extra")
    folder, gguf_file, _ = stand_in_location("bundled:smollm2-135m-instruct")
    gguf = Path(folder) / gguf_file
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    # One thread: two on a 2-core machine shared with other work made an answer 20-30x slower (spinning threads).
    arguments = ["--model", str(gguf), "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
                 "--n_threads", "1", "--n_threads_batch", "1", "--api_key", KEY]  # fmt: skip
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.engines.llamacpp.server", *arguments], stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_up(url, process, log_path)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    started = time.monotonic()
    request = urllib.request.Request(f"{url}/models", headers={"Authorization": f"Bearer {KEY}"})
    while time.monotonic() < started + 60:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace").splitlines()[-5:]
            raise RuntimeError(f"llama_cpp.server exited with {process.returncode}: {' | '.join(tail)}")
        try:
            with urllib.request.urlopen(request, timeout=2):
                print(f"llama_cpp.server up in {time.monotonic() - started:.2f} s")
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"llama_cpp.server at {url} did not come up within 60 s")


def ask(generator: OpenAIGenerator) -> list[str]:
    started = time.monotonic()
    pieces = list(generator.stream(VPN, max_new_tokens=48))
    print(f"answer in {time.monotonic() - started:.2f} s, {len(pieces)} pieces: {''.join(pieces)!r}")
    return pieces


@pytest.mark.server
def test_streams_a_sensible_answer_in_pieces(llama_server: str) -> None:
    pieces = ask(OpenAIGenerator(base_url=llama_server, model="SmolLM2-135M-Instruct", api_key=KEY))
    assert len(pieces) >= 5 and all(pieces)
    assert "1194" in "".join(pieces)


@pytest.mark.server
def test_greedy_gives_the_same_answer_twice(llama_server: str) -> None:
    generator = OpenAIGenerator(base_url=llama_server, model="SmolLM2-135M-Instruct", api_key=KEY)
    # The first ask of a prompt may run a few tokens differently from the repeats: llama.cpp then evaluates
    # the whole prompt as one batch, later only its cached prefix's last token (other kernels, other
    # rounding). That is the server's arithmetic, not sampling, so the repeats are what is compared.
    ask(generator)
    assert ask(generator) == ask(generator)


@pytest.mark.server
def test_a_wrong_key_is_refused_in_one_line_without_the_key(llama_server: str) -> None:
    wrong = "sk-wrong-0a8d33f1"
    generator = OpenAIGenerator(base_url=llama_server, model="SmolLM2-135M-Instruct", api_key=wrong)
    with pytest.raises(ModelServerError) as caught:
        list(generator.stream(VPN, max_new_tokens=8))
    message = str(caught.value)
    assert f"{llama_server}/chat/completions" in message and "HTTP 401" in message
    assert wrong not in message and KEY not in message and "\n" not in message


@pytest.mark.server
def test_the_token_estimate_errs_high_for_english_prose(llama_server: str) -> None:
    generator = OpenAIGenerator(base_url=llama_server, model="SmolLM2-135M-Instruct", api_key=KEY)
    for path in sorted((EXAMPLES / "it").glob("*.md")) + sorted((EXAMPLES / "hr").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        request = urllib.request.Request(
            llama_server.removesuffix("/v1") + "/extras/tokenize", data=json.dumps({"input": text}).encode(),
            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            real = len(json.load(response)["tokens"])
        assert real <= generator.count_tokens(text) <= 1.5 * real, path.name


def test_non_latin_scripts_count_a_token_a_character() -> None:
    generator = OpenAIGenerator(base_url="http://127.0.0.1:9/v1", model="m")
    assert generator.count_tokens("VPN 端口是多少") == 2 + 5  # "VPN " is 4 ASCII characters, 5 Chinese ones
    assert generator.count_tokens("") == 0


class Stub(http.server.BaseHTTPRequestHandler):
    """Records the Authorization header; answers by the path's first part: /echo-key, /garbled, /fails-midway,
    /cut-short."""

    seen: ClassVar[list[str | None]] = []

    def do_POST(self) -> None:
        Stub.seen.append(self.headers.get("Authorization"))
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        mode = self.path.split("/")[1]
        if mode == "echo-key":  # a careless server quoting what it was sent
            body = json.dumps({"error": {"message": f"token {self.headers.get('Authorization')} is expired"}})
            self._send(500, "application/json", body)
        elif mode == "garbled":
            self._send(200, "text/event-stream", "data: {not json\n\n")
        elif mode == "fails-midway":  # vLLM's way of reporting a failure once the stream has begun
            self._send(200, "text/event-stream", 'data: {"error": {"message": "out of KV cache"}}\n\n')
        else:  # one good piece, then the connection ends without [DONE]
            self._send(200, "text/event-stream", 'data: {"choices": [{"delta": {"content": "The"}}]}\n\n')

    def _send(self, status: int, content_type: str, body: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def stub() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_key_goes_as_a_bearer_header_and_never_into_an_error(stub: str) -> None:
    Stub.seen.clear()
    with pytest.raises(ModelServerError) as caught:
        list(OpenAIGenerator(base_url=f"{stub}/echo-key/v1", model="m", api_key=KEY).stream(VPN, max_new_tokens=8))
    assert Stub.seen == [f"Bearer {KEY}"]
    assert "HTTP 500" in str(caught.value) and "token Bearer *** is expired" in str(caught.value)
    assert KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("garbled", "malformed stream"),
        ("fails-midway", "mid-answer: out of KV cache"),
        ("cut-short", "before the answer"),
    ],
)
def test_a_broken_stream_is_one_clear_error(stub: str, mode: str, said: str) -> None:
    generator = OpenAIGenerator(base_url=f"{stub}/{mode}/v1", model="m")
    with pytest.raises(ModelServerError, match=said) as caught:
        list(generator.stream(VPN, max_new_tokens=8))
    assert f"{stub}/{mode}/v1/chat/completions" in str(caught.value)


def test_a_server_that_is_down_is_named() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with pytest.raises(ModelServerError) as caught:
        list(OpenAIGenerator(base_url=url, model="m", api_key=KEY).stream(VPN, max_new_tokens=8))
    message = str(caught.value)
    assert message.startswith(f"The model server at {url}/chat/completions cannot be reached")
    assert "is the server running?" in message and KEY not in message


def test_open_generator_builds_it_for_backend_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTBOT_TEST_KEY", KEY)
    config = GeneratorConfig(
        backend="openai", model="lfm2-rag", base_url="http://127.0.0.1:9/v1", api_key_env="SUPPORTBOT_TEST_KEY"
    )
    warnings: list[str] = []
    generator = open_generator(config, warn=warnings.append)  # no probe: the server may come up later
    assert isinstance(generator, OpenAIGenerator) and generator.name == "lfm2-rag" and warnings == []


def test_open_generator_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(GeneratorUnavailable, match=r"generator\.base_url is not set"):
        open_generator(GeneratorConfig(backend="openai"), warn=print)
    monkeypatch.delenv("SUPPORTBOT_TEST_KEY", raising=False)
    config = GeneratorConfig(backend="openai", base_url="http://127.0.0.1:9/v1", api_key_env="SUPPORTBOT_TEST_KEY")
    with pytest.raises(GeneratorUnavailable, match=r"\$SUPPORTBOT_TEST_KEY, which is not set"):
        open_generator(config, warn=print)
