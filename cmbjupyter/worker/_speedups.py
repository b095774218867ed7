"""Work cmbagent's run repeats that a process can do once: done in cold and warm workers alike.

Once cmbagent is imported, most of the time to a run's first agent message went to building its
~40 agents (profiled, one-shot, offline): every httpx client read the whole CA bundle (95 times,
54 ms each under load: 5.1 s of 6.2 s), and every AG2 ``LLMConfig`` regenerated the same pydantic
JSON schema (37 times: about half of what was left). Both results depend only on their inputs, so
each is built once per process and reused; a warm worker builds them ahead (``prepare``).

Only the standard library at import: the engine's packages are imported when these run.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
from typing import Any

__all__ = ["cache_llm_config_schema", "share_tls_context", "speed_up_cmbagent"]


def share_tls_context() -> None:
    """One TLS context for httpx's default verification, built once and shared by its clients.

    httpx 0.28 (under openai, under AG2) builds a new context for every client and reads the whole
    CA bundle each time; cmbagent makes one client per agent and per model config before its first
    message. Measured in a one-shot run: 95 bundle loads of 54 ms, 5.1 s of the 6.2 s to the first
    agent message once cmbagent is imported. An ``SSLContext`` is meant to be shared (httpx's own
    advice: ``verify=ctx``); the key is what httpx reads (``SSL_CERT_FILE``, ``SSL_CERT_DIR``), so a
    task's settings still apply. Clients given their own ``verify`` or ``cert`` are left alone.
    (httpcore sets ALPN on the context per connection: fine while every client is HTTP/1.1, as
    openai's and AG2's are.) A no-op without httpx, or when already done.
    """
    try:
        import httpx._config as config
        import httpx._transports.default as transports
    except ImportError:
        return
    original = config.create_ssl_context
    if getattr(original, "shared_default", False):
        return
    cache: dict[tuple[Any, ...], Any] = {}

    @functools.wraps(original)
    def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        if verify is not True or cert:
            return original(verify, cert, trust_env)
        key = (
            (trust_env, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")) if trust_env else ()
        )
        if key not in cache:
            cache[key] = original(verify, cert, trust_env)
        return cache[key]

    create_ssl_context.shared_default = True  # type: ignore[attr-defined]
    config.create_ssl_context = transports.create_ssl_context = create_ssl_context


def cache_llm_config_schema() -> None:
    """AG2's ``LLMConfig.__init__`` asks its pydantic model class for its JSON schema every time,
    only to read the property names; the class is cached per set of config entry classes, so its
    schema is too (a copy is returned: a caller may change it). A no-op without AG2, or when done."""
    try:
        from autogen.llm_config import LLMConfig
    except Exception:
        return
    original = LLMConfig.__dict__.get("_get_base_model_class")
    if original is None or getattr(original.__func__, "schema_cached", False):
        return

    @functools.wraps(original.__func__)
    def base_model_class(cls: Any) -> Any:
        model = original.__func__(cls)
        if "model_json_schema" not in model.__dict__:
            schema = functools.cache(model.model_json_schema)

            def model_json_schema(*args: Any, **kwargs: Any) -> Any:
                return copy.deepcopy(
                    schema() if not args and not kwargs else schema.__wrapped__(*args, **kwargs)
                )

            model.model_json_schema = staticmethod(model_json_schema)  # the same from an instance
        return model

    base_model_class.schema_cached = True  # type: ignore[attr-defined]
    LLMConfig._get_base_model_class = classmethod(base_model_class)


def speed_up_cmbagent(*, prepare: bool = False) -> None:
    """Both of the above; ``prepare``: also build the TLS context now (a warm worker, ahead)."""
    share_tls_context()
    cache_llm_config_schema()
    if prepare:  # the task's first client and first agent then find them built
        with contextlib.suppress(Exception):
            __import__("httpx")._config.create_ssl_context()
        with contextlib.suppress(Exception):
            __import__("autogen.llm_config").llm_config.LLMConfig._get_base_model_class().model_json_schema()
