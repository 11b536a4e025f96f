"""Emits the OTLP test scenarios with the real OpenTelemetry Python SDK.

Run by tests/otlp/clients.rs against an agentrace server. The exporter is
chosen by AGENTRACE_OTLP_PROTOCOL (http/protobuf, http/json or grpc) and
configured only through the standard variables (OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_EXPORTER_OTLP_COMPRESSION, OTEL_EXPORTER_OTLP_INSECURE), as a user
would. Prints one JSON line: the ids of what was sent, and every problem the
SDK logged (a failed export is a problem).
"""

import json
import logging
import os
import sys

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode


class Problems(logging.Handler):
    """Collects what the SDK and exporters log at WARNING or above."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(f"{record.name}: {record.getMessage()}")


def exporter(protocol):
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    elif protocol == "http/json":
        from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter
    elif protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        raise SystemExit(f"unknown AGENTRACE_OTLP_PROTOCOL {protocol!r}")
    return OTLPSpanExporter()


def hex_ids(span):
    context = span.get_span_context()
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def genai_agent(tracer, conversation):
    """invoke_agent -> chat (tool calls) -> execute_tool -> MCP tools/call -> chat."""
    spans = {}
    with tracer.start_as_current_span("invoke_agent trip-planner", kind=SpanKind.INTERNAL) as agent:
        agent.set_attributes({
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "trip-planner",
            "gen_ai.provider.name": "openai",
            "gen_ai.conversation.id": conversation,
            "user.id": "user-otlp",
            "gen_ai.usage.input_tokens": 5000,
        })
        spans["agent"] = agent
        with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as chat:
            chat.set_attributes({
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.model": "gpt-4o-2024-08-06",
                "gen_ai.usage.input_tokens": 412,
                "gen_ai.usage.output_tokens": 38,
                "gen_ai.usage.cache_read.input_tokens": 128,
                "gen_ai.conversation.id": conversation,
                "gen_ai.input.messages": json.dumps(
                    [{"role": "user", "parts": [{"type": "text", "content": "Weekend in Lisbon?"}]}]
                ),
                "gen_ai.output.messages": json.dumps(
                    [{"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "get_weather"}]}]
                ),
            })
            spans["chat_1"] = chat
        with tracer.start_as_current_span("execute_tool get_weather") as tool:
            tool.set_attributes({
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "get_weather",
                "gen_ai.tool.call.arguments": '{"city": "Lisbon"}',
                "gen_ai.tool.call.result": '{"temp_c": 21}',
                "app.note": "nul\x00inside",
            })
            spans["tool"] = tool
            with tracer.start_as_current_span("tools/call search_flights", kind=SpanKind.CLIENT) as mcp:
                mcp.set_attributes({
                    "mcp.method.name": "tools/call",
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "search_flights",
                    "mcp.session.id": "mcp-session-1",
                    "gen_ai.tool.call.arguments": {"to": "LIS", "max_price": 300},
                })
                spans["mcp"] = mcp
        with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as chat:
            chat.set_attributes({
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.model": "gpt-4o-2024-08-06",
                "gen_ai.usage.input_tokens": 980,
                "gen_ai.usage.output_tokens": 211,
                "gen_ai.usage.reasoning.output_tokens": 64,
                "gen_ai.output.messages": [
                    {"role": "assistant", "parts": [{"type": "text", "content": "Fly Friday."}]}
                ],
            })
            spans["chat_2"] = chat
    return spans


def openinference_agent(tracer):
    """AGENT -> CHAIN (graph node) -> LLM, TOOL, RETRIEVER."""
    spans = {}
    with tracer.start_as_current_span("TravelAgent") as agent:
        agent.set_attributes({
            "openinference.span.kind": "AGENT",
            "input.value": "Plan a weekend in Lisbon",
            "output.value": "Fly Friday.",
            "session.id": "oi-session",
            "user.id": "user-oi",
        })
        spans["agent"] = agent
        with tracer.start_as_current_span("router") as chain:
            chain.set_attributes({
                "openinference.span.kind": "CHAIN",
                "graph.node.id": "router",
                "input.value": '{"query": "Plan a weekend"}',
                "input.mime_type": "application/json",
            })
            spans["chain"] = chain
            with tracer.start_as_current_span("ChatAnthropic") as llm:
                llm.set_attributes({
                    "openinference.span.kind": "LLM",
                    "llm.model_name": "claude-sonnet-4-5",
                    "llm.provider": "anthropic",
                    "llm.system": "anthropic",
                    "llm.token_count.prompt": 321,
                    "llm.token_count.completion": 45,
                    "llm.token_count.total": 366,
                    "llm.input_messages.0.message.role": "user",
                    "llm.input_messages.0.message.content": "Plan a weekend in Lisbon",
                    "llm.output_messages.0.message.role": "assistant",
                    "llm.output_messages.0.message.content": "Route to planner",
                })
                spans["llm"] = llm
            with tracer.start_as_current_span("get_weather") as tool:
                tool.set_attributes({
                    "openinference.span.kind": "TOOL",
                    "tool.name": "get_weather",
                    "input.value": '{"city": "Lisbon"}',
                    "input.mime_type": "application/json",
                    "output.value": "sunny",
                })
                spans["tool"] = tool
            with tracer.start_as_current_span("vector_search") as retriever:
                retriever.set_attributes({
                    "openinference.span.kind": "RETRIEVER",
                    "input.value": "hotels in Alfama",
                    "retrieval.documents.0.document.id": "doc-1",
                    "retrieval.documents.0.document.content": "Hotel Alfama Patio",
                    "retrieval.documents.0.document.score": 0.91,
                    "retrieval.documents.1.document.id": "doc-2",
                    "retrieval.documents.1.document.content": "Memmo Alfama",
                    "retrieval.documents.1.document.score": 0.84,
                })
                spans["retriever"] = retriever
    return spans


def failing_agent(tracer, conversation):
    """A chat that raises: ERROR status and an exception event, up to the root."""
    spans = {}
    try:
        with tracer.start_as_current_span("invoke_agent trip-planner") as agent:
            agent.set_attributes({"gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": conversation})
            spans["agent"] = agent
            with tracer.start_as_current_span("chat claude-sonnet-4-5", kind=SpanKind.CLIENT) as chat:
                chat.set_attributes({
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "anthropic",
                    "gen_ai.request.model": "claude-sonnet-4-5",
                    "error.type": "rate_limit_error",
                })
                spans["chat"] = chat
                raise RuntimeError("429 rate_limit_error: too many requests")
    except RuntimeError:
        pass
    return spans


def late_parent(tracer, provider):
    """The child is exported (and flushed) before its parent has ended."""
    spans = {}
    root = tracer.start_span("invoke_agent late-root", attributes={"gen_ai.operation.name": "invoke_agent"})
    spans["root"] = root
    from opentelemetry import trace

    with trace.use_span(root, end_on_exit=False):
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as child:
            child.set_attributes({
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 10,
                "gen_ai.usage.output_tokens": 2,
            })
            spans["child"] = child
    flushed_child = provider.force_flush()
    root.set_status(Status(StatusCode.OK))
    root.end()
    return spans, flushed_child


def main():
    protocol = os.environ["AGENTRACE_OTLP_PROTOCOL"]
    problems = Problems()
    logging.getLogger().addHandler(problems)
    resource = Resource.create({"service.name": "otlp-client-test", "openinference.project.name": "otlp-project"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter(protocol)))
    tracer = provider.get_tracer("agentrace.otlp_scenario", "1.0.0")

    run = os.environ.get("AGENTRACE_RUN_ID", "run")
    conversation = f"conv-{run}"
    shared = f"shared-{run}"
    traces = {}
    traces["genai"] = genai_agent(tracer, conversation)
    traces["openinference"] = openinference_agent(tracer)
    traces["failing"] = failing_agent(tracer, conversation)
    traces["shared_1"] = genai_like(tracer, shared, 1)
    traces["shared_2"] = genai_like(tracer, shared, 2)
    traces["shared_3"] = genai_like(tracer, shared, 3)
    traces["late_parent"], flushed_child = late_parent(tracer, provider)
    flushed = provider.force_flush()
    provider.shutdown()

    report = {
        "protocol": protocol,
        "conversation": conversation,
        "shared_conversation": shared,
        "flushed": bool(flushed and flushed_child),
        "traces": {
            name: {"trace_id": hex_ids(next(iter(spans.values())))[0],
                   "spans": {key: hex_ids(span)[1] for key, span in spans.items()}}
            for name, spans in traces.items()
        },
        "problems": problems.messages,
    }
    print(json.dumps(report))


def genai_like(tracer, conversation, turn):
    """One turn of a conversation: an agent span and one chat call."""
    spans = {}
    with tracer.start_as_current_span(f"invoke_agent turn-{turn}") as agent:
        agent.set_attributes({"gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": conversation})
        spans["agent"] = agent
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as chat:
            chat.set_attributes({
                "gen_ai.operation.name": "chat",
                "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.prompt_tokens": 10 * turn,
                "gen_ai.usage.completion_tokens": turn,
            })
            spans["chat"] = chat
    return spans


if __name__ == "__main__":
    sys.exit(main())
