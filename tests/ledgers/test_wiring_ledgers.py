"""The composition root fills the practical projects' computed progress sources (wiring.PROGRESS_SOURCES): the
indicator kind is there after wiring, and a kind left out stops the start naming it."""
from __future__ import annotations

import pytest

from weijian import wiring
from weijian.core.hooks import NotWired
from weijian.ledgers.projects import sources


def test_the_indicator_source_is_registered_by_the_root():
    assert set(wiring.PROGRESS_SOURCES) <= set(sources.source_kinds())


def test_a_source_left_out_stops_the_start(monkeypatch):
    monkeypatch.setattr(sources, "_SOURCES", {})
    with pytest.raises(NotWired) as exc:
        wiring.check()
    assert "ledgers.projects source 'indicator'" in str(exc.value)
    wiring.wire()  # idempotent: fills it again
    assert "indicator" in sources.source_kinds()


def test_a_kind_with_a_colon_is_refused():
    with pytest.raises(ValueError):
        sources.register_source("standard:x", lambda *, session, argument, as_of: 0)
