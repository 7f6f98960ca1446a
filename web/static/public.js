// Séance — public page (/public/<seance>): receive-only programme video and voices (R2),
// the current item, the nominative result of each vote once proclaimed (R13), and a
// notice while a passage is sensitive (R19) or the sitting suspended (R17), and the annex the
// chair shows (issue 15 point 8), drawn from its PDF beside the picture, which then shrinks.
// Full-screen in each salle, embeddable in the council's website.
import { SeanceClient, SlotView } from "./rtc.js";
import { ITEM_STATUS, SITTING_STATUS, currentItem, h, patch, proclaimed, resultBlock, setBadge } from "./sitting.js";
import { DocumentView, presentedUrl } from "./document.js";

const $ = (id) => document.getElementById(id);

/** The media client, also fed the `sitting` view pushed on the same socket. */
class PublicClient extends SeanceClient {
  async onMessage(msg) {
    if (msg.type === "sitting") { this.opts.onSitting?.(msg.view); return; }
    return super.onMessage(msg);
  }
}

const documentView = new DocumentView($("document"));

function renderSitting(view) {
  document.body.dataset.status = view.status;
  // the document shown, while the public stream carries the sitting (R2; not in a sensitive passage, R19)
  const shown = view.status === "opened" && !view.sensitive ? view.presentation : null;
  document.body.dataset.presenting = shown ? "yes" : "no";
  documentView.update(shown, shown ? presentedUrl(document.body.dataset.sitting, shown) : null);
  document.body.dataset.sensitive = view.sensitive ? "yes" : "no";
  const [text, state] = SITTING_STATUS[view.status] || [view.status, "waiting"];
  setBadge($("badge-sitting"), text, state);

  // R19: the server must carry silence; the display also mutes its own voices meanwhile.
  for (const audio of document.querySelectorAll("#voices audio")) audio.muted = !!view.sensitive;

  // R2, R11: the server forwards nothing from the salles to the public unless the sitting
  // is open; the page shows a card instead of the (empty) picture meanwhile.
  const live = view.status === "opened";
  $("live-badge").hidden = !live;
  const notice = $("public-notice");
  let message = null;
  if (view.status === "suspended") message = ["Séance suspendue", "La diffusion reprendra à la reprise de la séance."];
  else if (view.sensitive) message = ["Passage non diffusé", "Les débats portent sur des personnes ou des données protégées : ni image ni son ne sont diffusés pendant ce passage."];
  else if (view.status === "closed") message = ["Séance close", "La diffusion est terminée. Merci de votre attention."];
  else if (!live) message = ["La séance n'est pas encore ouverte", `${view.title} — la diffusion commencera à l'ouverture de la séance.`];
  notice.hidden = !message;
  document.body.classList.toggle("veiled", !!message);
  if (message) patch(notice, h("strong", {}, message[0]), h("span", {}, message[1]));

  const item = currentItem(view) || (view.vote ? view.agenda.find((i) => i.id === view.vote.item_id) : null);
  $("public-item").textContent = item ? `${item.title} (${ITEM_STATUS[item.status] || item.status})` : "—";
  const vote = $("public-vote");
  if (view.vote) {
    vote.hidden = false;
    vote.textContent = view.vote.frozen
      ? "Vote suspendu : une salle a perdu la transmission."
      : `Vote en cours : ${view.vote.cast_count} vote${view.vote.cast_count > 1 ? "s" : ""} enregistré${view.vote.cast_count > 1 ? "s" : ""} sur ${view.vote.electorate_count}.`;
  } else vote.hidden = true;
  const speaker = $("public-speaker");
  speaker.hidden = !view.floor?.speaker;
  if (view.floor?.speaker) speaker.textContent = `À la parole : ${view.floor.speaker.name}`;

  const done = proclaimed(view);
  const postponed = view.agenda.filter((i) => i.status === "postponed");
  const blocks = done.slice().reverse().map((i) => resultBlock(i, { headingLevel: "h3" }));
  for (const i of postponed) {
    blocks.push(h("article", { class: "result postponed", dataset: { item: i.id } },
      h("h3", { class: "result-title" }, i.title),
      h("p", { class: "verdict" }, h("strong", {}, "Reporté"), " — scrutin secret demandé : le point sera examiné en séance en présentiel.")));
  }
  if (blocks.length) patch($("public-results"), blocks);
  renderSeal(view.journal?.signed_head);
}

// The last signed head of the journal (R21): anyone may keep it as a witness, and an
// auditor checks a journal against it (`seance audit verify --head`).
function renderSeal(head) {
  if (!head) return;
  $("public-seal-seq").textContent = String(head.seq);
  $("public-seal-hash").textContent = head.hash.slice(0, 16) + "…";
  $("public-seal-json").textContent = JSON.stringify(head);
}

function main() {
  const view = new SlotView($("slots"), $("voices"), $("slots-placeholder"));
  const play = $("play");
  play.addEventListener("click", async () => { if (await view.play()) play.hidden = true; });
  const client = new PublicClient({
    sitting: document.body.dataset.sitting,
    token: null,
    as: "viewer",
    localStream: null,
    onStatus: (text, state) => { const b = $("badge-connection"); b.textContent = text; b.dataset.state = state; },
    onSlots: (layout, assignments, names) => view.setLayout(layout, assignments, names),
    onTrack: async (index, entry, track, stream) => {
      view.attach(index, entry, track, stream);
      // Browsers block sound until the visitor interacts: offer a button then.
      if (!(await view.play())) play.hidden = false;
    },
    onSitting: renderSitting,
  });
  window.seance = client;
  client.start();
}

main();
