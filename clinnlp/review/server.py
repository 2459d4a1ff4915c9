"""The review page's server: a Starlette app over a :class:`~clinnlp.review.store.ReviewStore`,
for 127.0.0.1 only.

Routes::

    GET  /                      the page (HTML, its script and style from the package)
    GET  /static/{name}         review.js, review.css
    GET  /api/queue             the notes, those reporting an adverse drug event first, and progress
    GET  /api/notes/{id}        one note: text, entities with their decisions, links, events
    POST /api/decisions/{id}    one decision (JSON): {"version", "action", ...}; the note back

A decision on an unknown note is 404, on a stale version 409, malformed 400 or 422; nothing is
written then. Nothing is fetched from anywhere else (a Content-Security-Policy forbids it), and
requests naming another host are refused (no DNS rebinding).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from clinnlp.review.store import ReviewError, ReviewStore

STATIC = Path(__file__).with_name("static")
ASSETS = {"review.js": "text/javascript", "review.css": "text/css"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=HEADERS)


def make_app(store: ReviewStore) -> Starlette:
    """The review app over ``store``."""

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "review.html", media_type="text/html", headers=HEADERS)

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return _error(404, "no such file")
        return FileResponse(STATIC / name, media_type=ASSETS[name], headers=HEADERS)

    async def queue(request: Request) -> Response:
        body = {"run": store.run.name, "notes": store.queue(), "progress": store.progress()}
        return JSONResponse(body, headers=HEADERS)

    async def note(request: Request) -> Response:
        try:
            return JSONResponse(store.note(request.path_params["id"]), headers=HEADERS)
        except ReviewError as err:
            return _error(err.status, str(err))

    async def decide(request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _error(415, "send the decision as application/json")
        try:
            decision: Any = json.loads(await request.body())
        except ValueError:
            return _error(400, "the request body is not JSON")
        try:
            result = store.decide(request.path_params["id"], decision)
        except ReviewError as err:
            return _error(err.status, str(err))
        return JSONResponse({**result, "progress": store.progress()}, headers=HEADERS)

    routes = [
        Route("/", page),
        Route("/static/{name}", asset),
        Route("/api/queue", queue),
        Route("/api/notes/{id:path}", note),
        Route("/api/decisions/{id:path}", decide, methods=["POST"]),
    ]
    hosts = ["127.0.0.1", "localhost", "testserver"]
    return Starlette(
        routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)]
    )


def serve(run_dir: str | Path, port: int = 8765, announce: Any = print) -> None:
    """Serve the review of ``run_dir`` on 127.0.0.1:``port`` (0: a free port) until stopped;
    ``announce`` gets the line with the address (the page is not opened)."""
    import socket

    import uvicorn

    store = ReviewStore(run_dir)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    address = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    progress = store.progress()
    announce(
        f"Reviewing {progress['total']:,} notes of {store.run} ({progress['done']:,} done) "
        f"at {address} ; decisions go to {store.folder} (Ctrl+C stops)"
    )
    config = uvicorn.Config(make_app(store), log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
