"""``frontier-explore serve``: the terminal app in a browser, through textual-serve (an optional extra).

The server runs ``python -m explorer.tui.serve`` for each browser tab (textual-serve's
way): what to open comes in the environment variable ``FRONTIER_EXPLORE_SERVE`` (JSON), so that
storage options (credentials) never appear on a command line. The page is textual-serve's own
(its JavaScript, CSS and fonts are served by the server), with the one link it makes to Google's
font service removed at load time: nothing is fetched from the internet.

Bound to a loopback address the server answers anyone on the machine; bound to anything else
it answers only requests that carry the token it printed (``/?token=...``; the page then sets a
cookie that the websocket and static files present). The app is read-only (flagging refused)
unless ``--allow-flags``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import shlex
import sys

ENV = "FRONTIER_EXPLORE_SERVE"
COOKIE = "frontier_explore_token"
_FONT_LINK = re.compile(r"<link[^>]*fonts\.googleapis\.com[^>]*>", re.S)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(command: str, host: str, port: int, token: str | None, public_url: str | None, title: str):
    """A textual-serve Server that serves its page without external links and checks ``token``."""
    import aiohttp_jinja2
    import jinja2
    from aiohttp import web
    from textual_serve.server import Server

    class FrontierServer(Server):
        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            folder = str(self.templates_path)

            def load(name: str):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as fh:
                    return _FONT_LINK.sub("", fh.read()), path, lambda: True

            aiohttp_jinja2.setup(app, loader=jinja2.FunctionLoader(load))
            if token is not None:
                app.middlewares.append(_token_middleware(token))
            return app

    return FrontierServer(command, host=host, port=port, title=title, public_url=public_url)


def _token_middleware(token: str):
    from aiohttp import web

    @web.middleware
    async def check(request, handler):
        given = request.query.get("token") or request.cookies.get(COOKIE) or ""
        if not secrets.compare_digest(given, token):
            return web.Response(status=403, text="frontier-explore serve: this address needs the token it printed (/?token=...)\n")
        response = await handler(request)
        if request.query.get("token") and isinstance(response, web.Response):
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict")
        return response

    return check


def serve(url: str, storage_options: dict, *, host: str, port: int, allow_flags: bool, watch: float | None,
          open_options: dict, label: str, public_url: str | None = None) -> int:
    token = None if is_loopback(host) else secrets.token_urlsafe(24)
    os.environ[ENV] = json.dumps({"url": url, "storage_options": storage_options, "allow_flags": allow_flags,
                                  "watch": watch, "open_options": open_options, "label": label})
    command = f"{shlex.quote(sys.executable)} -m explorer.tui.serve"
    shown = public_url or f"http://{host if ':' not in host else '[' + host + ']'}:{port}"
    server = make_server(command, host, port, token, public_url, f"frontier-explore: {label}")
    print(f"serving {label} on {shown}/" + (f"?token={token}" if token else "")
          + ("" if allow_flags else " (read-only)"), flush=True)
    server.serve()
    return 0


def app_main() -> int:
    """Run in each browser tab's process: the app on the store named in the environment."""
    from . import app as tui_app
    from .app import ExplorerApp

    spec = json.loads(os.environ[ENV])
    open_options = dict(spec["open_options"])
    if not spec["allow_flags"]:  # every store the app opens or refreshes is then read-only
        open_options["read_only"] = "this app is served read-only: flagging needs frontier-explore serve --allow-flags"

    class ServedApp(ExplorerApp):  # run by textual-serve from any folder: the stylesheet by absolute path
        CSS_PATH = [os.path.join(os.path.dirname(tui_app.__file__), p) for p in
                    ([ExplorerApp.CSS_PATH] if isinstance(ExplorerApp.CSS_PATH, str) else ExplorerApp.CSS_PATH)]

    ServedApp(spec["url"], spec["storage_options"], spec["watch"], label=spec["label"], open_options=open_options).run()
    return 0


if __name__ == "__main__":
    sys.exit(app_main())
