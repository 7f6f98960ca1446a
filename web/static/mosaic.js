// Séance — the mosaic of the president's and the moderator's screens: one tile per salle
// with its picture (the server's `monitor` peer: every salle that has one, no sound: they
// sit in a salle and hear it), its name, a ring while it speaks (the RFC 6464 levels the
// server measures, `voices`), its transmission (R7, R17), audio only (R3), its microphone
// (server-side mute) and « Mettre à l'image » (the president's pin), on the tile itself.
import { SeanceClient } from "./rtc.js";
import { h, patch } from "./sitting.js";

/** The media client of a monitor: also takes the `voices` messages. */
class MonitorClient extends SeanceClient {
  async onMessage(msg) {
    if (msg.type === "voices") { this.opts.onVoices?.(msg); return; }
    return super.onMessage(msg);
  }
}

export class Mosaic {
  /**
   * @param {HTMLElement} container the element that holds the tiles
   * @param {object} opts sitting; details(salleId) -> extra line (e.g. who is present), or null;
 *   pinBlocked() -> why « Mettre à l'image » cannot act now (the button is disabled, the reason shown), or null;
   *   heading: the tiles' heading tag, one level below the section's (default "h3")
   */
  constructor(container, opts) {
    this.container = container;
    this.opts = opts;
    this.state = null;           // the last `state` message (salles, pinned)
    this.voices = { active: null, speaking: [] };
    this.allowed = [];
    this.streams = {};           // slot -> MediaStream
    this.client = new MonitorClient({
      sitting: opts.sitting,
      token: null,
      as: "monitor",
      localStream: null,
      onWelcome: (msg) => { this.allowed = msg.allowed || []; this.render(); },
      onState: (msg) => { this.state = msg; this.render(); },
      onSlots: () => this.attachAll(),
      onTrack: (index, entry, track, stream) => { this.streams[entry.slot] = stream; this.attachAll(); },
      onVoices: (msg) => { this.voices = msg; this.renderVoices(); },
      onError: (msg) => opts.onError?.(msg),
    });
  }

  start() { this.client.start(); }

  /** The slot that carries ``salleId``'s picture now, or null. */
  slotOf(salleId) {
    for (const [slot, salle] of Object.entries(this.client.assignments || {})) if (salle === salleId) return slot;
    return null;
  }

  render() {
    if (!this.state) return;
    const pinned = this.state.pinned ?? null;
    const tiles = this.state.salles.map((s) => {
      const isPinned = pinned === s.id;
      const [healthText, healthState] = s.transmitting ? ["transmission établie", "ok"]
        : (s.connected ? ["connexion en cours", "warning"] : ["hors ligne", "lost"]);
      const flags = [h("span", { class: "badge", dataset: { state: healthState } }, healthText)];
      if (s.audio_only) flags.push(h("span", { class: "tag flag-audio-only" }, "audio seul"));
      if (s.muted) flags.push(h("span", { class: "tag flag-muted" }, "micro coupé"));
      if (isPinned) flags.push(h("span", { class: "tag flag-pinned" }, "à l'image"));
      const actions = [];
      if (this.allowed.includes("mute")) {
        const label = s.muted ? "Rétablir le micro" : "Couper le micro";
        actions.push(h("button", { type: "button", class: `small ${s.muted ? "" : "danger"}`, dataset: { key: `mute-${s.id}` },
          "aria-label": `${label} : ${s.name}`, onclick: () => this.client.send({ type: "mute", salle: s.id, muted: !s.muted }) }, label));
      }
      if (this.allowed.includes("pin")) {
        const label = isPinned ? "Suivre l'orateur" : "Mettre à l'image";
        const blocked = this.opts.pinBlocked?.() || null;  // a button that cannot act says why
        actions.push(h("button", { type: "button", class: "small", "aria-pressed": isPinned ? "true" : "false", dataset: { key: `pin-${s.id}` },
          disabled: !!blocked, "aria-describedby": blocked ? `pin-reason-${s.id}` : null,
          "aria-label": `${label} : ${s.name}`, onclick: () => this.client.send({ type: "pin", salle: isPinned ? null : s.id }) }, label));
        if (blocked) actions.push(h("span", { class: "reason", id: `pin-reason-${s.id}` }, ` ${blocked}`));
      }
      const details = this.opts.details?.(s.id);
      const video = h("video", { muted: true, playsInline: true, autoplay: true, "aria-hidden": "true" });
      video.muted = true;
      return h("article", { class: "salle-tile", dataset: { salle: s.id, health: healthState }, "aria-label": s.name },
        h("div", { class: "salle-picture" }, video,
          h("p", { class: "salle-nopicture" }, s.audio_only ? "Audio seul : pas d'image" : (s.transmitting ? "Image en attente…" : "Pas d'image"))),
        h("div", { class: "salle-caption" },
          h(this.opts.heading || "h3", { class: "salle-name" }, s.name, h("span", { class: "salle-speaking" }, " — parle")),
          h("p", { class: "salle-flags" }, ...flags),
          details ? h("p", { class: "salle-details muted" }, details) : null,
          actions.length ? h("p", { class: "salle-actions" }, ...actions) : null));
    });
    // keep each salle's <video> element (and so its picture) across renders
    const old = new Map([...this.container.querySelectorAll(".salle-tile")].map((t) => [t.dataset.salle, t]));
    for (const tile of tiles) {
      const previous = old.get(tile.dataset.salle)?.querySelector("video");
      if (previous) tile.querySelector("video").replaceWith(previous);
    }
    patch(this.container, tiles);
    this.attachAll();
    this.renderVoices();
  }

  attachAll() {
    for (const tile of this.container.querySelectorAll(".salle-tile")) {
      const video = tile.querySelector("video");
      const slot = this.slotOf(tile.dataset.salle);
      const stream = slot ? this.streams[slot] || null : null;
      if (video.srcObject !== stream) {
        video.srcObject = stream;
        if (stream) video.play().catch(() => {});
      }
      tile.dataset.picture = stream ? "yes" : "no";
    }
  }

  renderVoices() {
    const speaking = new Set(this.voices.speaking || []);
    for (const tile of this.container.querySelectorAll(".salle-tile")) {
      const on = speaking.has(tile.dataset.salle);
      tile.dataset.speaking = on ? "yes" : "no";
      tile.dataset.active = this.voices.active === tile.dataset.salle ? "yes" : "no";
    }
  }
}
