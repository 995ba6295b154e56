// The /v1 API as the console uses it: every call carries the signed-in key (held in
// memory only) and turns a problem-details answer into an ApiError with its detail.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export function client(key, fetcher = globalThis.fetch.bind(globalThis)) {
  async function call(method, path, { params, body, headers } = {}) {
    const query = params ? "?" + new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== "")) : "";
    const response = await fetcher(path + query, {
      method,
      headers: { "X-API-Key": key, Accept: "application/json",
                 ...(body ? { "Content-Type": "application/json" } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
      cache: "no-store",
      credentials: "omit",
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const detail = typeof answer.detail === "string" ? answer.detail
        : Array.isArray(answer.errors) ? answer.errors.map((e) => e.detail || e.msg).join("; ")
        : response.statusText;
      throw new ApiError(response.status, detail || `HTTP ${response.status}`);
    }
    return answer;
  }
  return {
    get: (path, params, headers) => call("GET", path, { params, headers }),
    post: (path, body, headers) => call("POST", path, { body, headers }),
  };
}

// The path of an identifier look-up, the value typed as people write it (the API normalises it).
export function identifierPath(kind, value) {
  return `/v1/identifiers/${encodeURIComponent(kind)}/${encodeURIComponent(value)}/applicants`;
}
