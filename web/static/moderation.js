// Séance — moderation page: mute/unmute salles (moderator, president), pin (president).
// Authenticated by the session cookie: `hello` carries no token.
const $ = (id) => document.getElementById(id);
let ws = null, allowed = [], nextId = 1, attempt = 0;

function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ ...msg, id: String(nextId++) }));
}

function button(label, onClick, cls = "") {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = label; b.className = "small " + cls;
  b.addEventListener("click", onClick);
  return b;
}

function render(state) {
  const tbody = document.querySelector("#moderation tbody");
  tbody.replaceChildren();
  for (const s of state.salles) {
    const tr = document.createElement("tr");
    tr.dataset.salle = s.id;
    const name = document.createElement("td"); name.textContent = s.name;
    const health = document.createElement("td");
    const badge = document.createElement("span"); badge.className = "badge";
    badge.dataset.state = s.transmitting ? "ok" : (s.connected ? "warning" : "lost");
    badge.textContent = s.transmitting ? "établie" : (s.connected ? "connexion en cours" : "hors ligne");
    health.append(badge);
    const mic = document.createElement("td");
    if (allowed.includes("mute")) {
      mic.append(button(s.muted ? "Rétablir le micro" : "Couper le micro",
        () => send({ type: "mute", salle: s.id, muted: !s.muted }), s.muted ? "" : "danger"));
    } else mic.textContent = s.muted ? "coupé" : "ouvert";
    const prog = document.createElement("td");
    if (allowed.includes("pin")) {
      const pinned = state.pinned === s.id;
      prog.append(button(pinned ? "Suivre l'orateur" : "Mettre à l'image",
        () => send({ type: "pin", salle: pinned ? null : s.id })));
    } else prog.textContent = state.pinned === s.id ? "à l'image" : "—";
    tr.append(name, health, mic, prog);
    tbody.append(tr);
  }
}

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(`${proto}//${location.host}/ws`);
  const b = $("badge-connection");
  ws.onopen = () => send({ type: "hello", sitting: document.body.dataset.sitting });
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type === "welcome") { allowed = msg.allowed; attempt = 0; b.textContent = "Connecté"; b.dataset.state = "ok"; }
    else if (msg.type === "state") render(msg);
    else if (msg.type === "error") $("notice").textContent = msg.message;
  };
  ws.onclose = () => {
    b.textContent = "Connexion perdue — nouvelle tentative…"; b.dataset.state = "lost";
    setTimeout(connect, Math.min(8000, 500 * 2 ** attempt++));
  };
}

connect();
