"""Errors raised by Waku.

::

    Exception
     └── WakuError
          ├── NotInWorkflowError       step() called outside run_workflow
          ├── StoreNotSetError         no store given, set, or in WAKU_STORE
          ├── StoreError               a store cannot be opened or used (path, URL)
          │    └── WorkflowLockedError another live process runs this workflow
          ├── SerializationError       a value the codec cannot store faithfully
          ├── NonDeterminismError      resume calls another step function at a position
          ├── UnknownWorkflowError     no function registered under a workflow name
          ├── WorkflowCancelledError   a cancelled workflow cannot be run or resumed
          ├── CallbackTimeoutError     a waiting step's deadline passed (its failure value)
          ├── StepTimeoutError         a step ran past its timeout (its failure value)
          └── InvalidTokenError        unknown, forged, expired or spent callback token
               └── TokenAlreadyUsedError  the token was already spent
    BaseException
     └── WorkflowCancelled             a signal, not a failure: then()/call() never catch it

Every error pickles (so it crosses process pools) and says what happened, to
which workflow, step or path, and what to do next.
"""

from __future__ import annotations

from typing import Any


class WakuError(Exception):
    """Base class of every error Waku raises."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take one message argument; keep the attributes too.
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[WakuError], args: tuple[Any, ...], state: dict[str, Any]) -> WakuError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class NotInWorkflowError(WakuError):
    """A step was called outside a running workflow."""

    def __init__(
        self, message: str = "No workflow name or id. Have you called run_workflow?"
    ) -> None:
        super().__init__(message)

    @classmethod
    def inside_step(cls, what: str) -> NotInWorkflowError:
        """The error for a helper that only works while a step function runs."""
        return cls(f"{what} works only inside a step function running in a workflow.")


class StoreNotSetError(WakuError):
    """No store was passed, set with set_store, or named in WAKU_STORE."""

    def __init__(self) -> None:
        super().__init__("No store set. Have you called set_store?")


class StoreError(WakuError):
    """A store cannot be opened or used; the message names the path or URL."""


class WorkflowLockedError(StoreError):
    """Another live process holds the lease on this workflow id."""


class SerializationError(WakuError):
    """A value cannot be stored faithfully; nothing was recorded for it."""


class NonDeterminismError(WakuError):
    """On resume, the step at a position is not the one that was recorded there."""


class UnknownWorkflowError(WakuError):
    """No workflow function is registered under this name."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"No workflow registered as {name!r}. "
            "Call register_workflow (or decorate it with @waku.workflow) before running it."
        )
        self.name = name


class WorkflowCancelledError(WakuError):
    """The workflow was cancelled: running or resuming it is refused."""


class CallbackTimeoutError(WakuError):
    """A step's callback did not come before its deadline; the step's value is this failure."""


class StepTimeoutError(WakuError):
    """A step's attempt ran past its ``timeout``; the attempt's value is this failure.

    A sync function keeps running in its thread after this (Python cannot
    stop a thread): whatever it does later is not recorded.
    """


class InvalidTokenError(WakuError):
    """A callback token is unknown, forged, expired or already spent."""


class TokenAlreadyUsedError(InvalidTokenError):
    """A callback token was spent already: a duplicate delivery, safe to acknowledge."""


class WorkflowCancelled(BaseException):
    """Signal that a workflow was cancelled; not an Exception, so never a failure value."""
