// The API client: OAuth2 password flow; access token in memory, refresh token in sessionStorage.
const REFRESH_KEY = "citybrain.refresh";
let accessToken = null;
let me = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function errorOf(response) {
  let detail = response.statusText;
  try {
    const body = await response.json();
    detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? body);
  } catch {
    /* not JSON: keep the status text */
  }
  return new ApiError(response.status, detail);
}

function store(pair) {
  accessToken = pair.access_token;
  sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
}

async function refresh() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  if (!token) return false;
  const response = await fetch("/api/v1/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: token }),
  });
  if (!response.ok) {
    sessionStorage.removeItem(REFRESH_KEY);
    return false;
  }
  store(await response.json());
  return true;
}

/** GET (or other) a JSON resource; one refresh and retry on 401. */
export async function api(path, options = {}) {
  const send = () =>
    fetch(path, {
      ...options,
      headers: { ...(options.headers || {}), ...(accessToken ? { Authorization: `Bearer ${accessToken}` } : {}) },
    });
  let response = await send();
  if (response.status === 401 && (await refresh())) response = await send();
  if (!response.ok) throw await errorOf(response);
  return response.status === 204 ? null : response.json();
}

/** GET a file (a PDF) as a Blob, signed like api(); one refresh and retry on 401. */
export async function apiBlob(path) {
  const send = () => fetch(path, { headers: accessToken ? { Authorization: `Bearer ${accessToken}` } : {} });
  let response = await send();
  if (response.status === 401 && (await refresh())) response = await send();
  if (!response.ok) throw await errorOf(response);
  return response.blob();
}

/** A streaming request (the live feed): signed like api(), one refresh and retry on 401. */
export async function openStream(path, { signal, headers = {} } = {}) {
  const send = () =>
    fetch(path, { signal, cache: "no-store", headers: { ...headers, ...(accessToken ? { Authorization: `Bearer ${accessToken}` } : {}) } });
  let response = await send();
  if (response.status === 401 && (await refresh())) response = await send();
  if (!response.ok) throw await errorOf(response);
  return response;
}

async function loadMe() {
  me = await api("/api/v1/auth/me");
  listeners.forEach((fn) => fn(me));
  return me;
}

export async function login(username, password) {
  const body = new URLSearchParams({ grant_type: "password", username, password });
  const response = await fetch("/api/v1/auth/token", { method: "POST", body });
  if (!response.ok) throw await errorOf(response);
  store(await response.json());
  return loadMe();
}

export async function logout() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  sessionStorage.removeItem(REFRESH_KEY);
  accessToken = null;
  me = null;
  listeners.forEach((fn) => fn(me));
  if (token) {
    await fetch("/api/v1/auth/logout", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: token }),
    });
  }
}

/** On start: resume a session from the refresh token kept for this tab, if any. */
export async function resume() {
  if (await refresh()) {
    try {
      await loadMe();
    } catch {
      me = null;
    }
  }
  return me;
}

export const currentUser = () => me;
export const onUserChange = (fn) => listeners.add(fn);
export const can = (permission) => !!me && me.permissions.includes(permission);
