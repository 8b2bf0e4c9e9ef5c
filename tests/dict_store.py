"""A store with only the six StepStore methods and no base class: the README's example."""

from __future__ import annotations

import hashlib
import secrets
import threading

from waku import InvalidTokenError, TokenAlreadyUsedError


class DictStore:
    def __init__(self) -> None:
        self.results: dict[tuple[str, str, int], bytes] = {}
        self.tokens: dict[str, tuple[str, str, int] | None] = {}
        self.lock = threading.Lock()

    def store_start(self, workflow_name: str, workflow_id: str, step: int, payload: bytes) -> None:
        pass  # starts are diagnostics; this store keeps none

    def store_result(self, workflow_name: str, workflow_id: str, step: int, payload: bytes) -> None:
        self.results[workflow_name, workflow_id, step] = payload

    def store_result_token(self, workflow_name: str, workflow_id: str, step: int) -> str:
        token = secrets.token_urlsafe(32)
        self.tokens[hashlib.sha256(token.encode()).hexdigest()] = (workflow_name, workflow_id, step)
        return token

    def store_token_result(self, token: str, payload: bytes) -> tuple[str, str, int]:
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self.lock:
            if digest not in self.tokens:
                raise InvalidTokenError("unknown token")
            key = self.tokens[digest]
            if key is None:
                raise TokenAlreadyUsedError("token already used")
            self.tokens[digest] = None
            self.results[key] = payload
            return key

    def get_steps(self, workflow_name: str, workflow_id: str) -> dict[int, bytes]:
        return {
            s: p for (n, i, s), p in self.results.items() if (n, i) == (workflow_name, workflow_id)
        }

    def get_result(self, workflow_name: str, workflow_id: str, step: int) -> bytes | None:
        return self.results.get((workflow_name, workflow_id, step))
