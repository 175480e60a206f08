"""Store URLs fit to print: the password, in the address or as `?password=`, never shown."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

_PASSWORD_PARAM = re.compile(r"(?i)(password=)[^&\s]*")


def redact(url: str) -> str:
    """A store URL fit to print: the password (in the address, or ?password=) as ***."""
    url = _PASSWORD_PARAM.sub(r"\1***", url)
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def secrets(url: str) -> list[str]:
    """The password of a URL as written and as decoded: never to appear in a message."""
    found = [m.group(0).split("=", 1)[1] for m in _PASSWORD_PARAM.finditer(url)]
    netloc = url.split("://", 1)[-1].split("/", 1)[0]
    if "@" in netloc and ":" in netloc.rsplit("@", 1)[0]:
        raw = netloc.rsplit("@", 1)[0].split(":", 1)[1]
        found += [raw, unquote(raw)]
    return [f for f in found if f and f != "***"]
