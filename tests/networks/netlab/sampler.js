// Network lab sampler (tests/networks): every SAMPLE_MS, the figures of the page's
// peer connection (window.seance.pc) from getStats(), kept in the page until the harness
// takes them (window.__netlab.take()). Installed as an init script: it reads the page,
// changes nothing in it.
(() => {
  if (window.__netlab) return;
  const SAMPLE_MS = 200;
  const MAX_SAMPLES = 3000;   // 10 minutes: the harness takes them every few seconds
  const INBOUND = [
    "ssrc", "kind", "mid", "packetsReceived", "packetsLost", "bytesReceived", "headerBytesReceived",
    "framesDecoded", "framesReceived", "framesDropped", "keyFramesDecoded", "frameWidth", "frameHeight",
    "framesPerSecond", "freezeCount", "totalFreezesDuration", "pauseCount", "totalPausesDuration",
    "nackCount", "pliCount", "firCount", "jitter", "jitterBufferDelay", "jitterBufferEmittedCount",
    "concealedSamples", "silentConcealedSamples", "concealmentEvents", "totalSamplesReceived",
    "insertedSamplesForDeceleration", "removedSamplesForAcceleration", "fecPacketsReceived",
    "fecPacketsDiscarded", "retransmittedPacketsReceived", "retransmittedBytesReceived",
  ];
  const OUTBOUND = [
    "ssrc", "kind", "mid", "rid", "encodingIndex", "active", "packetsSent", "bytesSent", "headerBytesSent",
    "retransmittedPacketsSent", "retransmittedBytesSent", "framesEncoded", "keyFramesEncoded", "frameWidth",
    "frameHeight", "framesPerSecond", "framesSent", "targetBitrate", "qualityLimitationReason",
    "nackCount", "pliCount", "firCount", "scalabilityMode",
  ];
  const REMOTE_INBOUND = ["ssrc", "kind", "packetsLost", "fractionLost", "roundTripTime", "jitter"];
  const PAIR = [
    "state", "currentRoundTripTime", "availableOutgoingBitrate", "availableIncomingBitrate",
    "bytesSent", "bytesReceived", "packetsSent", "packetsReceived",
  ];
  const CANDIDATE = ["candidateType", "protocol", "relayProtocol", "address", "port", "url"];

  const lab = { samples: [], errors: 0, lastError: null };
  window.__netlab = lab;
  lab.take = () => lab.samples.splice(0);

  const pcIds = new WeakMap();
  let nextPc = 1;
  const pick = (s, keys) => {
    const o = {};
    for (const k of keys) if (s[k] !== undefined) o[k] = s[k];
    return o;
  };

  // A video tile the page shows as paused ("image suspendue : débit insuffisant"):
  // marked with the class "paused", or data-paused="true", or data-state="paused".
  function tiles() {
    const out = {};
    for (const fig of document.querySelectorAll("figure.tile[data-slot]")) {
      const d = fig.dataset;
      out[d.slot] = { paused: fig.classList.contains("paused") || d.paused === "true" || d.state === "paused" };
    }
    return out;
  }

  async function sample() {
    const client = window.seance;
    const pc = client && client.pc;
    const body = document.body ? document.body.dataset : {};
    const out = {
      t: Date.now(), pc: null, state: null, in: [], out: [], rin: [], pair: null, local: null, slots: {},
      page: { transmitting: body.transmitting ?? null, audioOnly: body.audioOnly ?? null, muted: body.muted ?? null },
      tiles: tiles(),
    };
    if (!pc) { lab.samples.push(out); return; }
    if (!pcIds.has(pc)) pcIds.set(pc, nextPc++);
    out.pc = pcIds.get(pc);
    out.state = pc.connectionState;
    out.slots = { ...(client.assignments || {}) };
    const mids = pc.getTransceivers().map((t) => t.mid);
    const layout = client.layout || [];
    const report = await pc.getStats();
    let selected = null;
    report.forEach((s) => { if (s.type === "transport" && s.selectedCandidatePairId) selected = s.selectedCandidatePairId; });
    report.forEach((s) => {
      if (s.type === "inbound-rtp") {
        const e = pick(s, INBOUND);
        const entry = layout[mids.indexOf(s.mid)];
        e.slot = entry ? entry.slot : null;
        out.in.push(e);
      } else if (s.type === "outbound-rtp") {
        out.out.push(pick(s, OUTBOUND));
      } else if (s.type === "remote-inbound-rtp") {
        out.rin.push(pick(s, REMOTE_INBOUND));
      } else if (s.type === "candidate-pair" && s.id === selected) {
        out.pair = pick(s, PAIR);
        const local = report.get(s.localCandidateId);
        if (local) out.local = pick(local, CANDIDATE);
      }
    });
    lab.samples.push(out);
    if (lab.samples.length > MAX_SAMPLES) lab.samples.shift();
  }

  let busy = false;
  setInterval(async () => {
    if (busy) return;
    busy = true;
    try { await sample(); } catch (err) { lab.errors += 1; lab.lastError = String(err); } finally { busy = false; }
  }, SAMPLE_MS);
})();
