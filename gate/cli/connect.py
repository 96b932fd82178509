"""The Cekura API as the command line uses it: a client built from the settings and the
environment, and one finished result fetched without waiting (baselines, validate, save),
within one deadline for the whole fetch: the result and its run details.

``gate.api.client`` and httpx are imported only when a command needs the API.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from gate.cli.parser import DEFAULT_MAX_RESPONSE_SIZE, parse_size
from gate.cli.settings import MAX_RESPONSE_SIZE_ENV, ApiOptions, Environment
from gate.errors import GateError, ResultError, UsageError, redact_forms
from gate.policy.model import WaitSettings
from gate.results.normalise import normalise

if TYPE_CHECKING:
    from gate.api.client import CekuraClient

FETCH_TIMEOUT_S = 120.0


@contextlib.contextmanager
def api_client(
    api: ApiOptions,
    env: Environment,
    secret: str,
    wait: WaitSettings,
    emit: Callable[[str], None],
) -> Iterator[CekuraClient]:
    """The API client: settings from flags and env, retries paced by ``wait``."""
    from gate.api.client import (  # httpx is imported for live mode only
        BACKOFF_INITIAL_S,
        BACKOFF_MAX_S,
        CekuraClient,
        build_http,
        resolve_settings,
    )

    settings = resolve_settings(
        api_url=api.api_url or env.api_url,
        api_key=secret,
        key_source=f"the {api.api_key_env} environment variable",
        auth_header=api.auth_header,
        api_version=api.api_version,
        allow_insecure_http=api.allow_insecure_http,
        variables=env.variables,  # the proxy and certificate variables, read once
    )
    max_response_bytes = _max_response_bytes(api, env)
    with build_http(settings) as http:
        yield CekuraClient(
            http,
            settings,
            # A policy that polls quickly also retries quickly (tests rely on it).
            backoff_initial_s=min(BACKOFF_INITIAL_S, wait.poll_interval_s),
            backoff_max_s=min(BACKOFF_MAX_S, wait.max_poll_interval_s),
            on_retry=emit,
            log=emit if api.verbose else None,
            max_response_bytes=max_response_bytes,
        )


def _max_response_bytes(api: ApiOptions, env: Environment) -> int:
    """``--max-response-size``, else ``$CEKURA_GATE_MAX_RESPONSE_SIZE``, else 256 MiB."""
    if api.max_response_bytes is not None:
        return api.max_response_bytes
    size = parse_size(env.max_response_size or DEFAULT_MAX_RESPONSE_SIZE)
    if size is None:
        raise UsageError(
            f"{MAX_RESPONSE_SIZE_ENV}={env.max_response_size!r} is not a size such as 256MiB, "
            "1GiB, 500KB or a number of bytes"
        )
    return size


def fetch_result_once(
    client: CekuraClient,
    result_id: int,
    *,
    findings: bool,
    emit: Callable[[str], None],
    timeout_s: float = FETCH_TIMEOUT_S,
) -> Any:
    """One finished result from the API with its run details, all within ``timeout_s``;
    no waiting for it to finish."""
    from gate.api.live import with_run_details

    deadline = client.clock() + timeout_s
    payload = client.get_result(result_id, deadline=deadline)
    result = normalise(payload)
    if not result.status.is_terminal:
        raise ResultError(f"the result is not finished (status '{result.status_text}')")
    return with_run_details(
        client,
        payload,
        findings=findings,
        every_run=True,  # a baseline or a lint needs all of them
        deadline=deadline,
        emit=emit,
    )


def fetch_payload(
    api: ApiOptions,
    env: Environment,
    result_id: int,
    *,
    findings: bool,
    emit: Callable[[str], None],
) -> Any:
    """A finished result for ``validate`` and ``baseline save``; errors without the key."""
    secret = env.api_key(api.api_key_env)
    wait = WaitSettings() if api.timeout_s is None else WaitSettings(timeout_s=api.timeout_s)

    def redacted_emit(message: str) -> None:
        emit(redact_forms(message, secret))

    try:
        with api_client(api, env, secret, wait, redacted_emit) as client:
            return fetch_result_once(
                client,
                result_id,
                findings=findings,
                emit=redacted_emit,
                timeout_s=api.timeout_s if api.timeout_s is not None else FETCH_TIMEOUT_S,
            )
    except GateError as exc:
        exc.message = redact_forms(exc.message, secret)
        raise
