"""Fixtures for the end-to-end tests (tests/e2e/harness.py holds the harness itself)."""

from __future__ import annotations

import pytest
import respx


@pytest.fixture(autouse=True)
def no_network(no_network: respx.MockRouter) -> respx.MockRouter:
    """End-to-end runs talk to servers on 127.0.0.1 (the fake Cekura, a closed port, a proxy):
    those requests go through; any other host still fails the test."""
    no_network.route(host="127.0.0.1").pass_through()
    return no_network
