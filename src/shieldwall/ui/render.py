"""The dashboard's templates: Jinja2 with autoescape, loaded from the package's data.

Everything a page shows comes from :mod:`.views` and :mod:`.charts`; templates
only lay it out. Static files are pinned by SHA-256 (:data:`STATIC_PINS`): the
dashboard serves exactly the scripts that were reviewed, with no build step.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import Any

import jinja2
from starlette.responses import HTMLResponse

from shieldwall.errors import ShieldwallError

#: The vendored files and their SHA-256 (htmx 2.0.11, htmx-ext-sse 2.2.4, from npm).
STATIC_PINS = {
    "htmx.min.js": "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717",
    "sse.js": "3b5992a541619babefc4c169505af474df5c3039da51e59b96ccf9241ecd61d2",
}
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".txt": "text/plain"}

_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("shieldwall.ui", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The template ``name`` rendered with ``context``."""
    return HTMLResponse(render(name, **context), status_code=status)


def render(name: str, **context: Any) -> str:
    """The template ``name`` as text (also used for live fragments)."""
    return _environment.get_template(name).render(**context)


def static_file(name: str) -> tuple[bytes, str]:
    """(bytes, media type) of a shipped static file; a pinned one is checked first."""
    folder = resources.files("shieldwall.ui").joinpath("static")
    if "/" in name or name.startswith(".") or not folder.joinpath(name).is_file():
        raise FileNotFoundError(name)
    data = folder.joinpath(name).read_bytes()
    pin = STATIC_PINS.get(name)
    if pin is not None and hashlib.sha256(data).hexdigest() != pin:
        raise ShieldwallError(
            f"the dashboard's {name} does not match its pinned SHA-256; reinstall Shieldwall"
        )
    suffix = name[name.rfind("."):]
    return data, STATIC_TYPES.get(suffix, "application/octet-stream")
