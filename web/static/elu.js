// Séance — the councillor's screen (/elu, phone or tablet, no media): the floor, the
// ballots for self and for the one proxy held (R13, R16), the secret-ballot request (R15),
// the current item. Controls exist only while the councillor is checked in (R16).
import {
  $, Feedback, ITEM_STATUS, METHOD_LABEL, SITTING_STATUS, SittingClient, ballotChoices, currentItem,
  agree, fmtTime, h, memberName, patch, proclaimed, resultBlock, rollCallRows, run, secretThreshold, setBadge, de, since,
  tickElapsed,
} from "./sitting.js";

const me = document.body.dataset.member;
const feedback = new Feedback($("alert"), $("notice"));
const chosen = new Map();   // "item/subject/behalf" -> the choice made on this device (the view hides choices until proclaimed)
const changing = new Set(); // the ballots whose choice the councillor is changing (R13: until the vote closes)
let view = null;

const client = new SittingClient({
  sitting: document.body.dataset.sitting,
  onStatus: (text, state) => setBadge($("badge-connection"), text, state),
  onView: (v) => { view = v; render(); },
  onError: (msg) => feedback.refused(msg),
});
window.seanceSitting = client;

const cmd = (command, doneText, button) => run(client, feedback, command, doneText, button);

function self() { return view.members.find((m) => m.id === me) || null; }
function isPresent() { const m = self(); return !!(m && m.present); }

function renderPresence() {
  const m = self();
  if (m) $("me-name").textContent = m.name;
  const line = $("presence");
  if (!m) { line.textContent = "Votre compte n'est rattaché à aucun membre du conseil."; line.className = "presence-line absent"; return; }
  if (m.present) {
    const salle = view.salles.find((s) => s.id === m.salle);
    const since = salle?.present.find((p) => p.id === me)?.since;
    line.textContent = `Vous êtes ${agree(m, "enregistré")} ${agree(m, "présent")}${since ? ` depuis ${fmtTime(since)}` : ""}.`;
    $("presence-salle").textContent = `Salle : ${salle ? salle.name : m.salle}`;
    line.className = "presence-line present";
  } else {
    line.textContent = m.proxy_to
      ? `Vous n'êtes pas ${agree(m, "enregistré")} ${agree(m, "présent")} (pouvoir donné à ${memberName(view, m.proxy_to)}). Adressez-vous à l'agent de la salle pour voter.`
      : `Vous n'êtes pas ${agree(m, "enregistré")} ${agree(m, "présent")}. Adressez-vous à l'agent de la salle : vous pourrez ensuite voter et demander la parole.`;
    line.className = "presence-line absent";
    $("presence-salle").textContent = "";
  }
  const [text] = SITTING_STATUS[view.status] || [view.status];
  const bits = [text];
  if (m.proxy_from) bits.push(`vous détenez le pouvoir ${de(memberName(view, m.proxy_from))}`);
  if (view.secretary?.id === me) bits.push("vous êtes secrétaire de séance");
  $("sitting-line").textContent = bits.join(" · ");
  renderProxyEnded(m);
}

/** R9: the proxy this councillor held ended (its giver arrived, or it was revoked): say it, and what it changes. */
function renderProxyEnded(m) {
  const note = $("proxy-ended");
  const ended = (view.proxies_ended || []).filter((p) => p.holder === me);
  const last = ended.at(-1);
  if (!last || m.proxy_from) { note.hidden = true; return; }
  const giver = view.members.find((x) => x.id === last.giver);
  const why = last.reason === "giver_arrived"
    ? `${giver?.civility === "Mme" ? "elle" : (giver?.civility === "M." ? "il" : "elle ou il")} est ${agree(giver, "arrivé")} en séance`
    : "il a été révoqué";
  note.textContent = `Le pouvoir ${de(last.giver_name)} a pris fin à ${fmtTime(last.at)} : ${why}. `
    + "Vous ne votez plus qu'en votre nom.";
  note.hidden = false;
}

function ballot(slot, vote) {
  const behalf = slot.on_behalf_of;
  // one vote of the item: its motion, an amendment, or a round (several are held on one item, R24, R25)
  const voteKey = [vote.item_id, vote.subject, vote.amendment_id, vote.seat, vote.round].filter(Boolean).join("-");
  const key = `${voteKey}/${behalf || "self"}`;
  const title = behalf ? `Au nom ${de(slot.on_behalf_of_name || memberName(view, behalf))} (pouvoir)` : "En votre nom";
  const box = h("div", { class: `ballot ${behalf ? "proxy" : "own"}`, role: "group", "aria-label": title, dataset: { ballot: behalf || "self" } },
    h("p", { class: "ballot-title" }, title));
  const c = chosen.get(key);
  const change = slot.cast && changing.has(key) && vote.changeable && !vote.frozen;
  if (slot.cast && !change) {
    box.append(h("p", { class: "cast" }, c ? `Vote enregistré : ${c.toLowerCase()}.` : "Vote enregistré."));
    if (vote.changeable && !vote.frozen) {
      box.append(h("p", { class: "muted small-text" }, "Vous pouvez modifier ce vote jusqu'à sa clôture : seul le dernier choix compte."),
        h("button", { type: "button", class: "small", dataset: { key: `${key}-change` },
          onclick: () => {
            changing.add(key);
            render();
            document.querySelector(`#ballots [data-ballot="${CSS.escape(behalf || "self")}"] button.choice`)?.focus();
          } },
        "Modifier mon vote"));
    }
    return box;
  }
  if (vote.frozen) {
    box.append(h("p", { class: "muted" }, "Vote gelé : une salle a perdu la transmission (R17). Patientez."));
    return box;
  }
  if (change) {
    box.append(h("p", {}, c ? `Vote actuel : ${c.toLowerCase()}. Choisissez votre nouveau vote.` : "Choisissez votre nouveau vote."));
  }
  const row = h("div", { class: "choices" });
  for (const c of ballotChoices(vote)) {
    const current = change && chosen.get(key) === c.label;
    row.append(h("button", { type: "button", class: `choice ${c.choice}`, dataset: { key: `${key}-${c.key}`, choice: c.choice },
      "aria-pressed": change ? (current ? "true" : "false") : null,
      onclick: async (ev) => {
        const r = await cmd({ type: "CastBallot", item_id: vote.item_id, voter_id: me, ...c.fields, on_behalf_of: behalf || null },
          `${title} : ${c.label.toLowerCase()} — ${change ? "vote modifié" : "vote enregistré"}.`, ev.currentTarget);
        if (r.ok) { chosen.set(key, c.label); changing.delete(key); render(); focusNextBallot(); }
      } }, c.label));
  }
  box.append(row);
  if (change) {
    box.append(h("button", { type: "button", class: "small", dataset: { key: `${key}-keep` },
      onclick: () => { changing.delete(key); render(); } }, "Garder mon vote"));
  }
  return box;
}

/** After a ballot is cast its buttons are gone: keyboard focus goes to the next ballot
 * still to cast (the group, not a choice: no second vote by a repeated key press), else to
 * the card's heading. */
function focusNextBallot() {
  const active = document.activeElement;
  if (active && active !== document.body && active.isConnected) return;
  const next = [...document.querySelectorAll("#ballots .ballot")].find((b) => b.querySelector("button.choice"));
  const target = next || $("ballot-h");
  target.tabIndex = -1;
  target.focus();
}

function renderBallots() {
  const vote = view.vote;
  const card = $("ballot-card");
  if (!vote || !isPresent()) { card.hidden = true; return; }
  card.hidden = false;
  const item = view.agenda.find((i) => i.id === vote.item_id);
  const subject = vote.subject === "motion" ? "" : ` — ${vote.subject_label}`;
  $("ballot-item").textContent = `${item ? item.title : vote.item_id}${subject} — ${METHOD_LABEL[vote.method] || vote.method}.`;
  const mine = vote.electorate.filter((s) => s.voter === me);
  if (vote.method === "appel_nominal") {
    const done = mine.every((s) => s.cast);
    patch($("ballots"), h("p", {}, done ? "Vos réponses sont enregistrées."
      : "Vote par appel nominal : répondez à l'appel de votre nom ; l'agent de la salle ou le secrétaire enregistre votre réponse."));
    return;
  }
  if (!mine.length) {
    patch($("ballots"), h("p", { class: "muted" }, "Vous ne faites pas partie des votants de ce scrutin (liste arrêtée à son ouverture, R16)."));
    return;
  }
  const box = $("ballots");
  const hadFocus = box.contains(document.activeElement);
  patch(box, mine.map((s) => ballot(s, vote)));
  if (hadFocus && !box.contains(document.activeElement)) focusNextBallot();
}

function renderRollCall() {
  const vote = view.vote;
  const card = $("rollcall-card");
  if (!vote || vote.method !== "appel_nominal" || view.secretary?.id !== me || !isPresent()) { card.hidden = true; return; }
  card.hidden = false;
  patch($("rollcall"), rollCallRows(vote, vote.electorate, "rc-", cmd));
}

/** The item whose secret-ballot request waits for its confirmation (R15), or null. */
let secretConfirming = null;

function renderItem() {
  const item = currentItem(view) || (view.vote ? view.agenda.find((i) => i.id === view.vote.item_id) : null);
  const p = $("item");
  if (!item) {
    p.textContent = view.status === "closed" ? "La séance est close." : "Aucun point n'est en discussion.";
    p.className = "muted";
    patch($("secret"));
    return;
  }
  p.className = "";
  patch(p, h("strong", {}, item.title), ` — ${ITEM_STATUS[item.status] || item.status}`);
  const votable = item.kind !== "information" && (item.status === "pending" || item.status === "voting" || item.status === "current");
  const children = [];
  const requests = item.secret_requests || [];
  if (requests.length && item.status !== "postponed") {
    children.push(h("p", { class: "muted small-text" },
      `Scrutin secret demandé par ${requests.length} membre${requests.length > 1 ? "s" : ""} ; il faut le tiers des présents (${secretThreshold(view)}).`));
  }
  if (item.status === "postponed") {
    children.push(h("p", { class: "postponed-note" }, "Point reporté à une séance en présentiel : le scrutin secret a été demandé par au moins un tiers des présents (R15)."));
  } else if (votable && isPresent() && view.status === "opened") {
    if (requests.includes(me)) {
      // R15: withdrawn until one third have asked (then the item is postponed and this is not shown)
      children.push(h("p", { class: "cast" }, "Votre demande de scrutin secret est enregistrée. Vous pouvez la retirer tant que le tiers des présents n'est pas atteint."),
        h("button", { type: "button", class: "small", id: "secret-withdraw-btn", dataset: { key: "secret-withdraw" },
          onclick: (ev) => cmd({ type: "WithdrawSecretBallotRequest", item_id: item.id, member_id: me },
            "Demande de scrutin secret retirée.", ev.currentTarget) }, "Retirer ma demande de scrutin secret"));
    }
    else if (secretConfirming === item.id) {
      // what the request does: a second, explicit step says so before it is sent
      children.push(h("div", { class: "confirm", role: "group", "aria-labelledby": "secret-confirm-text" },
        h("p", { id: "secret-confirm-text" }, h("strong", {}, "Confirmez-vous votre demande de scrutin secret ? "),
          `Si un tiers des présents (${secretThreshold(view)}) la fait, le point n'est pas voté aujourd'hui : il est reporté `
          + "à une séance en présentiel. Vous pourrez la retirer tant que ce tiers n'est pas atteint, plus ensuite."),
        h("button", { type: "button", class: "secondary", id: "secret-confirm-btn", dataset: { key: "secret-confirm" },
          onclick: (ev) => cmd({ type: "RequestSecretBallot", item_id: item.id, member_id: me },
            "Demande de scrutin secret enregistrée.", ev.currentTarget).then(() => { secretConfirming = null; render(); }) },
        "Oui, demander le scrutin secret"), " ",
        h("button", { type: "button", class: "small", id: "secret-cancel-btn", dataset: { key: "secret-cancel" },
          onclick: () => { secretConfirming = null; render(); $("secret-btn")?.focus(); } }, "Annuler")));
    } else {
      children.push(h("button", { type: "button", class: "secondary", id: "secret-btn", dataset: { key: "secret" },
        "aria-describedby": "secret-help",
        onclick: () => { secretConfirming = item.id; render(); $("secret-confirm-btn")?.focus(); } }, "Demander le scrutin secret…"),
      h("p", { class: "muted small-text", id: "secret-help" },
        `Une séance en visioconférence ne peut pas voter à bulletin secret : si un tiers des présents (${secretThreshold(view)}) le demande, `
        + "le point n'est pas voté aujourd'hui et il est reporté à une séance en présentiel (art. L.2121-21 et R.5211-2-2 du CGCT). "
        + "Une demande peut être retirée tant que ce tiers n'est pas atteint."));
    }
  }
  patch($("secret"), children);
}

function renderFloor() {
  const f = view.floor || { speaker: null, queue: [] };
  const btn = $("floor-btn");
  const state = $("floor-state");
  if (!isPresent() || view.status !== "opened") {
    btn.hidden = true;
    state.textContent = f.speaker ? `À la parole : ${f.speaker.name}.` : "";
    return;
  }
  btn.hidden = false;
  const position = f.queue.findIndex((q) => q.id === me);
  if (f.speaker?.id === me) {
    patch(state, "Vous avez la parole depuis ", since(f.speaker.since), ".");
    btn.textContent = "Terminer mon intervention";
    btn.dataset.action = "end";
  } else if (position >= 0) {
    state.textContent = `Votre demande est enregistrée : ${position === 0 ? "vous êtes le prochain" : `${position + 1}e dans la file`}.`
      + (f.speaker ? ` À la parole : ${f.speaker.name}.` : "");
    btn.textContent = "Retirer ma demande de parole";
    btn.dataset.action = "withdraw";
  } else {
    state.textContent = f.speaker ? `À la parole : ${f.speaker.name}.` : "Personne n'a la parole.";
    btn.textContent = "Demander la parole";
    btn.dataset.action = "request";
  }
}
$("floor-btn").addEventListener("click", (ev) => {
  if (ev.currentTarget.dataset.action === "end") {
    cmd({ type: "EndFloor" }, "Intervention terminée.", ev.currentTarget);
  } else if (ev.currentTarget.dataset.action === "withdraw") {
    cmd({ type: "WithdrawFloorRequest", member_id: me }, "Demande de parole retirée.", ev.currentTarget);
  } else {
    cmd({ type: "RequestFloor", member_id: me }, "Demande de parole enregistrée.", ev.currentTarget);
  }
});

function renderLastResult() {
  const done = proclaimed(view);
  const card = $("last-result-card");
  if (!done.length) { card.hidden = true; return; }
  card.hidden = false;
  patch($("last-result"), resultBlock(done[done.length - 1], { headingLevel: "h3" }));
}

function render() {
  document.body.dataset.status = view.status;
  document.body.dataset.present = isPresent() ? "yes" : "no";
  renderPresence();
  renderBallots();
  renderRollCall();
  renderItem();
  renderFloor();
  renderLastResult();
}

client.start();
tickElapsed();
