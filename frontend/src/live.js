// The live feed: GET /api/v1/events as server-sent events, read with fetch so the bearer token
// goes in a header (EventSource cannot send one). Reconnects with Last-Event-ID; pages subscribe by
// event-type prefix: onLive("case.", fn), onLive("finding.", fn), later onLive("vehicle.", fn).
import { can, currentUser, onUserChange, openStream } from "./api.js";

const listeners = new Set(); // { prefix, fn }
const stateListeners = new Set();
let controller = null;
let lastId = null;
let state = "off"; // off | connecting | live | retrying

function setState(next) {
  state = next;
  stateListeners.forEach((fn) => fn(state));
}

export const liveState = () => state;
export const onLiveState = (fn) => stateListeners.add(fn);

/** Call fn for every event whose type starts with prefix; returns the unsubscribe function. */
export function onLive(prefix, fn) {
  const entry = { prefix, fn };
  listeners.add(entry);
  return () => listeners.delete(entry);
}

function dispatch(block) {
  if (block.id) lastId = block.id;
  if (!block.event || block.data == null) return;
  const event = { id: block.id, type: block.event, data: JSON.parse(block.data) };
  listeners.forEach((l) => event.type.startsWith(l.prefix) && l.fn(event));
}

async function readStream(response, signal) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let block = {};
  while (!signal.aborted) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, cut).replace(/\r$/, "");
      buffer = buffer.slice(cut + 1);
      if (line === "") {
        dispatch(block);
        block = {};
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const name = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        block[name] = name === "data" && block.data != null ? `${block.data}\n${val}` : val;
      }
    }
  }
}

async function run(signal) {
  let delay = 1000;
  while (!signal.aborted) {
    try {
      setState(state === "off" ? "connecting" : state);
      const headers = { Accept: "text/event-stream", ...(lastId ? { "Last-Event-ID": lastId } : {}) };
      const response = await openStream("/api/v1/events", { signal, headers });
      setState("live");
      delay = 1000;
      await readStream(response, signal); // the server ends a stream now and then: reconnect
    } catch (error) {
      if (signal.aborted) return;
      if (error.status === 401 || error.status === 403) return setState("off");
      setState("retrying");
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 30000);
  }
}

function stop() {
  controller?.abort();
  controller = null;
  setState("off");
}

/** Listen while someone who may read cases is signed in; stop on sign-out. */
export function startLive() {
  const sync = () => {
    if (currentUser() && can("cases.read")) {
      if (!controller) {
        controller = new AbortController();
        run(controller.signal);
      }
    } else stop();
  };
  onUserChange(sync);
  window.addEventListener("pagehide", stop); // leaving the page is not a failed request
  sync();
}
