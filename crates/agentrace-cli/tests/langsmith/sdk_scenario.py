"""Traces a small agent with the real `langsmith` SDK against agentrace.

Run by crates/agentrace-cli/tests/langsmith/sdk.rs with LANGSMITH_ENDPOINT
pointing at a test server. AGENTRACE_SDK_MODE picks how the client sends:

  zstd    the default: compressed multipart (after the first /info)
  plain   LANGSMITH_DISABLE_RUN_COMPRESSION=true (set by the caller)
  batch   the server's /info advertises /runs/batch
  single  Client(auto_batch_tracing=False): one POST /runs and PATCH per run

It prints one JSON object (the ids it created and the values it sent) on
its last stdout line; the Rust test checks agentrace's store against it.
"""

import json
import logging
import os
import sys
import uuid
import warnings

from langsmith import Client, traceable
from langsmith.run_helpers import get_current_run_tree, tracing_context
from langsmith.run_trees import RunTree
from langsmith.schemas import Attachment

MODE = os.environ["AGENTRACE_SDK_MODE"]
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR agentrace \xff\xfe"
UNICODE = "東京の天気は？ 🌧️ — 서울 — 🦀👩‍👩‍👧 — naïve café"
# 200 KB of varied text, multibyte characters included.
BIG = "".join(f"line {i:05d}: the quick brown fox 🦊 jumps over 東京 {'xyz' * (i % 7)}\n" for i in range(3100))
assert len(BIG.encode()) > 200_000, len(BIG.encode())
THREAD_ID = str(uuid.uuid4())


class Problems(logging.Handler):
    """Collects what the SDK logs at WARNING and above: a dropped batch
    shows up only here, never as an exception."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


problems = Problems()
logging.getLogger("langsmith").addHandler(problems)
warnings.simplefilter("ignore")

client = Client(auto_batch_tracing=(MODE != "single"))
ids = {}


def remember(name):
    ids[name] = str(get_current_run_tree().id)


@traceable(run_type="retriever", name="lookup_docs")
def lookup_docs(query):
    remember("retriever")
    return [{"page_content": f"doc about {query}", "metadata": {"source": "kb"}}]


@traceable(run_type="tool", name="web_search")
def web_search(query):
    remember("tool")
    return {"results": lookup_docs(query)}


@traceable(run_type="llm", name="chat_model", metadata={"ls_provider": "openai", "ls_model_name": "gpt-4o-mini"})
def chat_model(messages):
    remember("llm")
    found = web_search(messages[-1]["content"])
    return {
        "choices": [{"message": {"role": "assistant", "content": f"found {len(found['results'])}"}}],
        "usage_metadata": {
            "input_tokens": 120,
            "output_tokens": 30,
            "total_tokens": 150,
            "input_token_details": {"cache_read": 100},
            "output_token_details": {"reasoning": 10},
        },
    }


@traceable(run_type="tool", name="broken_tool")
def broken_tool(x):
    remember("broken_tool")
    raise ValueError(f"boom {x}")


@traceable(run_type="chain", name="agent")
def agent(question):
    remember("agent")
    answer = chat_model([{"role": "user", "content": question}])
    try:
        broken_tool(3)
    except ValueError:
        pass
    return answer["choices"][0]["message"]["content"]


@traceable(run_type="chain", name="failing_agent")
def failing_agent(question):
    remember("failing_agent")
    raise RuntimeError("the agent gave up")


@traceable(run_type="chain", name="turn")
def turn(text):
    ids.setdefault("thread_turns", []).append(str(get_current_run_tree().id))
    return {"reply": text.upper()}


@traceable(run_type="chain", name="summarize_document")
def summarize_document(document):
    remember("big")
    return {"length": len(document)}


@traceable(run_type="chain", name="翻訳 🌏")
def translate(text):
    remember("unicode")
    return {"translation": text[::-1]}


@traceable(run_type="chain", name="describe_image")
def describe_image(prompt: str, image: Attachment):
    remember("attachment")
    return {"caption": f"{prompt}: {len(image.data)} bytes"}


with tracing_context(client=client, enabled=True, project_name="sdk-tests"):
    agent("What's the weather in Paris?")
    try:
        failing_agent("impossible")
    except RuntimeError:
        pass
    for text in ("hello", "how are you", "bye"):
        turn(text, langsmith_extra={"metadata": {"thread_id": THREAD_ID}})
    summarize_document(BIG)
    translate(UNICODE)
    describe_image("a chart", Attachment(mime_type="image/png", data=PNG))

root = RunTree(
    name="manual_root",
    run_type="chain",
    inputs={"q": "by hand"},
    client=client,
    project_name="sdk-tests",
    tags=["manual"],
    extra={"metadata": {"conversation_id": "conv-manual"}},
)
root.post()
child = root.create_child(name="manual_llm", run_type="llm", inputs={"prompt": "hi"})
child.post()
child.set(usage_metadata={"input_tokens": 3, "output_tokens": 1, "total_tokens": 4})
child.end(outputs={"generation": "hello"})
child.patch()
root.end(outputs={"answer": "hello"})
root.patch()
ids["manual_root"] = str(root.id)
ids["manual_llm"] = str(child.id)

client.create_feedback(
    run_id=ids["agent"], trace_id=ids["agent"], key="helpfulness", score=0.75, comment="précis 👍"
)
client.flush(timeout=60)

if MODE == "zstd" and client.compressed_traces is None:
    sys.exit("the client did not switch to zstd although /info advertises it")
if MODE in ("plain", "batch") and client.compressed_traces is not None:
    sys.exit("the client compresses although this mode should not")
if MODE == "batch" and client.info.batch_ingest_config["use_multipart_endpoint"]:
    sys.exit("/info did not send the client to /runs/batch")

print(
    json.dumps(
        {
            "mode": MODE,
            "ids": ids,
            "thread_id": THREAD_ID,
            "big": BIG,
            "unicode": UNICODE,
            "png": list(PNG),
            "problems": problems.messages,
        }
    )
)
