"""``linkedthreads serve``: the children of an index in a local web page.

    from linkedthreads.web import create_app, serve
    app = create_app(index, client)          # a Starlette (ASGI) app: mount it, or serve it
    serve(app, on_url=lambda url: print(f"{url}?token={app.state.token}"))

Pages are rendered on the server (Jinja2, autoescaped) with a little JavaScript shipped in
the package (no CDN, works offline). Needs the ``web`` extra. See docs/web.md.
"""

from ._app import create_app
from ._security import LOOPBACK_HOSTS
from ._server import is_loopback, serve

__all__ = ["LOOPBACK_HOSTS", "create_app", "is_loopback", "serve"]
