// Séance — the president's screen (/president): opening checklist (R7, R8, R10, R2),
// agenda, votes (R13, R14, R16, R17), amendments voted before their motion and items
// withdrawn (R25), nominations with candidates and rounds (R24), the floor, pinning a
// salle, sensitive passages (R19), suspension (R17), the lack of quorum (R8) and closing
// (R11). Every command is checked again by the server; a refusal is shown with its rule.
import {
  $, AMENDMENT_STATUS, Feedback, ITEM_STATUS, METHOD_LABEL, SITTING_STATUS, SittingClient, ballotChoices, ballotWho, currentItem, fmtTime,
  h, memberName, patch, proclaimed, resultBlock, run, secretThreshold, setBadge, de, speakerLine, tickElapsed, plainMessage,
  ruleRef,
} from "./sitting.js";
import { Mosaic } from "./mosaic.js";
import { PresentationControl } from "./presenting.js";

const me = document.body.dataset.member;
const feedback = new Feedback($("alert"), $("notice"));
let view = null;
let methodChoice = "electronique";

const client = new SittingClient({
  sitting: document.body.dataset.sitting,
  onStatus: (text, state) => setBadge($("badge-connection"), text, state),
  onView: (v) => { view = v; render(); },
  onError: (msg) => feedback.refused(msg),
});
window.seanceSitting = client;

/** Commands that change the sitting's status: their own confirmation must outlive the change. */
const STATUS_COMMANDS = new Set(["OpenSitting", "Suspend", "Resume", "CloseSitting", "RecordQuorumFailure"]);
/** This page asked for the next status change (its confirmation stays; any other change clears it). */
let ownStatusChange = false;

function cmd(command, doneText, button) {
  if (STATUS_COMMANDS.has(command.type)) ownStatusChange = true;
  return run(client, feedback, command, doneText, button).then((r) => {
    if (!r.ok && STATUS_COMMANDS.has(command.type)) ownStatusChange = false;
    return r;
  });
}

/** The button just pressed goes away with the step it ends: put keyboard focus on the
 * heading of where the next step is (announced by screen readers, Tab continues there). */
function focusHeading(id) {
  const el = $(id);
  if (!el) return;
  el.tabIndex = -1;
  el.focus();
}

// ------------------------------------------------------------------ opening (R7, R8, R10, R2)

/** A condition of the opening: the words first, the rule it checks after, as a detail. */
function check(ok, rule, text, key) {
  return h("li", { class: ok ? "ok" : "ko", dataset: { rule, key } },
    h("span", { class: "mark", "aria-hidden": "true" }, ok ? "✓" : "✗"),
    h("span", { class: "sr-only" }, ok ? "Condition remplie : " : "Condition non remplie : "),
    h("span", { class: "check-text" }, text), " ", h("span", { class: "rule" }, `règle ${rule}`));
}

/** The status last rendered: a change clears the confirmation of the step before. */
let lastStatus = null;

function renderOpening() {
  const v = view;
  const card = $("opening-card");
  const convened = v.status === "convened";
  const q = v.quorum;
  const items = [];
  items.push(check(q.reached, "R8",
    `Quorum : ${q.present} présent${q.present > 1 ? "s" : ""} sur ${q.in_office} membres en exercice, ${q.required} requis`
    + (q.waived ? " (séance sans condition de quorum après nouvelle convocation)" : "")
    + (q.reached ? " — atteint." : " — non atteint."), "quorum"));
  const occupied = v.salles.filter((s) => s.present.length);
  if (!occupied.length) {
    items.push(check(false, "R7", "Aucun conseiller n'est encore enregistré présent dans une salle.", "salles"));
  }
  for (const s of occupied) {
    items.push(check(s.transmitting, "R7",
      `${s.name} (${s.present.length} présent${s.present.length > 1 ? "s" : ""}) : `
      + (s.transmitting ? "transmission établie dans les deux sens (mesurée)."
        : (client.media(s.id).connected ? "transmission non établie (connexion en cours)." : "transmission non établie : la borne de la salle est hors ligne.")),
      `salle-${s.id}`));
  }
  // R2: before the opening nothing goes out to the public (R11): the stream is ready, not live
  items.push(check(v.public_stream_up, "R2",
    v.public_stream_up
      ? (convened ? "Retransmission publique : prête, la diffusion commencera à l'ouverture." : "Retransmission publique : en direct.")
      : (convened ? "Retransmission publique : pas prête, aucune salle ne transmet encore." : "Retransmission publique : interrompue."),
    "stream"));
  items.push(check(!!v.secretary, "R10",
    v.secretary ? `Secrétaire de séance : ${v.secretary.name}.` : "Secrétaire de séance : à désigner parmi les présents.", "secretary"));
  patch($("checklist"), items);

  // secretary select: members present
  const select = $("secretary-select");
  const present = v.members.filter((m) => m.present);
  const keep = select.value;
  select.replaceChildren(h("option", { value: "" }, present.length ? "— choisir un membre présent —" : "— aucun membre présent —"),
    ...present.map((m) => h("option", { value: m.id }, m.name)));
  if (present.some((m) => m.id === keep)) select.value = keep;
  // a button that cannot act says why, instead of failing when pressed
  const secretaryBlocked = v.status === "closed" ? "La séance est close : le secrétaire ne se désigne plus."
    : (!present.length ? "Aucun membre n'est présent : le secrétaire se désigne parmi les présents." : "");
  $("secretary-btn").disabled = !!secretaryBlocked;
  select.disabled = v.status === "closed";
  $("secretary-reason").textContent = secretaryBlocked;
  $("secretary-reason").hidden = !secretaryBlocked;

  const open = $("open-btn");
  open.hidden = !convened;
  open.disabled = !v.opening.ready;
  const hint = $("open-hint");
  if (convened) {
    if (v.opening.ready) patch(hint, "Toutes les conditions sont remplies.");
    else {
      patch(hint, "Ouverture impossible : ", v.opening.blockers.map((b) => {
        const { text, rule } = plainMessage(b.message, b.rule);
        return h("span", { class: "blocker", dataset: { rule: b.rule } }, text, ruleRef(rule), " ");
      }));
    }
  } else {
    const quorum = `Quorum : ${q.present} présent${q.present > 1 ? "s" : ""} sur ${q.in_office}, ${q.required} requis`;
    if (v.status === "closed") patch(hint, "La séance est close.");
    else if (v.status === "suspended") {
      patch(hint, "La séance est suspendue : aucun vote ne s'ouvre ni ne se clôt avant la reprise. ", quorum, ".");
    } else if (q.reached) patch(hint, `La séance est ouverte. ${quorum}.`);
    else patch(hint, `La séance est ouverte. ${quorum} — non atteint : aucun vote ne peut s'ouvrir.`, ruleRef("R8"));
  }
  card.classList.toggle("done", !convened);
  // R8 (L.2121-17): the lack of quorum, recorded so that a new convocation can be linked to it
  $("quorum-failure").hidden = !convened || q.reached;
  if (v.status === "closed") $("quorum-failure-confirm").hidden = true;
}

// ------------------------------------------------------------------ the vote

function ballotButtons(slot, label, key, frozen) {
  const group = h("div", { class: "ballot", role: "group", "aria-label": label, dataset: { ballot: slot.on_behalf_of || "self" } },
    h("p", { class: "ballot-title" }, label));
  if (slot.cast) {
    group.append(h("p", { class: "cast" }, "Vote enregistré."));
    return group;
  }
  if (frozen) {
    group.append(h("p", { class: "muted" }, "Vote gelé : aucune voix n'est reçue tant que la salle manque (R17)."));
    return group;
  }
  const row = h("div", { class: "choices" });
  for (const c of ballotChoices(view.vote)) {
    row.append(h("button", {
      type: "button", class: `choice ${c.choice}`, dataset: { key: `${key}-${c.key}`, choice: c.choice },
      onclick: (ev) => cmd({ type: "CastBallot", item_id: view.vote.item_id, voter_id: me, ...c.fields,
        on_behalf_of: slot.on_behalf_of || null }, `Vote enregistré : ${c.label.toLowerCase()}.`, ev.currentTarget)
        .then((r) => { if (r.ok && (!document.activeElement || document.activeElement === document.body)) focusHeading("vote-h"); }),
    }, c.label));
  }
  group.append(row);
  return group;
}

function methodFieldset() {
  const fieldset = h("fieldset", { class: "method" }, h("legend", {}, "Mode de scrutin public (R13)"));
  for (const [value, label] of [["electronique", "Vote électronique (chaque conseiller sur son terminal)"],
    ["appel_nominal", "Appel nominal (le secrétaire et les agents enregistrent les réponses)"]]) {
    const id = `method-${value}`;
    fieldset.append(h("div", { class: "radio" },
      h("input", { type: "radio", name: "method", id, value, checked: methodChoice === value, dataset: { key: id },
        onchange: () => { methodChoice = value; } }),
      h("label", { for: id }, label)));
  }
  return fieldset;
}

function openVote(fields, doneText) {
  return (ev) => cmd({ type: "OpenVote", method: methodChoice, ...fields }, doneText, ev.currentTarget)
    .then((r) => { if (r.ok) focusHeading("vote-h"); });
}

/** R15, R24 (L.2121-21): the council decides unanimously to vote in public, or the item is postponed. */
function appointmentDecision(item) {
  return [
    h("p", { class: "muted" }, "Nomination : le scrutin est secret, sauf décision unanime du conseil de voter publiquement ; "
      + "sans cette unanimité, le point est reporté à une séance en présentiel. Indiquez la décision du conseil :", ruleRef("R15")),
    h("div", { class: "row" },
      h("button", { type: "button", class: "small", dataset: { key: "appoint-public" },
        onclick: (ev) => cmd({ type: "DecideAppointmentBallot", item_id: item.id, unanimous_for_public: true },
          "Décision unanime de voter au scrutin public enregistrée.", ev.currentTarget) }, "Le conseil décide à l'unanimité un vote public"),
      h("button", { type: "button", class: "small", dataset: { key: "appoint-postpone" },
        onclick: (ev) => cmd({ type: "DecideAppointmentBallot", item_id: item.id, unanimous_for_public: false },
          "Point reporté à une séance en présentiel.", ev.currentTarget) }, "Pas d'unanimité : reporter")),
  ];
}

function labelled(id, label, control) {
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}

/** R24: a nomination's seats, its candidates, the closing of candidacies, then a round per seat. */
function nominationPanel(item) {
  const out = [h("h3", {}, `Nomination — ${item.body.name}`),
    h("p", { class: "muted" }, `${item.body.seats} siège${item.body.seats > 1 ? "s" : ""} à pourvoir. Une candidature unique à un siège vaut nomination immédiate ; sinon majorité absolue aux deux premiers tours, relative au troisième, le plus âgé en cas d'égalité (L.2121-21).`)];
  const seats = h("ul", { class: "seats", "aria-label": "Sièges et candidatures" });
  for (const x of item.seats) {
    const names = x.candidates.map((c) => c.name).join(", ") || "aucune candidature";
    const state = x.appointed ? ` — nommé·e : ${x.appointed.name} (${x.how})`
      : x.settled ? " — non pourvu après trois tours" : x.rounds ? ` — ${x.rounds} tour${x.rounds > 1 ? "s" : ""} sans majorité` : "";
    seats.append(h("li", { dataset: { seat: x.seat } }, h("strong", {}, `Siège ${x.seat} : `), names, state));
  }
  out.push(seats);
  if (!item.candidacies_closed) {
    const candidates = view.members.filter((m) => !m.suppleant_of);
    const seatSelect = h("select", { id: "candidacy-seat", dataset: { key: "candidacy-seat" } },
      ...item.seats.map((x) => h("option", { value: String(x.seat) }, `Siège ${x.seat}`)));
    const memberSelect = h("select", { id: "candidacy-member", dataset: { key: "candidacy-member" } },
      h("option", { value: "" }, "— choisir un membre —"), ...candidates.map((m) => h("option", { value: m.id }, m.name)));
    out.push(h("div", { class: "inline-form candidacy" },
      labelled("candidacy-seat", "Siège", seatSelect),
      labelled("candidacy-member", "Candidat·e", memberSelect),
      h("button", { type: "button", class: "small", dataset: { key: "candidacy-add" },
        onclick: (ev) => {
          const member = $("candidacy-member").value;
          if (!member) { feedback.refused({ code: "R24", message: "R24 — choisissez le membre candidat." }); return; }
          cmd({ type: "RegisterCandidacy", item_id: item.id, seat: Number($("candidacy-seat").value), member_id: member },
            `Candidature enregistrée : ${memberName(view, member)}.`, ev.currentTarget);
        } }, "Enregistrer la candidature")),
    h("button", { type: "button", class: "small", dataset: { key: "candidacies-close" },
      onclick: (ev) => cmd({ type: "CloseCandidacies", item_id: item.id }, "Appel à candidatures clos.", ev.currentTarget) },
    "Clore l'appel à candidatures"));
    return out;
  }
  const open = item.seats.filter((x) => !x.settled);
  if (!open.length) return out;
  if (item.public_appointment !== true) return out.concat(appointmentDecision(item));
  out.push(methodFieldset());
  for (const x of open) {
    const round = x.rounds + 1;
    out.push(h("button", { type: "button", class: "primary", dataset: { key: `open-round-${x.seat}` },
      onclick: openVote({ item_id: item.id, seat: x.seat }, `Vote ouvert : siège ${x.seat}, ${round === 1 ? "1er" : `${round}e`} tour.`) },
    `Ouvrir le ${round === 1 ? "1er" : `${round}e`} tour — siège ${x.seat}`));
  }
  return out;
}


/** R25: the amendments tabled on the item's motion, each voted before it. */
function amendmentPanel(item) {
  const out = [h("h3", {}, "Amendements (R25)")];
  if (item.amendments.length) {
    const list = h("ul", { class: "amendments", "aria-label": "Amendements déposés" });
    for (const a of item.amendments) {
      const li = h("li", { dataset: { amendment: a.id } },
        h("strong", {}, `« ${a.id} »`), ` ${de(a.author?.name || "")} : ${a.text} — ${AMENDMENT_STATUS[a.status] || a.status}.`);
      if (a.status === "pending") {
        li.append(" ",
          h("button", { type: "button", class: "small", dataset: { key: `amendment-vote-${a.id}` },
            onclick: openVote({ item_id: item.id, amendment_id: a.id }, `Vote ouvert sur l'amendement « ${a.id} ».`) },
          `Mettre aux voix l'amendement « ${a.id} »`), " ",
          h("button", { type: "button", class: "small", dataset: { key: `amendment-withdraw-${a.id}` },
            onclick: (ev) => cmd({ type: "WithdrawAmendment", item_id: item.id, amendment_id: a.id },
              `Retrait de l'amendement « ${a.id} » constaté.`, ev.currentTarget) }, "Retrait constaté"));
      }
      list.append(li);
    }
    out.push(list);
  }
  const present = view.members.filter((m) => m.present);
  const author = h("select", { id: "amendment-author", dataset: { key: "amendment-author" } },
    h("option", { value: "" }, "— auteur (membre présent) —"), ...present.map((m) => h("option", { value: m.id }, m.name)));
  const text = h("input", { id: "amendment-text", maxlength: "2000", dataset: { key: "amendment-text" } });
  out.push(h("div", { class: "inline-form amendment" },
    labelled("amendment-author", "Auteur de l'amendement", author),
    labelled("amendment-text", "Texte de l'amendement", text),
    h("button", { type: "button", class: "small", dataset: { key: "amendment-add" },
      onclick: (ev) => {
        let n = item.amendments.length + 1;
        while (item.amendments.some((a) => a.id === `am-${n}`)) n += 1;
        cmd({ type: "ProposeAmendment", item_id: item.id, amendment_id: `am-${n}`, text: $("amendment-text").value.trim(),
          author_id: $("amendment-author").value }, `Amendement « am-${n} » enregistré.`, ev.currentTarget)
          .then((r) => { if (r.ok) $("amendment-text").value = ""; });
      } }, "Enregistrer l'amendement")));
  return out;
}

function renderVote() {
  const v = view;
  const box = $("vote");
  const vote = v.vote;
  if (!vote) {
    const item = currentItem(v);
    if (v.status !== "opened" || !item || item.status !== "current" || item.kind === "information") {
      patch(box, h("p", { class: "muted" }, v.status === "opened"
        ? "Aucun vote en cours. Appelez un point de l'ordre du jour pour le mettre au vote."
        : "Aucun vote en cours."));
      return;
    }
    const children = [h("p", {}, "Point en discussion : ", h("strong", {}, item.title))];
    if (item.body) {
      children.push(...nominationPanel(item));
      patch(box, children);
      return;
    }
    if (item.kind === "nomination" && item.public_appointment !== true) children.push(...appointmentDecision(item));
    const pending = (item.amendments || []).filter((a) => a.status === "pending");
    if (item.amendable) children.push(...amendmentPanel(item));
    children.push(methodFieldset());
    if (pending.length) {
      children.push(h("p", { class: "muted", id: "motion-hint" },
        `L'amendement « ${pending[0].id} » se vote avant la délibération qu'il modifie.`, ruleRef("R25")));
    }
    // R15, R24: a nomination is not voted before the council decides unanimously to vote in public
    const undecided = item.kind === "nomination" && item.public_appointment !== true;
    if (undecided) {
      children.push(h("p", { class: "reason", id: "nomination-hint" },
        "Une nomination ne se met aux voix qu'après la décision unanime du conseil de voter publiquement : "
        + "utilisez d'abord « Le conseil décide à l'unanimité un vote public », ou « Pas d'unanimité : reporter ».", ruleRef("R15")));
    }
    children.push(h("button", {
      type: "button", class: "primary", id: "open-vote-btn", dataset: { key: "open-vote" }, disabled: pending.length > 0 || undecided,
      "aria-describedby": pending.length ? "motion-hint" : (undecided ? "nomination-hint" : null),
      onclick: openVote({ item_id: item.id }, "Vote ouvert."),
    }, item.amendments?.some((a) => a.status === "adopted") ? "Ouvrir le vote sur la délibération amendée" : "Ouvrir le vote"));
    patch(box, children);
    return;
  }
  const item = v.agenda.find((i) => i.id === vote.item_id);
  const children = [
    h("p", { class: "vote-head" }, h("strong", {}, item ? item.title : vote.item_id),
      vote.subject === "motion" ? null : ` — ${vote.subject_label}`),
    h("p", {}, `Scrutin public — ${METHOD_LABEL[vote.method] || vote.method}. `,
      h("span", { id: "vote-count" }, `${vote.cast_count} vote${vote.cast_count > 1 ? "s" : ""} enregistré${vote.cast_count > 1 ? "s" : ""} sur ${vote.electorate_count}.`)),
    h("progress", { max: vote.electorate_count || 1, value: vote.cast_count, "aria-label": "Votes enregistrés" }),
  ];
  if (vote.frozen) {
    const reasonId = "frozen-reason";
    children.push(h("div", { class: "alert frozen", role: "alert" },
      h("p", { id: "vote-frozen-note" }, h("strong", {}, "Vote gelé (R17). "), "Une salle a perdu la transmission : le vote ne peut ni recevoir de voix ni être clos tant qu'elle manque. Reprenez la séance dès son retour, ou décidez de poursuivre sans elle."),
      h("label", { for: reasonId }, "Motif de la décision de poursuivre sans cette salle"),
      h("input", { id: reasonId, maxlength: "300", dataset: { key: "frozen-reason" } }),
      h("button", { type: "button", class: "small danger", dataset: { key: "frozen-decide" },
        onclick: (ev) => cmd({ type: "DecideFrozenVote", item_id: vote.item_id, reason: $(reasonId).value.trim() },
          "Décision journalisée : le vote continue.", ev.currentTarget) }, "Poursuivre le vote (décision motivée)")));
  }
  if (vote.method === "electronique") {
    const mine = vote.electorate.filter((s) => s.voter === me);
    for (const slot of mine) {
      children.push(ballotButtons(slot, slot.on_behalf_of ? `Votre vote au nom ${de(slot.on_behalf_of_name)} (pouvoir)` : "Votre vote",
        `ballot-${slot.on_behalf_of || "self"}`, vote.frozen));
    }
  } else {
    children.push(h("p", { class: "muted" }, "Appel nominal : le secrétaire de séance et les agents de salle enregistrent chaque réponse."));
  }
  const list = h("ul", { class: "electorate", "aria-label": "Votants" });
  for (const s of vote.electorate) {
    list.append(h("li", { class: s.cast ? "cast" : "waiting" },
      h("span", { class: "mark", "aria-hidden": "true" }, s.cast ? "✓" : "…"),
      ballotWho(s), h("span", { class: "sr-only" }, s.cast ? " : a voté" : " : en attente")));
  }
  children.push(h("details", { class: "electorate-box" }, h("summary", {}, "Qui a voté"), list));
  // R13, R22: who has not voted yet is said before the close, and recorded as such
  const waiting = vote.electorate.filter((s) => !s.cast);
  if (waiting.length && !vote.frozen) {
    children.push(h("p", { class: "not-voted", id: "not-voted" },
      h("strong", {}, waiting.length > 1 ? `${waiting.length} votes manquent : ` : "Un vote manque : "),
      waiting.map((s) => ballotWho(s)).join(", "), ". ",
      `Si vous closez le vote maintenant, ${waiting.length > 1 ? "leurs noms seront portés" : "son nom sera porté"} au procès-verbal avec la mention « n'a pas pris part au vote ».`));
  }
  children.push(h("button", {
    type: "button", class: "primary", id: "close-vote-btn", dataset: { key: "close-vote" }, disabled: vote.frozen,
    "aria-describedby": vote.frozen ? "vote-frozen-note" : (waiting.length ? "not-voted" : null),
    onclick: (ev) => cmd({ type: "CloseVote", item_id: vote.item_id }, "Vote clos : résultat proclamé.", ev.currentTarget)
      .then((r) => { if (r.ok) focusHeading("results-h"); }),
  }, "Clore le vote et proclamer le résultat"));
  const hadFocus = box.contains(document.activeElement);
  patch(box, children);
  if (hadFocus && !box.contains(document.activeElement)) focusHeading("vote-h");
}

// ------------------------------------------------------------------ agenda and results

function renderAgenda() {
  const v = view;
  const threshold = secretThreshold(v);
  const rows = v.agenda.map((item) => {
    const li = h("li", { class: `item status-${item.status}`, dataset: { item: item.id } });
    li.append(h("span", { class: "item-title" }, item.title));
    const tags = h("span", { class: "tags" }, h("span", { class: `tag status-${item.status}` }, ITEM_STATUS[item.status] || item.status));
    if (item.kind === "nomination") tags.append(h("span", { class: "tag" }, "nomination"));
    if (item.kind === "information") tags.append(h("span", { class: "tag" }, "information"));
    li.append(tags);
    if (item.secret_requests?.length && item.status !== "postponed") {
      li.append(h("p", { class: "muted small-text" },
        `Scrutin secret demandé par ${item.secret_requests.length} membre${item.secret_requests.length > 1 ? "s" : ""} (report au tiers des présents : ${threshold}).`));
    }
    if (item.status === "postponed") {
      li.append(h("p", { class: "postponed-note" }, "Reporté à une séance en présentiel (scrutin secret demandé, R15)."));
    }
    if (item.status === "withdrawn") {
      li.append(h("p", { class: "postponed-note" }, `Retiré de l'ordre du jour (R25)${item.withdrawn?.reason ? ` : ${item.withdrawn.reason}` : ""}.`));
    }
    if (item.result) {
      li.append(h("p", { class: "small-text" }, `${item.result.adopted ? "Adopté" : "Rejeté"} : pour ${item.result.pour}, contre ${item.result.contre}, abstention ${item.result.abstention}.`));
    }
    if (v.status === "opened" && item.status === "pending" && !v.vote) {
      li.append(h("button", { type: "button", class: "small", dataset: { key: `take-${item.id}` }, "aria-label": `Appeler ce point : ${item.title}`,
        onclick: (ev) => cmd({ type: "TakeUpItem", item_id: item.id }, `Point appelé : ${item.title}.`, ev.currentTarget)
          .then((r) => { if (r.ok) focusHeading("vote-h"); }) },
      "Appeler ce point"));
    }
    return li;
  });
  patch($("agenda"), rows);
  $("add-item").hidden = v.status !== "convened";
  renderWithdraw();

  const done = proclaimed(v);
  if (done.length) patch($("results"), done.slice().reverse().map((i) => resultBlock(i)));
}

/** R25: the president withdraws an item still to vote, during the sitting. */
function renderWithdraw() {
  const v = view;
  const open = v.status === "opened" || v.status === "suspended";
  const items = v.agenda.filter((i) => (i.status === "pending" || i.status === "current") && !(i.seats || []).some((x) => x.appointed));
  $("withdraw-item").hidden = !open || !items.length;
  const select = $("withdraw-select");
  const keep = select.value;
  select.replaceChildren(h("option", { value: "" }, "— choisir un point —"), ...items.map((i) => h("option", { value: i.id }, i.title)));
  if (items.some((i) => i.id === keep)) select.value = keep;
}

$("withdraw-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const id = $("withdraw-select").value;
  if (!id) { feedback.refused({ code: "R25", message: "R25 — choisissez le point à retirer." }); return; }
  const item = view.agenda.find((i) => i.id === id);
  const r = await cmd({ type: "WithdrawItem", item_id: id, reason: $("withdraw-reason").value.trim() },
    `Point retiré de l'ordre du jour : ${item ? item.title : id}.`, ev.submitter);
  if (r.ok) $("withdraw-reason").value = "";
});

$("add-item-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const title = $("item-title").value.trim();
  const kind = $("item-kind").value;
  const matiere = $("item-kind").selectedOptions[0]?.dataset.matiere || "5.2";  // the nature's ACTES matière (R12)
  const slug = title.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "point";
  const result = await cmd({ type: "AddAgendaItem", item_id: `${slug}-${Date.now().toString(36).slice(-4)}`, title, kind,
    matiere_code: matiere },
    `Point inscrit : ${title}.`, ev.submitter);
  if (result.ok) $("item-title").value = "";
});

// ------------------------------------------------------------------ floor

function renderFloor() {
  const f = view.floor || { speaker: null, queue: [] };
  const children = [];
  if (f.speaker) {
    children.push(speakerLine(f.speaker),
      h("button", { type: "button", class: "small", dataset: { key: "end-floor" },
        onclick: (ev) => cmd({ type: "EndFloor" }, "Intervention terminée.", ev.currentTarget) }, "Fin de l'intervention"));
  } else {
    children.push(h("p", { class: "muted" }, "Personne n'a la parole."));
  }
  if (f.queue.length) {
    const ol = h("ol", { class: "queue", "aria-label": "Demandes de parole" });
    for (const q of f.queue) {
      ol.append(h("li", { dataset: { member: q.id, salle: q.salle || "" } }, h("span", {}, q.name),
        q.salle_name ? h("span", { class: "queue-salle" }, ` — ${q.salle_name}`) : "",
        h("span", { class: "muted" }, ` depuis ${fmtTime(q.since)}`), " ",
        h("button", { type: "button", class: "small", dataset: { key: `grant-${q.id}` }, "aria-label": `Donner la parole à ${q.name}`,
          onclick: (ev) => cmd({ type: "GrantFloor", member_id: q.id }, `Parole donnée à ${q.name}.`, ev.currentTarget) }, "Donner la parole")));
    }
    children.push(h("h3", {}, "Demandes de parole"), ol);
  } else {
    children.push(h("p", { class: "muted" }, "Aucune demande de parole."));
  }
  patch($("floor"), children);
}

// ------------------------------------------------------------------ the document on screen (issue 15 point 8)

const presenting = new PresentationControl($("presenting"), {
  client, feedback, sitting: document.body.dataset.sitting, annexes: JSON.parse($("presenting").dataset.annexes || "{}"),
});

// ------------------------------------------------------------------ salles (the mosaic)

/** Who is present in each salle, under its tile. */
function presentLine(salleId) {
  const n = view?.salles.find((s) => s.id === salleId)?.present.length ?? 0;
  return n ? `${n} présent${n > 1 ? "s" : ""}` : "Personne n'est enregistré présent";
}

const mosaic = new Mosaic($("salles"), {
  sitting: document.body.dataset.sitting,
  details: presentLine,
  // after the closing nothing goes out to the public (R11): « Mettre à l'image » cannot act
  pinBlocked: () => (view?.status === "closed" ? "Séance close : plus rien n'est diffusé." : null),
  onError: (msg) => feedback.refused(msg),
});

// ------------------------------------------------------------------ conduct

function renderConduct() {
  const v = view;
  const sens = $("sensitive-btn");
  sens.textContent = v.sensitive ? "Terminer le passage sensible" : "Commencer un passage sensible";
  sens.setAttribute("aria-pressed", v.sensitive ? "true" : "false");
  sens.disabled = v.status !== "opened" && v.status !== "suspended";
  $("sensitive-state").textContent = v.sensitive
    ? "Passage sensible en cours : le public et l'enregistrement ne reçoivent ni image ni son."
    : "La diffusion publique est normale.";
  $("suspend-btn").disabled = v.status !== "opened";
  $("resume-btn").disabled = v.status !== "suspended";
  $("close-btn").disabled = v.status === "closed";
  if (v.status === "closed") $("close-confirm").hidden = true;
  // R22: the items not treated are said before the closing; the PV records them as such
  const untreated = v.agenda.filter((i) => (i.status === "pending" || i.status === "current") && !(i.votes || []).length);
  const note = $("close-untreated");
  note.hidden = !untreated.length;
  if (untreated.length) {
    patch(note, h("strong", {}, untreated.length > 1 ? `${untreated.length} points ne sont pas traités : ` : "Un point n'est pas traité : "),
      untreated.map((i) => `${v.agenda.indexOf(i) + 1}. ${i.title}`).join(" ; "), ". ",
      `Après la clôture, ${untreated.length > 1 ? "ils seront portés" : "il sera porté"} au procès-verbal comme non traité${untreated.length > 1 ? "s" : ""}.`);
  }
}

$("secretary-btn").addEventListener("click", (ev) => {
  const id = $("secretary-select").value;
  if (!id) { feedback.refused({ code: "R10", message: "R10 — choisissez un membre présent." }); return; }
  cmd({ type: "AppointSecretary", member_id: id }, `Secrétaire de séance : ${memberName(view, id)}.`, ev.currentTarget);
});
$("open-btn").addEventListener("click", (ev) => cmd({ type: "OpenSitting" }, "La séance est ouverte.", ev.currentTarget)
  .then((r) => { if (r.ok) focusHeading("agenda-h"); }));
$("sensitive-btn").addEventListener("click", (ev) => {
  const on = !view.sensitive;
  cmd({ type: "MarkSensitive", on, reason: $("sensitive-reason").value.trim() },
    on ? "Passage sensible commencé." : "Passage sensible terminé.", ev.currentTarget)
    .then((r) => { if (r.ok && !on) $("sensitive-reason").value = ""; });
});
$("suspend-btn").addEventListener("click", (ev) => cmd({ type: "Suspend", reason: $("suspend-reason").value.trim() }, "Séance suspendue.", ev.currentTarget)
  .then((r) => { if (r.ok) $("suspend-reason").value = ""; }));
$("resume-btn").addEventListener("click", (ev) => cmd({ type: "Resume" }, "Séance reprise.", ev.currentTarget));
$("quorum-failure-btn").addEventListener("click", () => {
  $("quorum-failure-confirm").hidden = false;
  $("quorum-failure-confirm-btn").focus();
});
$("quorum-failure-cancel-btn").addEventListener("click", () => {
  $("quorum-failure-confirm").hidden = true;
  $("quorum-failure-btn").focus();
});
$("quorum-failure-confirm-btn").addEventListener("click", async (ev) => {
  const r = await cmd({ type: "RecordQuorumFailure" }, "Absence de quorum constatée : la séance est close sans délibérer.", ev.currentTarget);
  if (r.ok) focusHeading("opening-h");
});
$("close-btn").addEventListener("click", () => { $("close-confirm").hidden = false; $("close-confirm-btn").focus(); });
$("close-cancel-btn").addEventListener("click", () => { $("close-confirm").hidden = true; $("close-btn").focus(); });
$("close-confirm-btn").addEventListener("click", async (ev) => {
  const r = await cmd({ type: "CloseSitting" }, "La séance est close.", ev.currentTarget);
  if (r.ok) $("close-confirm").hidden = true;
});

function render() {
  if (lastStatus !== null && lastStatus !== view.status) {
    if (ownStatusChange) ownStatusChange = false;
    else feedback.clearNotice();  // e.g. « Vote ouvert. » no longer holds once suspended
  }
  lastStatus = view.status;
  const [text, state] = SITTING_STATUS[view.status] || [view.status, "waiting"];
  setBadge($("badge-sitting"), view.sensitive && view.status === "opened" ? `${text} — passage sensible` : text, state);
  document.body.dataset.status = view.status;
  renderOpening();
  renderVote();
  renderAgenda();
  renderFloor();
  presenting.render(view);
  mosaic.render();
  renderConduct();
}

client.start();
mosaic.start();
tickElapsed();
