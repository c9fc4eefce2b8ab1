"""Secrets kept out of the log: a remote engine's token, and a URL's login and query values, whichever library
writes the record (httpx and huggingface_hub write URLs at INFO and DEBUG; a traceback may quote one)."""
from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
from urllib.parse import quote, unquote, unquote_plus, urlsplit

# Shorter texts are not hidden from the log on their own (a query's `v=1` would blank every "1"): a URL's whole
# query and login are, however short.
MIN_SECRET_CHARS = 4
HIDDEN = "[hidden]"


def url_secrets(url: str) -> list[str]:
    """What in a URL may be a credential, in every form a log line may write it: the login (user, password, both
    as the basic authorization httpx makes of them) and the query (whole, and each value)."""
    parts = urlsplit(url)
    texts = [parts.query, *(pair.partition("=")[2] for pair in parts.query.split("&"))]
    if parts.username is not None or parts.password is not None:
        user, password = unquote_plus(parts.username or ""), unquote_plus(parts.password or "")
        texts += [parts.netloc.rpartition("@")[0], user, password,
                  base64.b64encode(f"{user}:{password}".encode()).decode()]
    return [form for text in texts for form in (text, unquote(text), unquote_plus(text), _as_httpx_writes(text))]


def _as_httpx_writes(text: str) -> str:
    """A URL part as httpx writes it in its log lines: what a URL may not hold percent-encoded, the escapes and
    delimiters it holds kept (RFC 3986's sub-delims and what a query may hold besides)."""
    return quote(text, safe="!$&'()*+,;=:/?[]@%")


_secrets: tuple[str, ...] = ()  # the longest first, so that a whole query is hidden before its values
_secrets_lock = threading.Lock()


def keep_out_of_logs(*texts: str | None) -> None:
    """Hide these texts from every log record from now on, whatever logger writes it at whatever level (httpx and
    huggingface_hub write URLs at INFO and DEBUG; a traceback may quote one): a record factory (installed once,
    wrapping the one before) writes them as [hidden] in the record's message, traceback and stack."""
    global _secrets
    fresh = {text for text in texts if text and len(text) >= MIN_SECRET_CHARS} - set(_secrets)
    if not fresh:
        return
    with _secrets_lock:
        if not _secrets:
            logging.setLogRecordFactory(_hiding_secrets(logging.getLogRecordFactory()))
        _secrets = tuple(sorted({*_secrets, *fresh}, key=len, reverse=True))


def _hidden(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, HIDDEN)
    return text


def _hiding_secrets(make_record: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def record(*args, **kwargs) -> logging.LogRecord:
        made = make_record(*args, **kwargs)
        try:
            message = made.getMessage()
        except Exception:  # arguments that do not fit the message: logging reports it when the record is written
            return made
        if _hidden(message) != message:
            made.msg, made.args = _hidden(message), ()
        if made.exc_info and not made.exc_text:  # the formatters write exc_text where it is set
            traceback = logging.Formatter().formatException(made.exc_info)
            if _hidden(traceback) != traceback:
                made.exc_text = _hidden(traceback)
        if made.stack_info:
            made.stack_info = _hidden(made.stack_info)
        return made

    return record


