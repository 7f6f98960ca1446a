// Séance — the browser side of the signaling protocol (docs/protocol.md).
//
// One WebSocket to /ws; the browser is the offerer: it asks for the slot layout
// (`join`), adds one transceiver per layout entry in that order, waits for ICE
// gathering to complete (bounded: aiortc does not trickle), sends `offer`, applies
// `answer`. If the socket or the peer connection drops, it rejoins without a reload.

import { backoffDelay, returnToEntry } from "./reconnect.js";

const GATHER_TIMEOUT_MS = 4000;
const PC_GRACE_MS = 4000;       // "disconnected" this long -> rebuild the peer connection

export class SeanceClient {
  /**
   * @param {object} opts
   *   sitting, token (or null), as ("salle" | "viewer"), localStream (or null),
   *   handlers: onStatus(text, state), onWelcome(msg), onState(msg), onHealth(msg),
   *             onSlots(layout, assignments, names), onTrack(slotIndex, entry, track, stream),
   *             onError(msg)
   */
  constructor(opts) {
    this.opts = opts;
    this.ws = null;
    this.pc = null;
    this.layout = [];
    this.assignments = {};
    this.names = {};
    this.attempt = 0;
    this.stopped = false;
    this.pcTimer = null;
    this.generation = 0;
    this.nextId = 1;
    // TURN servers with credentials for this session, from `welcome` (never cached in a file)
    this.iceServers = [];
  }

  start() {
    this.connect();
    // a kiosk tells the server what it receives (R7, R17, R3: docs/protocol.md, `reception`)
    if (this.opts.as === "salle") this.receptionTimer = setInterval(() => this.reportReception(), RECEPTION_MS);
  }

  stop() {
    this.stopped = true;
    clearInterval(this.receptionTimer);
    this.closePc();
    if (this.ws) this.ws.close();
  }

  status(text, state) { this.opts.onStatus?.(text, state); }

  connect() {
    if (this.stopped) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    // deflate: false (the kiosk): no permessage-deflate, 256 KB of server memory saved
    const ws = new WebSocket(`${proto}//${location.host}/ws${this.opts.deflate === false ? "?deflate=0" : ""}`);
    this.ws = ws;
    this.status("Connexion au serveur…", "connecting");
    ws.onopen = () => {
      const hello = { type: "hello", sitting: this.opts.sitting };
      if (this.opts.token) hello.token = this.opts.token;
      this.send(hello);
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      this.onMessage(msg).catch((err) => console.error("seance:", err));
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.closePc();
      if (this.stopped) return;
      if (returnToEntry(this.attempt)) return;  // this node is gone: back to the entry node
      const delay = backoffDelay(this.attempt);
      this.attempt += 1;
      this.status("Connexion perdue — nouvelle tentative…", "lost");
      setTimeout(() => this.connect(), delay);
    };
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      if (!msg.id) msg.id = String(this.nextId++);
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  async onMessage(msg) {
    switch (msg.type) {
      case "welcome":
        this.names = msg.names || {};
        this.iceServers = Array.isArray(msg.iceServers) ? msg.iceServers : [];
        this.opts.onWelcome?.(msg);
        this.send({ type: "join", as: this.opts.as });
        break;
      case "slots":
        if (msg.names) this.names = msg.names;
        if (msg.assignments) this.assignments = msg.assignments;
        if (msg.layout) {
          this.layout = msg.layout;
          this.paused = [];
          this.activeLayers = null;  // a new connection sends every encoding until told otherwise
          announcePaused([]);  // a new peer: nothing paused until the server says so
          this.opts.onSlots?.(this.layout, this.assignments, this.names);
          await this.negotiate();
        } else {
          this.opts.onSlots?.(this.layout, this.assignments, this.names);
        }
        break;
      case "answer":
        if (this.pc && this.pc.signalingState === "have-local-offer") {
          await this.pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
        }
        break;
      case "redirect": {  // the sitting lives on another node (docs/protocol.md): same page there
        this.stopped = true;
        const there = new URL(location.pathname + location.search + location.hash, msg.url);
        if (!there.searchParams.has("via")) there.searchParams.set("via", location.origin);
        location.replace(there.href);
        break;
      }
      case "layers": await this.setActiveLayers(msg.active); break;
      case "paused":
        this.paused = Array.isArray(msg.slots) ? msg.slots.map(String) : [];
        announcePaused(this.paused);
        break;
      case "state": this.opts.onState?.(msg); break;
      case "health": this.opts.onHealth?.(msg); break;
      case "pong": break;
      case "error":
        this.opts.onError?.(msg);
        if (msg.code === "replaced") { this.stopped = true; this.closePc(); this.ws?.close(); }
        // the public's caps, a media connection that never completed: said as the server words it
        else if (msg.code === "too_many_viewers" || msg.code === "media_timeout") this.status(msg.message, "lost");
        break;
    }
  }

  closePc() {
    clearTimeout(this.pcTimer);
    this.pcTimer = null;
    if (this.pc) {
      this.pc.onconnectionstatechange = null;
      this.pc.ontrack = null;
      this.pc.close();
      this.pc = null;
    }
  }

  /** Build a fresh peer connection in the layout's order and offer it. */
  async negotiate() {
    this.closePc();
    const generation = ++this.generation;
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: "max-bundle" });
    this.pc = pc;
    const local = this.opts.localStream;
    this.layout.forEach((entry) => {
      const direction = entry.direction || "recvonly";
      const sends = direction === "sendonly" || direction === "sendrecv";
      const track = sends && local ? local.getTracks().find((t) => t.kind === entry.kind) : null;
      if (track) pc.addTransceiver(track, { direction, streams: [local], ...this.encodingsFor(track) });
      else pc.addTransceiver(entry.kind, { direction: sends ? (direction === "sendrecv" ? "recvonly" : "inactive") : direction });
    });
    if (this.videoOff) this.applySendingVideo();
    pc.ontrack = (ev) => {
      const index = pc.getTransceivers().indexOf(ev.transceiver);
      if (index >= 0) this.opts.onTrack?.(index, this.layout[index], ev.track, ev.streams[0] || new MediaStream([ev.track]));
    };
    pc.onconnectionstatechange = () => this.onPcState(pc, generation);
    this.status("Négociation des flux…", "connecting");
    await pc.setLocalDescription(await pc.createOffer());
    await waitForGathering(pc, GATHER_TIMEOUT_MS);
    if (generation !== this.generation) return;
    this.send({ type: "offer", sdp: pc.localDescription.sdp });
  }

  onPcState(pc, generation) {
    if (generation !== this.generation) return;
    const state = pc.connectionState;
    clearTimeout(this.pcTimer);
    if (state === "connected") {
      this.attempt = 0;
      this.status("Connecté", "ok");
    } else if (state === "failed" || state === "closed") {
      this.rejoin("Liaison média interrompue — reconnexion…");
    } else if (state === "disconnected") {
      this.status("Liaison média instable…", "warning");
      this.pcTimer = setTimeout(() => this.rejoin("Liaison média interrompue — reconnexion…"), PC_GRACE_MS);
    }
  }

  rejoin(text) {
    this.closePc();
    this.status(text, "lost");
    if (!this.send({ type: "join", as: this.opts.as })) this.ws?.close();
  }

  /** A kiosk's camera is sent as three VP8 encodings (simulcast, docs/media.md): the
   *  server forwards each subscriber the one its link carries. Smallest first: the
   *  server takes the order of the offer as the order of the layers. */
  encodingsFor(track) {
    if (track.kind !== "video" || this.opts.as !== "salle" || this.opts.simulcast === false) return {};
    return { sendEncodings: SIMULCAST.map((e) => ({ ...e })) };
  }

  /** Dynacast (docs/media.md): the server says which layers some subscriber needs; the
   *  others are switched off at the source (`active: false`), back on when needed. */
  async setActiveLayers(active) {
    if (!Array.isArray(active)) return;
    this.activeLayers = active.map(Boolean);
    await this.applyEncodings();
  }

  /** Each simulcast encoding on or off: as the server last asked (`layers`), and all off
   *  while the salle is audio-only (R3). Without a track Chromium still pads its
   *  simulcast encodings to keep its estimate up: only `active: false` stops them. */
  async applyEncodings() {
    if (!this.pc) return;
    const t = this.pc.getTransceivers().find((x, i) => {
      const entry = this.layout[i] || {};
      return entry.kind === "video" && entry.direction === "sendonly";
    });
    if (!t) return;
    const params = t.sender.getParameters();
    if (!params.encodings || params.encodings.length < 2) return;
    let changed = false;
    params.encodings.forEach((e, i) => {
      const on = !this.videoOff && (this.activeLayers ? this.activeLayers[i] !== false : true);
      if (e.active !== on) { e.active = on; changed = true; }
    });
    if (changed) await t.sender.setParameters(params).catch((err) => console.error("seance:", err));
  }

  /** inbound-rtp statistics per transceiver index (used by the page and by tests). */
  /** R3: an audio-only salle stops sending its camera at the source (not only dropped at
   *  the server), and takes it back when the switch is undone. Survives renegotiation. */
  setSendingVideo(on) {
    if (this.videoOff === !on) return;
    this.videoOff = !on;
    this.applySendingVideo();
  }

  applySendingVideo() {
    if (!this.pc || !this.opts.localStream) return;
    const camera = this.opts.localStream.getVideoTracks()[0] || null;
    this.pc.getTransceivers().forEach((t, i) => {
      const entry = this.layout[i] || {};
      if (entry.kind === "video" && (entry.direction === "sendonly" || entry.direction === "sendrecv")) {
        t.sender.replaceTrack(this.videoOff ? null : camera).catch((err) => console.error("seance:", err));
      }
    });
    this.applyEncodings();
  }

  /** One period of this kiosk's reception, as deltas of its getStats counters: frames
   *  decoded in the video slots it shows (a source, not paused), audio samples received
   *  and concealed in its voices, and its browser's send-side estimate. */
  async reportReception() {
    const pc = this.pc;
    if (!pc || pc.connectionState !== "connected" || !this.ws) return;
    const transceivers = pc.getTransceivers();
    const report = await pc.getStats();
    const now = performance.now();
    const totals = { video_frames: 0, video_slots: 0, audio_samples: 0, audio_concealed: 0 };
    const counters = {};
    let outgoing = null;
    report.forEach((s) => {
      if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded" && s.availableOutgoingBitrate) {
        outgoing = Math.round(s.availableOutgoingBitrate / 1000);
      }
      if (s.type !== "inbound-rtp") return;
      const entry = this.layout[transceivers.findIndex((t) => t.mid === s.mid)] || {};
      if (entry.slot == null) return;
      counters[entry.slot] = s.kind === "video"
        ? { frames: s.framesDecoded || 0 }
        : { samples: s.totalSamplesReceived || 0, concealed: s.concealedSamples || 0 };
    });
    const last = this.receptionLast;
    this.receptionLast = { at: now, counters };
    if (!last || pc !== this.receptionPc) { this.receptionPc = pc; return; }
    for (const [slot, c] of Object.entries(counters)) {
      const before = last.counters[slot];
      if (!before || this.assignments[slot] == null) continue;
      if ("frames" in c) {
        if ((this.paused || []).includes(slot)) continue;
        totals.video_slots += 1;
        totals.video_frames += Math.max(0, c.frames - before.frames);
      } else {
        totals.audio_samples += Math.max(0, c.samples - before.samples);
        totals.audio_concealed += Math.max(0, c.concealed - before.concealed);
      }
    }
    const period = Math.round(now - last.at);
    if (period > 0 && period <= 60000) this.send({ type: "reception", period_ms: period, ...totals, outgoing_kbps: outgoing });
  }

  /** Outbound RTP counters per kind (the kiosk's own camera and microphone). */
  async outboundStats() {
    if (!this.pc) return [];
    const report = await this.pc.getStats();
    const out = [];
    report.forEach((s) => {
      if (s.type === "outbound-rtp") out.push({ kind: s.kind, mid: s.mid, packetsSent: s.packetsSent || 0 });
    });
    return out;
  }

  async inboundStats() {
    if (!this.pc) return [];
    const transceivers = this.pc.getTransceivers();
    const report = await this.pc.getStats();
    const out = [];
    report.forEach((s) => {
      if (s.type !== "inbound-rtp") return;
      const index = transceivers.findIndex((t) => t.mid === s.mid);
      const entry = this.layout[index] || {};
      out.push({
        index, mid: s.mid, kind: s.kind, slot: entry.slot ?? null,
        salle: entry.slot != null ? (this.assignments[entry.slot] ?? null) : null,
        packetsReceived: s.packetsReceived || 0, bytesReceived: s.bytesReceived || 0,
        framesDecoded: s.framesDecoded || 0, audioLevel: s.audioLevel ?? null,
        totalAudioEnergy: s.totalAudioEnergy ?? null,
      });
    });
    return out;
  }
}

const RECEPTION_MS = 2000;
// the kiosk's simulcast layers (rid, picture scale, ceiling): 180p, 360p, 720p of a 720p camera
/** Three VP8 temporal layers per encoding (`L1T3`, which Chromium also uses by default
 *  for VP8 simulcast: asked for explicitly so that it does not depend on that default):
 *  the server may forward a subscriber the smallest encoding at half or a quarter of its
 *  frames before it pauses its picture (docs/media.md, "Temporal layers"). */
const SIMULCAST = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150000, scalabilityMode: "L1T3" },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500000, scalabilityMode: "L1T3" },
  { rid: "f", scaleResolutionDownBy: 1, maxBitrate: 1200000, scalabilityMode: "L1T3" },
];

/** The video slots the server pauses for this page (its link cannot carry them), told to
 *  every SlotView of the page (docs/protocol.md, `paused`). */
function announcePaused(slots) {
  document.dispatchEvent(new CustomEvent("seance:paused", { detail: slots.map(String) }));
}

function waitForGathering(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); pc.removeEventListener("icegatheringstatechange", check); resolve(); };
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/** Video slot tiles and hidden audio elements, labelled with the salle in each slot. */
export class SlotView {
  constructor(container, voices, placeholder) {
    this.container = container;
    this.voices = voices;
    this.placeholder = placeholder;
    this.tiles = new Map();   // transceiver index -> {fig, video, caption, entry}
    this.audios = new Map();  // transceiver index -> audio element
    this.paused = [];
    document.addEventListener("seance:paused", (ev) => this.setPaused(ev.detail));
  }

  /** A paused slot is shown as such, never as its last picture frozen. */
  setPaused(slots) {
    this.paused = slots;
    for (const { fig, video, entry } of this.tiles.values()) {
      const paused = slots.includes(String(entry.slot));
      fig.classList.toggle("paused", paused);
      fig.dataset.paused = String(paused);
      video.hidden = paused;
      let note = fig.querySelector(".paused-note");
      if (paused && !note) {
        note = document.createElement("p");
        note.className = "paused-note";
        note.textContent = "Image suspendue : débit insuffisant";
        fig.append(note);
      }
      if (note) note.hidden = !paused;
    }
  }

  setLayout(layout, assignments, names) {
    layout.forEach((entry, index) => {
      const receives = (entry.direction || "recvonly") !== "sendonly";
      if (!receives || entry.slot == null) return;
      if (entry.kind === "video" && !this.tiles.has(index)) {
        const fig = document.createElement("figure");
        fig.className = "tile";
        fig.dataset.slot = entry.slot;
        const video = document.createElement("video");
        video.autoplay = true; video.playsInline = true; video.muted = true;
        const caption = document.createElement("figcaption");
        fig.append(video, caption);
        this.container.append(fig);
        this.tiles.set(index, { fig, video, caption, entry });
        if (this.paused.length) this.setPaused(this.paused);
      }
      if (entry.kind === "audio" && !this.audios.has(index)) {
        const audio = document.createElement("audio");
        audio.autoplay = true;
        audio.dataset.slot = entry.slot;
        this.voices.append(audio);
        this.audios.set(index, audio);
      }
    });
    this.label(assignments, names);
  }

  label(assignments, names) {
    let any = false;
    for (const { fig, caption, entry } of this.tiles.values()) {
      const salle = assignments[entry.slot] ?? null;
      fig.dataset.salle = salle ?? "";
      fig.classList.toggle("empty", salle == null);
      caption.textContent = salle == null ? `${slotLabel(entry)} : en attente d'une salle` : (names[salle] || salle);
      caption.title = slotLabel(entry);
      any = true;
    }
    if (this.placeholder) this.placeholder.hidden = any;
  }

  attach(index, entry, track, stream) {
    if (track.kind === "video" && this.tiles.has(index)) {
      this.tiles.get(index).video.srcObject = new MediaStream([track]);
    } else if (track.kind === "audio" && this.audios.has(index)) {
      this.audios.get(index).srcObject = new MediaStream([track]);
    }
  }

  /** Try to start playback (autoplay policies): returns false if the user must click. */
  async play() {
    let ok = true;
    for (const el of [...this.audios.values(), ...[...this.tiles.values()].map((t) => t.video)]) {
      if (!el.srcObject) continue;
      try { await el.play(); } catch { ok = false; }
    }
    return ok;
  }
}

const SLOT_LABELS = { "video-0": "Présidence", "video-1": "Orateur", programme: "Programme" };

export function slotLabel(entry) {
  if (entry.label) return entry.label;
  const slot = String(entry.slot);
  if (SLOT_LABELS[slot]) return SLOT_LABELS[slot];
  if (slot.startsWith("audio")) return "Voix";
  return "Salle";
}
