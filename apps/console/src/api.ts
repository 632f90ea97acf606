/**
 * The Management API as the console uses it: same origin, Basic auth from the login form. The
 * credentials live in sessionStorage (this tab only, gone when it closes) because EventSource and
 * cookies would need a session the hawkBit API does not have; every call sends the header itself.
 */
const KEY = 'otaflow.console.authorization';
const WHO = 'otaflow.console.user';
export const API = '/rest/v1';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(messageOf(status, body));
  }
}

function messageOf(status: number, body: unknown): string {
  if (body && typeof body === 'object') {
    const { message, error } = body as { message?: unknown; error?: unknown };
    if (typeof message === 'string' && message) return `${status}: ${message}`;
    if (typeof error === 'string' && error) return `${status}: ${error}`;
  }
  return `HTTP ${status}`;
}

export function authorization(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

const loggedOut = new Set<() => void>();
export function onLoggedOut(listener: () => void): () => void {
  loggedOut.add(listener);
  return () => loggedOut.delete(listener);
}

export function logout(): void {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(WHO);
  for (const listener of loggedOut) listener();
}

function basic(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/** Headers of every call: X-Requested-With keeps the browser's own password dialog away on 401. */
export function authHeaders(header = authorization()): Record<string, string> {
  return {
    'X-Requested-With': 'XMLHttpRequest',
    Accept: 'application/json',
    ...(header ? { Authorization: header } : {}),
  };
}

/** Checks the credentials against the API and keeps them; throws ApiError when refused. */
export async function login(user: string, password: string): Promise<void> {
  const header = basic(user, password);
  const res = await fetch(`${API}/userinfo`, { headers: authHeaders(header) });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => undefined));
  const info = (await res.json().catch(() => ({}))) as Partial<User>;
  sessionStorage.setItem(KEY, header);
  sessionStorage.setItem(
    WHO,
    JSON.stringify({ username: info.username ?? user, tenant: info.tenant ?? '' }),
  );
}

/** Who is logged in, as `/userinfo` told at login: each user sees its own tenant only. */
export interface User {
  username: string;
  tenant: string;
}

export function currentUser(): User | undefined {
  const text = sessionStorage.getItem(WHO);
  if (!text) return undefined;
  try {
    return JSON.parse(text) as User;
  } catch {
    return undefined;
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers = authHeaders();
  const init: RequestInit = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(`${API}${path}`, init);
  const text = await res.text();
  const json: unknown = text ? safeJson(text) : undefined;
  if (res.status === 401) logout();
  if (!res.ok) throw new ApiError(res.status, json);
  return json as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * A multipart upload with progress: fetch cannot report upload progress, XMLHttpRequest can.
 * Resolves with the artifact's JSON; rejects with ApiError.
 */
export function upload<T>(
  path: string,
  file: File,
  onProgress: (sent: number, total: number) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${API}${path}`);
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      const json = xhr.responseText ? safeJson(xhr.responseText) : undefined;
      if (xhr.status === 401) logout();
      if (xhr.status >= 200 && xhr.status < 300) resolve(json as T);
      else reject(new ApiError(xhr.status, json));
    };
    xhr.onerror = () => reject(new ApiError(0, { message: 'network error' }));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}
