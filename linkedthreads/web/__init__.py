"""``linkedthreads serve``: the children of an index in a local web page.

    from linkedthreads.web import create_app
    app = create_app(index, client)          # a Starlette (ASGI) app: mount it, or
    uvicorn.run(app, host="127.0.0.1")       # open /?token=<app.state.token> once

Pages are rendered on the server (Jinja2, autoescaped) with a little JavaScript shipped in
the package (no CDN, works offline). Needs the ``web`` extra. See docs/web.md.
"""

from ._app import create_app
from ._security import LOOPBACK_HOSTS

__all__ = ["LOOPBACK_HOSTS", "create_app"]
