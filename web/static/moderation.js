// Séance — moderation page: mute/unmute salles (moderator, president), pin (president),
// and the queue of requests for the floor (GrantFloor / EndFloor / WithdrawFloorRequest).
// Authenticated by the session cookie: `hello` carries no token.
import { $, Feedback, SittingClient, fmtTime, h, patch, run, setBadge } from "./sitting.js";

const feedback = new Feedback($("alert"), $("notice"));
let allowed = [];
let view = null;

const client = new SittingClient({
  sitting: document.body.dataset.sitting,
  onStatus: (text, state) => setBadge($("badge-connection"), text, state),
  onWelcome: (msg) => { allowed = msg.allowed || []; },
  onState: (state) => renderSalles(state),
  onView: (v) => { view = v; renderFloor(); },
  onError: (msg) => feedback.refused(msg),
});
window.seanceSitting = client;

/** ``name``: the accessible name when the label alone is ambiguous out of its row (it starts with the label). */
function button(label, onClick, cls = "", key = null, name = null) {
  return h("button", { type: "button", class: `small ${cls}`, onclick: onClick, dataset: key ? { key } : null, "aria-label": name }, label);
}

function renderSalles(state) {
  const rows = state.salles.map((s) => {
    const health = h("span", { class: "badge", dataset: { state: s.transmitting ? "ok" : (s.connected ? "warning" : "lost") } },
      s.transmitting ? "établie" : (s.connected ? "connexion en cours" : "hors ligne"));
    const mic = allowed.includes("mute")
      ? button(s.muted ? "Rétablir le micro" : "Couper le micro", () => client.send({ type: "mute", salle: s.id, muted: !s.muted }),
        s.muted ? "" : "danger", `mute-${s.id}`, `${s.muted ? "Rétablir le micro" : "Couper le micro"} : ${s.name}`)
      : (s.muted ? "coupé" : "ouvert");
    const pinned = state.pinned === s.id;
    const prog = allowed.includes("pin")
      ? button(pinned ? "Suivre l'orateur" : "Mettre à l'image", () => client.send({ type: "pin", salle: pinned ? null : s.id }), "", `pin-${s.id}`, `${pinned ? "Suivre l'orateur" : "Mettre à l'image"} : ${s.name}`)
      : (pinned ? "à l'image" : "—");
    return h("tr", { dataset: { salle: s.id } },
      h("th", { scope: "row" }, s.name, s.audio_only ? h("span", { class: "tag" }, " audio seul") : null),
      h("td", {}, health), h("td", {}, mic), h("td", {}, prog));
  });
  patch(document.querySelector("#moderation tbody"), rows);
}

const cmd = (command, doneText, btn) => run(client, feedback, command, doneText, btn);

function renderFloor() {
  const f = view.floor || { speaker: null, queue: [] };
  const children = [];
  if (f.speaker) {
    children.push(h("p", { class: "speaker" }, "À la parole : ", h("strong", {}, f.speaker.name), " ",
      button("Fin de l'intervention", (ev) => cmd({ type: "EndFloor" }, "Intervention terminée.", ev.currentTarget), "", "end-floor")));
  } else children.push(h("p", { class: "muted" }, "Personne n'a la parole."));
  if (f.queue.length) {
    const ol = h("ol", { class: "queue", "aria-label": "Demandes de parole" });
    for (const q of f.queue) {
      ol.append(h("li", { dataset: { member: q.id } }, h("span", {}, q.name), h("span", { class: "muted" }, ` depuis ${fmtTime(q.since)} `),
        button("Donner la parole", (ev) => cmd({ type: "GrantFloor", member_id: q.id }, `Parole donnée à ${q.name}.`, ev.currentTarget), "", `grant-${q.id}`, `Donner la parole à ${q.name}`),
        " ",
        button("Retirer la demande", (ev) => cmd({ type: "WithdrawFloorRequest", member_id: q.id }, `Demande de ${q.name} retirée.`, ev.currentTarget), "", `drop-${q.id}`, `Retirer la demande de ${q.name}`)));
    }
    children.push(ol);
  } else children.push(h("p", { class: "muted" }, "Aucune demande de parole."));
  patch($("floor"), children);
}

client.start();
