"""OpenTelemetry spans (``vaultstore[otel]``), read from the SDK's in-memory exporter:
one per repository call, named by its statement, with the database conventions'
attributes, errors recorded, and the parent of the driver's own span when the
driver is instrumented too."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import vaultstore
from vaultstore._monitoring import _NO_SPAN


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


@pytest.fixture(params=["postgresql", "mongodb"])
def url(request: pytest.FixtureRequest) -> str:
    return str(
        request.getfixturevalue("store_db" if request.param == "postgresql" else "clean_mongo")
    )


def scope(span: ReadableSpan) -> str:
    return span.instrumentation_scope.name if span.instrumentation_scope else ""


def ours(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if scope(s) == "vaultstore"]


def test_each_call_is_a_span_named_by_its_statement(
    url: str, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with vaultstore.connect(url, tracer_provider=provider) as store:
        agent = store.agents.create(name="traced", credibility_score=10)
        assert store.agents.find_by_id(agent.id) is not None
        assert store.agents.find_by_id("missing") is None
        backend, database = store.backend, store.settings.database
    spans = ours(exporter)
    assert [s.name for s in spans] == ["agents.insert", "agents.find_by_id", "agents.find_by_id"]
    for span in spans:
        assert span.kind is SpanKind.CLIENT
        assert span.attributes is not None
        assert span.attributes["db.system.name"] == backend
        assert span.attributes["db.query.summary"] == span.name
        assert span.attributes["db.operation.name"] == span.name.split(".")[1]
        assert span.attributes["db.collection.name"] == "agents"
        if database:
            assert span.attributes["db.namespace"] == database
    rows = [s.attributes["db.response.returned_rows"] for s in spans if s.attributes]
    assert rows == [1, 1, 0]
    assert agent.id not in repr([s.attributes for s in spans])  # names, never values


def test_a_call_that_raises_records_the_error(
    url: str, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with vaultstore.connect(url, tracer_provider=provider) as store:
        store.agents.create(name="taken", credibility_score=10)
        with pytest.raises(vaultstore.ConflictError):
            store.agents.create(name="taken", credibility_score=10)
    failed = ours(exporter)[-1]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes is not None
    assert failed.attributes["error.type"] == "ConflictError"
    assert [event.name for event in failed.events] == ["exception"]


def test_the_documents_calls_are_spans_too(
    url: str, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with vaultstore.connect(url, tracer_provider=provider) as store:
        agent = store.agents.create(name="with_documents", credibility_score=10)
        document = store.documents.put("agent", agent.id, "r.txt", b"r")
        store.documents.delete(document.id)
    assert [s.name for s in ours(exporter)] == [
        "agents.insert",
        "documents.insert",
        "documents.delete",
    ]


def test_without_a_provider_nothing_is_traced(url: str) -> None:
    with vaultstore.connect(url) as store:
        monitor = store._monitor  # type: ignore[attr-defined]
        assert monitor.span(monitor.counter("agents.find_by_id")) is _NO_SPAN
        assert store.agents.find_by_name("nobody") is None


def test_the_drivers_span_is_a_child_of_vaultstores(
    clean_mongo: str, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    instrumentor = PymongoInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        with vaultstore.connect(clean_mongo, tracer_provider=provider) as store:
            assert store.agents.find_by_name("nobody") is None
    finally:
        instrumentor.uninstrument()
    spans = exporter.get_finished_spans()
    (parent,) = [s for s in spans if s.name == "agents.find_by_name"]
    children = [
        s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id
    ]
    assert children, [s.name for s in spans]
    assert all(scope(child) != "vaultstore" for child in children)
    assert all(child.context.trace_id == parent.context.trace_id for child in children)


PSYCOPG_TRACED = """
import json, sys
import vaultstore
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter, provider = InMemorySpanExporter(), TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
PsycopgInstrumentor().instrument(tracer_provider=provider)
with vaultstore.connect(sys.argv[1], tracer_provider=provider) as store:
    assert store.agents.find_by_name("nobody") is None
print(json.dumps([
    [s.name, s.instrumentation_scope.name, s.context.span_id, s.parent and s.parent.span_id]
    for s in exporter.get_finished_spans()
]))
"""


def test_the_psycopg_span_is_a_child_of_vaultstores(store_db: str) -> None:
    """In a process of its own: psycopg's instrumentor patches psycopg for the
    whole process, and uninstrumenting it does not give the pool's connection
    class back."""
    done = subprocess.run(  # a fixed argument list, no shell
        [sys.executable, "-c", PSYCOPG_TRACED, store_db],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    spans = json.loads(done.stdout)
    (parent,) = [s for s in spans if s[0] == "agents.find_by_name"]
    children = [s for s in spans if s[3] == parent[2]]
    assert children, spans
    assert {child[1] for child in children} == {"opentelemetry.instrumentation.psycopg"}
