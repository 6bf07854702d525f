"""Showing URLs without their secrets: userinfo (``user:pass@``), query and fragment.

Every URL tta-dev prints, logs or puts in an error goes through :func:`shown_url`; a URL
may carry a password (``redis://:secret@host``) or a token (``?api-key=...``).
"""

from __future__ import annotations

import re
import urllib.parse

__all__ = ["redact_urls", "shown_url"]

# scheme://anything-up-to-whitespace: good enough to find URLs inside free text.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def shown_url(url: str) -> str:
    """``url`` fit to show: without ``user:pass@``, query and fragment."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        # An unparseable URL (e.g. a bad IPv6 host) is shown by its scheme alone: it may
        # still hold a password somewhere we cannot find.
        scheme = url.partition(":")[0]
        return f"{scheme}://<unparseable>" if scheme.isalnum() else "<unparseable URL>"
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def redact_urls(text: str) -> str:
    """``text`` with every ``scheme://...`` URL in it replaced by :func:`shown_url`."""
    return _URL_IN_TEXT.sub(lambda m: shown_url(m.group(0)), text)
