// The read API, as the UI uses it. Every call returns parsed JSON or throws
// an ApiError carrying the server's message.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Query string from an object, leaving out empty values. */
export function queryString(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

async function getJson(path, params = {}, signal) {
  let response;
  try {
    response = await fetch(`/api/v1${path}${queryString(params)}`, {
      headers: { accept: "application/json" },
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "the server cannot be reached");
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) message = body.error.message;
    } catch (_) {
      // Not a JSON error body: the status line says enough.
    }
    throw new ApiError(response.status, message);
  }
  return response.json();
}

const segment = encodeURIComponent;

export const api = {
  traces: (params, signal) => getJson("/traces", params, signal),
  trace: (traceId, signal) => getJson(`/traces/${segment(traceId)}`, { payloads: "false" }, signal),
  span: (traceId, spanId, signal) => getJson(`/traces/${segment(traceId)}/spans/${segment(spanId)}`, {}, signal),
  sessions: (params, signal) => getJson("/sessions", params, signal),
  session: (sessionId, signal) => getJson(`/sessions/${segment(sessionId)}`, {}, signal),
  stats: (params, signal) => getJson("/stats", params, signal),
  projects: (signal) => getJson("/projects", {}, signal),
  server: (signal) => getJson("/server", {}, signal),
};

/** Where an attachment of a span downloads from. */
export function attachmentUrl(traceId, spanId, name) {
  return `/api/v1/traces/${segment(traceId)}/spans/${segment(spanId)}/attachments/${segment(name)}`;
}
