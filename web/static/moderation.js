// Séance — moderation page: the mosaic of the salles (every salle's picture, who speaks,
// mute/unmute on each tile; pin for the president), and the queue of requests for the
// floor (GrantFloor / EndFloor / WithdrawFloorRequest).
// Authenticated by the session cookie: `hello` carries no token.
import { $, Feedback, SittingClient, fmtTime, h, patch, run, setBadge, de, speakerLine, tickElapsed } from "./sitting.js";
import { Mosaic } from "./mosaic.js";
import { PresentationControl } from "./presenting.js";

const feedback = new Feedback($("alert"), $("notice"));
let view = null;

const client = new SittingClient({
  sitting: document.body.dataset.sitting,
  onStatus: (text, state) => setBadge($("badge-connection"), text, state),
  onView: (v) => { view = v; renderFloor(); presenting.render(v); },
  onError: (msg) => feedback.refused(msg),
});
window.seanceSitting = client;

/** ``name``: the accessible name when the label alone is ambiguous out of its row (it starts with the label). */
function button(label, onClick, cls = "", key = null, name = null) {
  return h("button", { type: "button", class: `small ${cls}`, onclick: onClick, dataset: key ? { key } : null, "aria-label": name }, label);
}

const mosaic = new Mosaic($("moderation"), {
  sitting: document.body.dataset.sitting,
  heading: "h2",  // under the page's h1
  onError: (msg) => feedback.refused(msg),
});

const cmd = (command, doneText, btn) => run(client, feedback, command, doneText, btn);

// the document on screen (issue 15 point 8)
const presenting = new PresentationControl($("presenting"), {
  client, feedback, sitting: document.body.dataset.sitting, annexes: JSON.parse($("presenting").dataset.annexes || "{}"),
});

function renderFloor() {
  const f = view.floor || { speaker: null, queue: [] };
  const children = [];
  if (f.speaker) {
    children.push(speakerLine(f.speaker),
      button("Fin de l'intervention", (ev) => cmd({ type: "EndFloor" }, "Intervention terminée.", ev.currentTarget), "", "end-floor"));
  } else children.push(h("p", { class: "muted" }, "Personne n'a la parole."));
  if (f.queue.length) {
    const ol = h("ol", { class: "queue", "aria-label": "Demandes de parole" });
    for (const q of f.queue) {
      ol.append(h("li", { dataset: { member: q.id, salle: q.salle || "" } }, h("span", {}, q.name),
        q.salle_name ? h("span", { class: "queue-salle" }, ` — ${q.salle_name}`) : "",
        h("span", { class: "muted" }, ` depuis ${fmtTime(q.since)} `),
        button("Donner la parole", (ev) => cmd({ type: "GrantFloor", member_id: q.id }, `Parole donnée à ${q.name}.`, ev.currentTarget), "", `grant-${q.id}`, `Donner la parole à ${q.name}`),
        " ",
        button("Retirer la demande", (ev) => cmd({ type: "WithdrawFloorRequest", member_id: q.id }, `Demande ${de(q.name)} retirée.`, ev.currentTarget), "", `drop-${q.id}`, `Retirer la demande ${de(q.name)}`)));
    }
    children.push(ol);
  } else children.push(h("p", { class: "muted" }, "Aucune demande de parole."));
  patch($("floor"), children);
}

client.start();
mosaic.start();
tickElapsed();
