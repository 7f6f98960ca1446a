// Séance — the salle agent's screen (/agent/<salle>): entries and exits with their times
// (R4), proxies with the reference of the written document (R9), suppléances with the
// reference of the titulaire's information of the president (L.5211-6), audio-only switch (R3),
// the salle's transmission as measured, and the roll-call answers of the councillors
// present in this salle (R13).
import {
  $, Feedback, agree, SITTING_STATUS, SittingClient, fmtTime, h, memberName, patch, rollCallRows, run, setBadge, de,
} from "./sitting.js";

const salleId = document.body.dataset.salle;
const feedback = new Feedback($("alert"), $("notice"));
const log = [];   // {at, text}: what this screen recorded, from the server's acks
let view = null;

const client = new SittingClient({
  sitting: document.body.dataset.sitting,
  onStatus: (text, state) => setBadge($("badge-connection"), text, state),
  onView: (v) => { view = v; render(); },
  onState: () => { if (view) renderHealth(); },
  onError: (msg) => feedback.refused(msg),
});
window.seanceSitting = client;

async function cmd(command, doneText, button, logText = null) {
  const result = await run(client, feedback, command, doneText, button);
  if (result.ok && logText) {
    const at = result.events?.[0]?.at || new Date().toISOString();
    log.unshift({ at, text: logText });
    renderLog();
  }
  return result;
}

const norm = (s) => String(s || "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();

function salle() { return view.salles.find((s) => s.id === salleId); }

/** Members expected here: those of this salle's commune and of communes without a salle. */
function expected(m) {
  const c = norm(m.commune);
  const salleOf = (s) => c && (norm(s.id) === c || norm(s.name).startsWith(c));
  if (salleOf(salle())) return true;
  return !view.salles.some(salleOf);
}

// ------------------------------------------------------------------ presence (R4)

function presenceCell(m) {
  if (m.present && m.salle === salleId) {
    const since = salle().present.find((p) => p.id === m.id)?.since;
    return h("span", { class: "presence here" }, `${agree(m, "Présent")} ici depuis ${fmtTime(since)}`);
  }
  if (m.present) return h("span", { class: "presence elsewhere" }, `${agree(m, "Présent")} : ${view.salles.find((s) => s.id === m.salle)?.name || m.salle}`);
  // R4: a departure recorded here stays visible with its times (the register's line)
  const left = (salle().left || []).filter((d) => d.id === m.id).pop();
  const gone = left ? ` — ${agree(m, "parti")} à ${fmtTime(left.out)} (${agree(m, "arrivé")} à ${fmtTime(left.in)})` : "";
  if (m.proxy_to) return h("span", { class: "presence proxy" }, `${agree(m, "Absent")}${gone} — pouvoir à ${memberName(view, m.proxy_to)}`);
  return h("span", { class: "presence absent" }, `${agree(m, "Absent")}${gone}`);
}

function renderMembers() {
  const filter = norm($("member-filter").value.trim());
  const all = $("show-all").checked;
  const rows = [];
  for (const m of view.members) {
    const here = m.present && m.salle === salleId;
    if (!all && !here && !expected(m)) continue;
    if (filter && !norm(m.name).includes(filter) && !norm(m.commune).includes(filter)) continue;
    let action = null;
    if (here) {
      action = h("button", { type: "button", class: "small", dataset: { key: `out-${m.id}` }, "aria-label": `Enregistrer le départ ${de(m.name)}`,
        onclick: (ev) => cmd({ type: "CheckOut", member_id: m.id, salle_id: salleId }, `Départ ${de(m.name)} enregistré.`,
          ev.currentTarget, `Départ : ${m.name}`) }, "Enregistrer le départ");
    } else if (!m.present) {
      action = h("button", { type: "button", class: "small primary-outline", dataset: { key: `in-${m.id}` }, "aria-label": `Enregistrer l'arrivée ${de(m.name)}`,
        onclick: (ev) => cmd({ type: "CheckIn", member_id: m.id, salle_id: salleId }, `Arrivée ${de(m.name)} enregistrée.`,
          ev.currentTarget, `Arrivée : ${m.name}`) }, "Enregistrer l'arrivée");
    }
    rows.push(h("tr", { dataset: { member: m.id }, class: here ? "here" : "" },
      h("th", { scope: "row" }, m.name, m.function ? h("span", { class: "muted small-text" }, ` — ${m.function}`) : null,
        m.proxy_from ? h("br") : null,
        m.proxy_from ? h("span", { class: "tag" }, `détient le pouvoir ${de(memberName(view, m.proxy_from))}`) : null,
        m.suppleant_of ? h("br") : null,
        m.suppleant_of ? h("span", { class: "tag" }, `${agree(m, "suppléant")} ${de(memberName(view, m.suppleant_of))}`) : null,
        m.suppleance ? h("br") : null,
        m.suppleance ? h("span", { class: "tag" }, `${agree(m, "remplacé")} par ${memberName(view, m.suppleant)}`) : null),
      h("td", {}, m.commune || ""),
      h("td", {}, presenceCell(m)),
      h("td", {}, action)));
  }
  if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: "4", class: "muted" }, "Aucun membre ne correspond.")));
  patch(document.querySelector("#members tbody"), rows);
  const here = salle().present.length;
  $("presence-summary").textContent = `${here} membre${here > 1 ? "s" : ""} présent${here > 1 ? "s" : ""} dans cette salle ; `
    + `quorum du conseil : ${view.quorum.present} sur ${view.quorum.in_office}, ${view.quorum.required} requis.`;
}
$("member-filter").addEventListener("input", () => view && renderMembers());
$("show-all").addEventListener("change", () => view && renderMembers());

// ------------------------------------------------------------------ proxies (R9)

function fillSelect(select, options, placeholder) {
  const keep = select.value;
  select.replaceChildren(h("option", { value: "" }, placeholder), ...options.map(([v, t]) => h("option", { value: v }, t)));
  if (options.some(([v]) => v === keep)) select.value = keep;
}

function renderProxies() {
  const givers = view.members.filter((m) => !m.present && !m.proxy_to);
  const holders = view.members.filter((m) => m.present && m.salle === salleId && !m.proxy_from);
  fillSelect($("proxy-giver"), givers.map((m) => [m.id, m.name]), givers.length ? "— choisir —" : "— aucun membre absent —");
  fillSelect($("proxy-holder"), holders.map((m) => [m.id, m.name]), holders.length ? "— choisir —" : "— aucun présent disponible —");
  const held = view.members.filter((m) => m.proxy_to);
  const items = held.map((m) => {
    const holder = view.members.find((x) => x.id === m.proxy_to);
    const mine = holder && holder.present && holder.salle === salleId;
    return h("li", {}, `${m.name} → ${holder ? holder.name : m.proxy_to}`,
      mine ? h("button", { type: "button", class: "small", dataset: { key: `revoke-${m.id}` }, "aria-label": `Révoquer le pouvoir ${de(m.name)}`,
        onclick: (ev) => cmd({ type: "RevokeProxy", giver_id: m.id }, `Pouvoir ${de(m.name)} révoqué.`, ev.currentTarget,
          `Pouvoir révoqué : ${m.name}`) }, "Révoquer") : null);
  });
  patch($("proxies"), items.length ? items : [h("li", { class: "muted" }, "Aucun pouvoir en cours.")]);
}

$("proxy-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const giver = $("proxy-giver").value, holder = $("proxy-holder").value;
  const result = await cmd({
    type: "RecordProxy", giver_id: giver, holder_id: holder, document_ref: $("proxy-ref").value.trim(),
    consecutive_sittings: Math.max(1, parseInt($("proxy-sittings").value, 10) || 1), illness_certified: $("proxy-illness").checked,
  }, `Pouvoir enregistré : ${memberName(view, giver)} à ${memberName(view, holder)}.`, ev.submitter,
  `Pouvoir : ${memberName(view, giver)} à ${memberName(view, holder)} (réf. ${$("proxy-ref").value.trim()})`);
  if (result.ok) { $("proxy-ref").value = ""; $("proxy-illness").checked = false; $("proxy-sittings").value = "1"; }
});

// ------------------------------------------------------------------ suppléances (L.5211-6, R9)

function renderSuppleances() {
  const titulaires = view.members.filter((m) => m.suppleant && !m.present && !m.proxy_to && !m.suppleance);
  fillSelect($("suppleance-titulaire"), titulaires.map((m) => [m.id, `${m.name} (suppléance : ${memberName(view, m.suppleant)})`]),
    titulaires.length ? "— choisir —" : "— aucun titulaire absent avec suppléant —");
  const declared = view.members.filter((m) => m.suppleance);
  patch($("suppleances"), declared.length
    ? declared.map((m) => h("li", { dataset: { titulaire: m.id } }, `${m.name} → ${memberName(view, m.suppleant)} (réf. ${m.suppleance})`))
    : [h("li", { class: "muted" }, "Aucune suppléance enregistrée.")]);
}

$("suppleance-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const titulaire = $("suppleance-titulaire").value, ref = $("suppleance-ref").value.trim();
  const m = view.members.find((x) => x.id === titulaire);
  const result = await cmd({ type: "DeclareSuppleance", titulaire_id: titulaire, document_ref: ref, salle_id: salleId },
    `Suppléance enregistrée : ${memberName(view, titulaire)}${m ? ` remplacé·e par ${memberName(view, m.suppleant)}` : ""}.`,
    ev.submitter, `Suppléance : ${memberName(view, titulaire)} (réf. ${ref})`);
  if (result.ok) $("suppleance-ref").value = "";
});

// ------------------------------------------------------------------ transmission (R3, R7)

function renderHealth() {
  const s = salle();
  const media = client.media(salleId);
  const badge = $("badge-health");
  if (s.transmitting) setBadge(badge, "Transmission établie", "ok");
  else if (media.connected) setBadge(badge, "Transmission : connexion en cours", "warning");
  else setBadge(badge, "Transmission interrompue — borne hors ligne", "lost");
  renderHealthHelp(s, media);
  const btn = $("audio-only-btn");
  btn.setAttribute("aria-pressed", s.audio_only ? "true" : "false");
  btn.textContent = s.audio_only ? "Revenir à la vidéo" : "Passer en audio seul";
}
/** R7, R17: when the salle does not transmit, what the agent does, step by step. */
function renderHealthHelp(s, media) {
  const help = $("health-help");
  if (s.transmitting || view.status === "closed") { help.hidden = true; patch(help); return; }
  const here = s.present.length;
  const steps = media.connected
    ? ["La borne de la salle est en ligne mais la transmission ne passe pas dans les deux sens.",
      "Vérifiez que la caméra et le micro de la salle sont branchés et autorisés sur la borne.",
      "Si le son passe mais pas l'image, cliquez sur « Passer en audio seul » ci-dessous."]
    : ["La borne de la salle est hors ligne.",
      "Vérifiez que le poste de la salle est allumé et que sa page « Salle » est ouverte ; rechargez-la (touche F5).",
      "Vérifiez le câble réseau ou le Wi-Fi de la salle."];
  const stakes = here && (view.status === "opened" || view.status === "suspended")
    ? ["Tant que la salle ne transmet pas, la séance est suspendue : aucun vote ne s'ouvre ni ne se clôt.",
      "Si la liaison ne revient pas, enregistrez la sortie des conseillers présents ici : le quorum sera vérifié à nouveau et la séance pourra reprendre."]
    : (here ? ["La séance ne peut pas s'ouvrir tant que la salle ne transmet pas."] : []);
  patch(help, h("p", {}, h("strong", {}, "Que faire ? "), steps[0]),
    h("ol", {}, ...steps.slice(1).map((t) => h("li", {}, t)), ...stakes.map((t) => h("li", {}, t))));
  help.hidden = false;
}

$("audio-only-btn").addEventListener("click", (ev) => {
  const on = !salle().audio_only;
  cmd({ type: "SetAudioOnly", salle_id: salleId, audio_only: on }, on ? "Salle passée en audio seul." : "Vidéo rétablie.",
    ev.currentTarget, on ? "Passage en audio seul" : "Retour à la vidéo");
});

// ------------------------------------------------------------------ roll call (R13)

function renderRollCall() {
  const vote = view.vote;
  const card = $("rollcall-card");
  if (!vote || vote.method !== "appel_nominal") { card.hidden = true; return; }
  card.hidden = false;
  const item = view.agenda.find((i) => i.id === vote.item_id);
  $("rollcall-item").textContent = `${item ? item.title : vote.item_id} — réponses des conseillers présents dans cette salle.`
    + (vote.frozen ? " Vote gelé (R17) : une salle a perdu la transmission." : "");
  const here = new Set(salle().present.map((p) => p.id));
  const rows = rollCallRows(vote, vote.electorate.filter((s) => here.has(s.voter)), "", cmd);
  patch($("rollcall"), rows.length ? rows : [h("p", { class: "muted" }, "Aucun votant dans cette salle.")]);
}

function renderLog() {
  patch($("log"), log.length ? log.slice(0, 50).map((e) => h("li", {}, h("time", { datetime: e.at }, fmtTime(e.at)), ` ${e.text}`))
    : [h("li", { class: "muted" }, "Aucun pour l'instant.")]);
}

/** R9: the proxies that ended during the sitting and concern this salle (its holder or its giver is here). */
function renderProxiesEnded() {
  const ended = (view.proxies_ended || []).filter((p) => p.holder_salle === salleId || p.giver_salle === salleId);
  patch($("proxies-ended"), ended.slice().reverse().map((p) => {
    const giver = view.members.find((m) => m.id === p.giver);
    const why = p.reason === "giver_arrived"
      ? `${p.giver_name} est ${agree(giver, "arrivé")}${p.giver_salle ? ` (${view.salles.find((s) => s.id === p.giver_salle)?.name || p.giver_salle})` : ""}`
      : "révoqué";
    return h("li", { class: "proxy-ended", dataset: { giver: p.giver } }, h("time", { datetime: p.at }, fmtTime(p.at)),
      ` — pouvoir ${de(p.giver_name)} à ${p.holder_name} terminé : ${why}. ${p.holder_name} ne vote plus qu'en son nom.`);
  }));
}

function render() {
  const [text, state] = SITTING_STATUS[view.status] || [view.status, "waiting"];
  setBadge($("badge-sitting"), text, state);
  document.body.dataset.status = view.status;
  renderHealth();
  renderRollCall();
  renderMembers();
  renderProxies();
  renderProxiesEnded();
  renderSuppleances();
}

client.start();
