// Showing span and trace payloads: chat messages as a conversation with
// roles, other JSON as a collapsible tree, long text folded.

import { h } from "./dom.js";

const FOLD_CHARACTERS = 800;
const FOLD_LINES = 14;
const EXPANDED_JSON_LEVELS = 2;

const ROLE_ALIASES = { human: "user", ai: "assistant", function: "tool", developer: "system" };

/** Text shown up to a limit, with a button to show the rest. */
export function foldedText(text, className = "text") {
  const lines = text.split("\n");
  const long = text.length > FOLD_CHARACTERS || lines.length > FOLD_LINES;
  if (!long) return h("pre", { class: className }, text);
  const preview = lines.slice(0, FOLD_LINES).join("\n").slice(0, FOLD_CHARACTERS);
  const pre = h("pre", { class: [className, "is-folded"] }, preview, "…");
  const button = h("button", { type: "button", class: "link-button fold-button" }, `Show all ${text.length.toLocaleString("en-US")} characters`);
  let folded = true;
  button.addEventListener("click", () => {
    folded = !folded;
    pre.replaceChildren(folded ? preview : text);
    if (folded) pre.append("…");
    pre.classList.toggle("is-folded", folded);
    button.textContent = folded ? `Show all ${text.length.toLocaleString("en-US")} characters` : "Show less";
  });
  return h("div", { class: "folded" }, pre, button);
}

function messageRole(message) {
  const raw = message.role || message.type || (message.kwargs && message.kwargs.type);
  if (typeof raw !== "string") return null;
  const role = raw.toLowerCase();
  return ROLE_ALIASES[role] || role;
}

function isMessage(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    messageRole(value) !== null &&
    ("content" in value || "tool_calls" in value || (value.kwargs && "content" in value.kwargs))
  );
}

/** The chat messages a payload holds, or null when it is not a conversation. */
export function asMessages(value) {
  if (value === null || typeof value !== "object") return null;
  if (Array.isArray(value)) {
    // LangChain batches messages as a list of lists.
    const flat = value.length === 1 && Array.isArray(value[0]) ? value[0] : value;
    return flat.length > 0 && flat.every(isMessage) ? flat : null;
  }
  if (isMessage(value)) return [value];
  for (const key of ["messages", "input_messages", "output_messages"]) {
    if (Array.isArray(value[key])) {
      const messages = asMessages(value[key]);
      if (messages) return messages;
    }
  }
  if (Array.isArray(value.choices)) {
    const messages = value.choices.map((choice) => choice && choice.message).filter(Boolean);
    if (messages.length && messages.every(isMessage)) return messages;
  }
  return null;
}

/** A message's content as plain text, or null when it is not text. */
export function contentText(message) {
  const content = message.kwargs && "content" in message.kwargs ? message.kwargs.content : message.content;
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    const texts = content.map((part) => (typeof part === "string" ? part : part && typeof part.text === "string" ? part.text : null));
    if (texts.every((text) => text !== null)) return texts.join("\n");
  }
  return null;
}

function messageContent(message) {
  const content = message.kwargs && "content" in message.kwargs ? message.kwargs.content : message.content;
  const parts = [];
  if (typeof content === "string") {
    if (content) parts.push(foldedText(content, "message-text"));
  } else if (Array.isArray(content)) {
    for (const part of content) {
      if (typeof part === "string") parts.push(foldedText(part, "message-text"));
      else if (part && part.type === "text" && typeof part.text === "string") parts.push(foldedText(part.text, "message-text"));
      else parts.push(jsonView(part));
    }
  } else if (content !== undefined && content !== null) {
    parts.push(jsonView(content));
  }
  const toolCalls = message.tool_calls || (message.kwargs && message.kwargs.tool_calls);
  if (Array.isArray(toolCalls)) {
    for (const call of toolCalls) {
      const fn = (call && call.function) || call || {};
      let args = fn.arguments ?? fn.args;
      if (typeof args === "string") {
        try {
          args = JSON.parse(args);
        } catch (_) {
          // Arguments that are not JSON are shown as the text they are.
        }
      }
      parts.push(
        h(
          "div",
          { class: "tool-call" },
          h("span", { class: "tool-call-name" }, `→ ${fn.name || "tool call"}`, call.id ? h("span", { class: "muted" }, ` (${call.id})`) : null),
          args === undefined ? null : typeof args === "string" ? foldedText(args) : jsonView(args),
        ),
      );
    }
  }
  if (!parts.length) parts.push(h("span", { class: "muted" }, "(empty)"));
  return parts;
}

/** Chat messages as a conversation, one bubble per message with its role. */
export function conversation(messages) {
  return h(
    "ol",
    { class: "conversation" },
    messages.map((message) => {
      const role = messageRole(message) || "message";
      const name = message.name || message.tool_call_id;
      return h(
        "li",
        { class: ["message", `role-${role.replace(/[^a-z_-]/g, "")}`], "data-role": role },
        h("div", { class: "message-role" }, role, name ? h("span", { class: "muted" }, ` · ${name}`) : null),
        h("div", { class: "message-content" }, messageContent(message)),
      );
    }),
  );
}

function jsonScalar(value) {
  if (value === null) return h("span", { class: "json-null" }, "null");
  if (typeof value === "string") {
    if (value.length > FOLD_CHARACTERS / 2 || value.includes("\n")) return foldedText(value, "json-string-block");
    return h("span", { class: "json-string" }, JSON.stringify(value));
  }
  if (typeof value === "number") return h("span", { class: "json-number" }, String(value));
  if (typeof value === "boolean") return h("span", { class: "json-boolean" }, String(value));
  return h("span", {}, String(value));
}

/** JSON as a tree of collapsible objects and arrays (open to `expandLevels` deep). */
export function jsonView(value, expandLevels = EXPANDED_JSON_LEVELS, level = 0) {
  if (value === null || typeof value !== "object") return jsonScalar(value);
  const isArray = Array.isArray(value);
  const entries = isArray ? value.map((item, index) => [index, item]) : Object.entries(value);
  if (entries.length === 0) return h("span", { class: "json-empty" }, isArray ? "[]" : "{}");
  const summary = isArray ? `[ ${entries.length} item${entries.length === 1 ? "" : "s"} ]` : `{ ${entries.length} key${entries.length === 1 ? "" : "s"} }`;
  return h(
    "details",
    { class: "json", open: level < expandLevels },
    h("summary", {}, summary),
    h(
      "ul",
      { class: "json-entries" },
      entries.map(([key, item]) =>
        h("li", {}, h("span", { class: isArray ? "json-index" : "json-key" }, isArray ? `${key}` : key), ": ", jsonView(item, expandLevels, level + 1)),
      ),
    ),
  );
}

/** Any payload: a conversation when it holds chat messages, else text or JSON. */
export function payloadView(value) {
  if (value === undefined || value === null) return h("span", { class: "muted" }, "—");
  if (typeof value === "string") return foldedText(value);
  const messages = asMessages(value);
  if (messages) {
    const rest = !Array.isArray(value) && !isMessage(value) ? otherKeys(value) : null;
    return h("div", { class: "payload" }, conversation(messages), rest ? h("div", { class: "payload-rest" }, jsonView(rest, 1)) : null);
  }
  return jsonView(value);
}

function otherKeys(value) {
  const rest = Object.fromEntries(Object.entries(value).filter(([key]) => !["messages", "input_messages", "output_messages", "choices"].includes(key)));
  return Object.keys(rest).length ? rest : null;
}

const INPUT_KEYS = ["input", "question", "query", "prompt", "message", "text", "content", "user_input"];
const OUTPUT_KEYS = ["output", "answer", "response", "result", "content", "text", "final_answer", "completion"];

function firstString(value, keys) {
  if (typeof value === "string") return value;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  for (const key of keys) {
    if (typeof value[key] === "string") return value[key];
  }
  for (const key of keys) {
    const nested = value[key];
    if (nested && typeof nested === "object") {
      const messages = asMessages(nested);
      if (messages) return contentText(messages[messages.length - 1]);
    }
  }
  return null;
}

/** What the user said in a turn: the last user message, or the input's text. */
export function userText(input) {
  const messages = asMessages(input);
  if (messages) {
    const users = messages.filter((message) => messageRole(message) === "user");
    const chosen = users.length ? users[users.length - 1] : messages[messages.length - 1];
    return contentText(chosen);
  }
  return firstString(input, INPUT_KEYS);
}

/** The agent's answer in a turn: the last assistant message, or the output's text. */
export function answerText(output) {
  const messages = asMessages(output);
  if (messages) {
    const answers = messages.filter((message) => messageRole(message) === "assistant");
    const chosen = answers.length ? answers[answers.length - 1] : messages[messages.length - 1];
    return contentText(chosen);
  }
  return firstString(output, OUTPUT_KEYS);
}
