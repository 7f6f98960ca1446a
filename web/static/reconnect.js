// Séance — how every screen's WebSocket comes back after a drop (docs/protocol.md).
//
// Bounded exponential backoff, and, when the node serving this page is gone for good
// (several attempts failed) and the page came here through a `redirect` (`?via=` the
// entry node), back to the entry node, which knows where the sitting lives now. Only
// our own host or a parent domain is followed: `via` can never be an open redirect.

export const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];
const ATTEMPTS_BEFORE_ENTRY = 3;

/** Delay before reconnection attempt number `attempt` (0-based), in ms. */
export function backoffDelay(attempt) {
  return BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
}

/** After `attempt` failed reconnections, go back to the entry node if there is one.
 *  Returns true when the page is navigating away (the caller stops reconnecting). */
export function returnToEntry(attempt) {
  const via = new URLSearchParams(location.search).get("via");
  if (attempt < ATTEMPTS_BEFORE_ENTRY || !via) return false;
  const entry = new URL(via, location.href);
  const own = entry.hostname === location.hostname || location.hostname.endsWith("." + entry.hostname);
  if (!own || entry.origin === location.origin) return false;
  location.replace(new URL(location.pathname + location.search + location.hash, entry.origin).href);
  return true;
}
