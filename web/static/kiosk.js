// Séance — kiosk page of a salle (/salle/<id>): publishes the salle's camera and room
// microphone, shows and plays the slots it receives, in French.
import { SeanceClient, SlotView } from "./rtc.js";

const body = document.body;
const $ = (id) => document.getElementById(id);

function badge(id, text, state) {
  const el = $(id);
  el.textContent = text;
  el.dataset.state = state;
}

function renderRoster(state, mySalle) {
  const ul = $("roster");
  ul.replaceChildren();
  for (const s of state.salles) {
    const li = document.createElement("li");
    li.dataset.salle = s.id;
    li.dataset.transmitting = String(s.transmitting);
    const dot = document.createElement("span");
    dot.className = "dot";
    dot.dataset.state = s.transmitting ? "ok" : (s.connected ? "warning" : "lost");
    const name = document.createElement("span");
    name.className = "name";
    const seat = s.id === state.president_salle && !s.name.includes("siège") ? " (siège)" : "";
    name.textContent = s.name + seat;
    if (s.id === mySalle) {
      const me = document.createElement("span");
      me.className = "tag";
      me.textContent = "cette salle";
      name.append(" ", me);
    }
    const info = document.createElement("span");
    info.className = "info";
    const bits = [s.transmitting ? "transmission établie" : (s.connected ? "connexion en cours" : "hors ligne")];
    if (s.muted) bits.push("micro coupé");
    if (s.audio_only) bits.push("audio seul");
    info.textContent = bits.join(" · ");
    li.append(dot, name, info);
    ul.append(li);
  }
}

async function getLocalMedia() {
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 25 } },
    });
  } catch (err) {
    try {
      $("notice").textContent = "Caméra indisponible : la salle participe en audio seul.";
      return await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      $("notice").textContent = "Ni caméra ni micro disponibles : vérifiez les branchements et les autorisations du navigateur.";
      return null;
    }
  }
}

async function main() {
  const salle = body.dataset.salle;
  const local = await getLocalMedia();
  if (local) $("local-video").srcObject = local;
  const view = new SlotView($("slots"), $("voices"), $("slots-placeholder"));
  let lastState = null;

  const client = new SeanceClient({
    sitting: body.dataset.sitting,
    token: body.dataset.token,
    as: "salle",
    deflate: false,   // small messages, all sitting long: no deflate context on the server
    localStream: local,
    onStatus: (text, state) => badge("badge-connection", text, state),
    onSlots: (layout, assignments, names) => view.setLayout(layout, assignments, names),
    onTrack: (index, entry, track, stream) => { view.attach(index, entry, track, stream); view.play(); },
    onState: (state) => {
      lastState = state;
      renderRoster(state, salle);
      const me = state.salles.find((s) => s.id === salle);
      if (me) {
        badge("badge-mute", me.muted ? "Micro coupé par la modération" : "Micro ouvert", me.muted ? "muted" : "ok");
        badge("badge-health", me.transmitting ? "Transmission établie" : "Transmission : en attente",
              me.transmitting ? "ok" : "waiting");
        client.setSendingVideo(!me.audio_only);   // R3: the camera stops at the source
        body.dataset.audioOnly = String(me.audio_only);
        body.dataset.muted = String(me.muted);
        body.dataset.transmitting = String(me.transmitting);
      }
      if (client.names) view.label(client.assignments, client.names);
    },
    onHealth: () => {},
    onError: (msg) => {
      $("notice").textContent = msg.message;
      if (msg.code === "replaced") badge("badge-connection", "Page inactive", "lost");
    },
  });
  window.seance = client;   // for the operator's console and the browser tests
  client.start();
}

main();
