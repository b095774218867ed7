"""Secrets never leave the process: API keys, tokens and the worker's extra environment are scrubbed
from everything cmbjupyter writes or shows (sidecars, notebook metadata, event logs, the browser).

Two rules: a mapping key that names a secret (``api_key``, ``OPENAI_API_KEY``, ``token``...) has its
value replaced; and any known secret *value* is cut out of every string, wherever it appears (a key
printed by an agent, pasted in a task, echoed in a traceback).

Printed output arrives in pieces (a partial line flushed after a pause, a long line cut at 64 KiB),
and a secret can straddle two of them. :class:`StreamRedactor` redacts each stream across its
pieces: it holds back only the shortest tail that could still be the start of a secret and releases
it when the line ends, the stream closes or the tail can no longer become a secret, so progress
output appears at once and no prefix of a secret is ever shown.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

__all__ = ["REDACTED", "Redactor", "StreamRedactor", "is_secret_env_name", "is_secret_key"]

REDACTED: Final = "[redacted]"

# The key must *end* with the secret word: ``GITHUB_TOKEN``, ``api_keys`` and ``client_secret`` are
# secrets; ``input_tokens`` and ``secret_santa`` are not.
_SECRET_KEY: Final = re.compile(
    r"(?:^|[_\-.])?(?:api[_-]?keys?|apikeys?|token|secret|passw(?:or)?d|authorization|credentials?|"
    r"private[_-]?key|access[_-]?key|secret[_-]?key)$",
    re.IGNORECASE,
)
# An environment variable is a secret if its name *contains* one of these words, anywhere
# (``MY_KEY_FILE``, ``HF_TOKEN_X``, ``DB_PASSWORD_PROD``): environments name secrets freely.
_SECRET_ENV_NAME: Final = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD", re.IGNORECASE)
#: Shorter values are not scrubbed from free text (a value like "1" or "true" is no secret).
MIN_SECRET_CHARS: Final = 8


def is_secret_key(key: object) -> bool:
    """True if a mapping key names a secret (``OPENAI_API_KEY``, ``token``, ``password``...)."""
    return isinstance(key, str) and _SECRET_KEY.search(key) is not None


def is_secret_env_name(name: object) -> bool:
    """True if an environment variable's name contains KEY, TOKEN, SECRET, PASSWORD or PASSWD
    (any case): its value is scrubbed from everything the task prints."""
    return isinstance(name, str) and _SECRET_ENV_NAME.search(name) is not None


class Redactor:
    """Scrubs a fixed set of secret values (and secret-named keys) from text and JSON values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        unique = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_CHARS}
        self.secrets: tuple[str, ...] = tuple(sorted(unique, key=len, reverse=True))

    @classmethod
    def for_task(
        cls, config: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Redactor:
        """The secrets of one task: its ``config["env"]`` values, secret-named config values, and
        variables of the host environment whose name contains a secret word (``OPENAI_API_KEY``,
        ``HF_TOKEN``, ``KEYRING_PASS_KEY_FILE``...; see :func:`is_secret_env_name`)."""
        environ = os.environ if environ is None else environ
        secrets = [v for k, v in environ.items() if is_secret_env_name(k)]
        config = config or {}
        env = config.get("env")
        if isinstance(env, Mapping):
            secrets += [str(v) for v in env.values()]
        secrets += list(_secret_values(config))
        return cls(secrets)

    def learn(self, obj: Any) -> None:
        """Remember the values found under secret-named keys in ``obj`` (a context that holds a
        ``password``), so they are scrubbed from all text from now on, not only under that key."""
        found = {s for s in _secret_values(obj) if len(s) >= MIN_SECRET_CHARS} - set(self.secrets)
        if found:
            self.secrets = tuple(sorted({*self.secrets, *found}, key=len, reverse=True))

    def text(self, text: str) -> str:
        """``text`` with every known secret value replaced by ``[redacted]``."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def held_tail(self, text: str) -> int:
        """Where the shortest tail of ``text`` that could still grow into a secret starts
        (``len(text)`` when none could): the longest suffix that is a proper prefix of a secret."""
        if not self.secrets:
            return len(text)
        firsts = {secret[0] for secret in self.secrets}
        for start in range(max(0, len(text) - len(self.secrets[0]) + 1), len(text)):
            if text[start] in firsts:
                tail = text[start:]
                if any(secret.startswith(tail) for secret in self.secrets):
                    return start
        return len(text)

    def value(self, obj: Any) -> Any:
        """A copy of a JSON value with secret-named keys and secret values redacted."""
        if isinstance(obj, str):
            return self.text(obj) if self.secrets else obj
        if isinstance(obj, Mapping):
            return {
                k: (REDACTED if is_secret_key(k) and v not in (None, "") else self.value(v))
                for k, v in obj.items()
            }
        if isinstance(obj, (list, tuple)):
            return [self.value(v) for v in obj]
        return obj

    def config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """A task config fit to store: secret keys and every value of ``env`` redacted."""
        out = self.value(config)
        if isinstance(out.get("env"), Mapping):
            out["env"] = dict.fromkeys(out["env"], REDACTED)
        return out


class StreamRedactor:
    """Redacts text that arrives in pieces, per stream, so a secret split across pieces is caught.

    ``piece(stream, text, line_ends)`` returns the text to show now: everything redacted except a
    held-back tail that could be the beginning of a secret; the tail is prepended to the stream's
    next piece. ``close()`` releases every held tail (redacted: a prefix alone is no secret, but it
    is only released once nothing can complete it).
    """

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self._held: dict[str, str] = {}

    def piece(self, stream: str, text: str, *, line_ends: bool) -> str:
        held = self._held.pop(stream, "")
        if not self.redactor.secrets:
            return held + text
        text = self.redactor.text(held + text)
        if line_ends:
            return text
        cut = self.redactor.held_tail(text)
        if cut < len(text):
            self._held[stream] = text[cut:]
        return text[:cut]

    def close(self) -> dict[str, str]:
        """The held tails of every stream (to be shown as the streams' last text), then forget them."""
        held, self._held = self._held, {}
        return {stream: text for stream, text in held.items() if text}


def _secret_values(obj: Any) -> Iterable[str]:
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            if is_secret_key(key):
                yield from _leaves(value)
            else:
                yield from _secret_values(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _secret_values(value)


def _leaves(obj: Any) -> Iterable[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, Mapping):
        for value in obj.values():
            yield from _leaves(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _leaves(value)
