// What the home page shows before any trace has arrived: how to point an
// agent at this server, with the address the browser reached it at.

import { api } from "../api.js";
import { h, replaceChildren } from "../dom.js";

function snippet(id, text) {
  const code = h("code", { id }, text);
  const copy = h("button", { type: "button", class: "button button-quiet copy-button", "aria-label": "Copy to clipboard" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      copy.textContent = "Copied";
    } catch (_) {
      // Clipboard access needs a secure context: select the text instead.
      getSelection().selectAllChildren(code);
      copy.textContent = "Selected";
    }
    setTimeout(() => {
      copy.textContent = "Copy";
    }, 1500);
  });
  return h("div", { class: "snippet" }, h("pre", {}, code), copy);
}

function curlExample(origin) {
  const start = new Date(Date.now() - 1500).toISOString();
  const end = new Date().toISOString();
  const body = {
    traces: [{ trace_id: "first-trace", session_id: "first-session", user_id: "me", name: "hello" }],
    spans: [
      {
        trace_id: "first-trace",
        span_id: "llm-1",
        span_type: "model_call",
        name: "chat gpt-4o",
        model: "gpt-4o",
        provider: "openai",
        start_time: start,
        end_time: end,
        status: "success",
        input: [{ role: "user", content: "Hello!" }],
        output: { role: "assistant", content: "Hi there." },
        tokens_used: { prompt: 9, completion: 3 },
      },
    ],
  };
  return `curl -s ${origin}/api/v1/ingest \\\n  -H 'content-type: application/json' \\\n  -d '${JSON.stringify(body, null, 2)}'`;
}

/** OTLP/gRPC's own port, as this server reports it, on the host the browser reached. */
function grpcSetup(origin) {
  const block = h(
    "div",
    { class: "grpc-setup" },
    h("p", { class: "hint" }, "OTLP/gRPC is served on its own port (4317 unless the server was started with --grpc-port)."),
  );
  api
    .server()
    .then((server) => {
      if (!server.otlp_grpc_port) return;
      const grpc = new URL(origin);
      grpc.port = String(server.otlp_grpc_port);
      replaceChildren(
        block,
        h("p", {}, "Or over OTLP/gRPC, on its own port:"),
        snippet("setup-otlp-grpc", `export OTEL_EXPORTER_OTLP_ENDPOINT=${grpc.origin}\nexport OTEL_EXPORTER_OTLP_PROTOCOL=grpc`),
      );
    })
    .catch(() => {
      // The generic hint stays.
    });
  return block;
}

/** The empty state; `origin` is this server's address as the browser sees it. */
export function onboarding(origin) {
  return h(
    "section",
    { class: "onboarding", "aria-labelledby": "onboarding-title" },
    h("h1", { id: "onboarding-title" }, "No traces yet: send the first one"),
    h(
      "p",
      {},
      "This agentrace server is at ",
      h("code", { class: "server-address" }, origin),
      ". Point your agent at it in one of these ways; this page shows the traces as soon as the first one arrives.",
    ),
    h("h2", {}, "OpenTelemetry"),
    h("p", {}, "Any OpenTelemetry SDK or GenAI instrumentation exporting OTLP over HTTP (protobuf or JSON):"),
    snippet("setup-otlp", `export OTEL_EXPORTER_OTLP_ENDPOINT=${origin}`),
    grpcSetup(origin),
    h("h2", {}, "LangSmith SDK (LangChain, LangGraph)"),
    snippet("setup-langsmith", `export LANGSMITH_ENDPOINT=${origin}\nexport LANGSMITH_TRACING=true`),
    h("h2", {}, "agentrace's JSON API"),
    snippet("setup-curl", curlExample(origin)),
    h("p", { class: "hint" }, "Every route is described in ", h("a", { href: "/api/v1/openapi.json" }, "the OpenAPI document"), "."),
  );
}
