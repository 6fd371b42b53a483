"""A small OpenAI-compatible server on loopback for tests and the benchmark: POST /v1/chat/completions.

The answer depends on the prompt: ``FAIL503`` fails once with 503 (transient), ``BAD400`` always fails with 400,
``GARBAGE`` answers without a list, ``NOJSON`` answers invalid JSON; otherwise a numbered list with a preamble.
It records requests per prompt and the most requests it served at once."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAI:
    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.requests: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][-1]["content"]
                with owner.lock:
                    owner.requests[prompt] = owner.requests.get(prompt, 0) + 1
                    seen = owner.requests[prompt]
                    owner.in_flight += 1
                    owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
                try:
                    if owner.delay:
                        time.sleep(owner.delay)
                    if "BAD400" in prompt:
                        self._send(400, b'{"error": "bad request"}')
                    elif "FAIL503" in prompt and seen == 1:
                        self._send(503, b'{"error": "busy"}')
                    elif "NOJSON" in prompt:
                        self._send(200, b"{not json")
                    else:
                        text = (
                            "I cannot help with lists."
                            if "GARBAGE" in prompt
                            else (
                                "Here are some reasons:\n1. Grip icy sidewalks.\n2) **keep feet warm**\n"
                                "- to stay dry in slush\n1. Grip icy sidewalks\nHope this helps!"
                            )
                        )
                        payload = {"choices": [{"message": {"role": "assistant", "content": text}}]}
                        self._send(200, json.dumps(payload).encode())
                finally:
                    with owner.lock:
                        owner.in_flight -= 1

            def _send(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # the default listen backlog of 5 drops bursts of new connections

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
