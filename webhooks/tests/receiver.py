"""A real HTTP receiver on 127.0.0.1 for webhook tests: records each request, answers as told."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """`answer(body: dict) -> int` chooses the status code of each request (default 200)."""

    def __init__(self, answer=None):
        self.requests: list[dict] = []
        self.answer = answer or (lambda body: 200)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw)
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "raw": raw, "body": body})
                code = receiver.answer(body)
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if code < 300 else b"boom")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def types(self) -> list[str]:
        return [r["body"]["type"] for r in self.requests]

    def event_ids(self) -> list[str]:
        return [r["body"]["id"] for r in self.requests]
