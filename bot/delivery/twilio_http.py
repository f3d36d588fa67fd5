"""The Twilio REST client, pointed at real Twilio or at a stand-in such as `bot.tryout.fake_twilio`.

twilio-python's documented hook for this is `Client(..., http_client=...)`: the client below
rewrites `https://<anything>.twilio.com/...` to a configured base URL and leaves everything else
(auth, parameters, error handling) to twilio-python, so code under test runs the real SDK.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

__all__ = ["RedirectingHttpClient", "make_client", "redirect_url"]

_TWILIO_DOMAIN = "twilio.com"

# twilio-python logs every request at INFO, list queries included ("To=%2B4477..."): give its
# HTTP client a logger that passes only warnings, so phone numbers stay out of the logs.
_sdk_log = logging.getLogger(f"{__name__}.sdk")
_sdk_log.setLevel(logging.WARNING)


def _parse_base(api_base: str) -> tuple[str, str, str]:
    """Return (scheme, netloc, path prefix) of `api_base`, or raise ValueError."""
    parts = urlsplit(api_base.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"The Twilio API base {api_base!r} is not a URL: give one like http://127.0.0.1:5010"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"The Twilio API base {api_base!r} must not have a query or fragment")
    return parts.scheme, parts.netloc, parts.path.rstrip("/")


def _is_twilio_host(host: str | None) -> bool:
    host = (host or "").lower()
    return host == _TWILIO_DOMAIN or host.endswith("." + _TWILIO_DOMAIN)


def redirect_url(url: str, api_base: str) -> str:
    """Rewrite an https://*.twilio.com URL onto `api_base`, keeping path and query.

    Any other URL is returned unchanged.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" or not _is_twilio_host(parts.hostname):
        return url
    scheme, netloc, prefix = _parse_base(api_base)
    return urlunsplit((scheme, netloc, prefix + parts.path, parts.query, parts.fragment))


class RedirectingHttpClient(TwilioHttpClient):
    """A TwilioHttpClient that sends every request for *.twilio.com to `api_base` instead."""

    def __init__(self, api_base: str, **kwargs) -> None:
        _parse_base(api_base)  # fail at construction, not at the first send
        super().__init__(**kwargs)
        self.api_base = api_base.strip()

    def request(self, method: str, url: str, *args, **kwargs) -> Response:
        """Make the request against `api_base` (see TwilioHttpClient.request)."""
        return super().request(method, redirect_url(url, self.api_base), *args, **kwargs)

    def close(self) -> None:
        """Close the pooled connections."""
        if self.session is not None:
            self.session.close()


def make_client(
    account_sid: str, auth_token: str, api_base: str | None, timeout: float = 10
) -> Client:
    """Build a twilio-python Client; with `api_base`, every request goes there instead.

    `timeout` (seconds, > 0) bounds each HTTP request. A timed-out create raises
    requests.exceptions.ReadTimeout: twilio-python does not wrap it, and the message or call
    may or may not exist at Twilio.
    """
    if not account_sid or not auth_token:
        raise ValueError("A Twilio account SID and auth token are both required")
    if api_base:
        client = Client(
            account_sid,
            auth_token,
            http_client=RedirectingHttpClient(api_base, timeout=timeout, logger=_sdk_log),
        )
        # Client() reads TWILIO_EDGE / TWILIO_REGION from the environment and would rename the
        # host; the stand-in has no edges or regions.
        client.edge = None
        client.region = None
        return client
    return Client(
        account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout, logger=_sdk_log)
    )
