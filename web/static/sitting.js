// Séance — the deliberation side of the protocol, shared by every person's screen.
//
// One WebSocket to /ws, authenticated by the session cookie (`hello` carries no token;
// the public page has no cookie and is `public`). The server pushes `sitting` (the whole
// view of the sitting, docs/interfaces.md) after every change and `state` (the media
// state) as before; a screen sends deliberation commands as `command` messages and gets
// `ack` (journaled) or `error` (refused, nothing changed, French message naming the
// rule). Reconnects by itself with a bounded backoff.

import { LABELS } from "/labels.js";
import { backoffDelay, returnToEntry } from "./reconnect.js";

const COMMAND_TIMEOUT_MS = 15000;

export class SittingClient {
  /**
   * @param {object} opts sitting, onView(view), onState(stateMsg), onWelcome(msg),
   *   onStatus(text, state), onPush(msg) for any other pushed message.
   */
  constructor(opts) {
    this.opts = opts;
    this.ws = null;
    this.attempt = 0;
    this.nextId = 1;
    this.pending = new Map();   // id -> {resolve, timer}
    this.stopped = false;
    this.welcome = null;
    this.view = null;
    this.state = null;
  }

  start() { this.connect(); }

  stop() { this.stopped = true; this.ws?.close(); }

  status(text, state) { this.opts.onStatus?.(text, state); }

  connect() {
    if (this.stopped) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/ws`);
    this.ws = ws;
    this.status("Connexion…", "connecting");
    ws.onopen = () => this.send({ type: "hello", sitting: this.opts.sitting });
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      this.onMessage(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.failPending();
      if (this.stopped) return;
      if (returnToEntry(this.attempt)) return;  // this node is gone: back to the entry node
      const delay = backoffDelay(this.attempt);
      this.attempt += 1;
      this.status("Connexion perdue — nouvelle tentative…", "lost");
      setTimeout(() => this.connect(), delay);
    };
  }

  send(msg) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return null;
    const id = msg.id || `m${this.nextId++}`;
    this.ws.send(JSON.stringify({ ...msg, id }));
    return id;
  }

  /** Send one deliberation command; resolves {ok, events} or {ok: false, code, message}. */
  command(command) {
    return this.request({ type: "command", command });
  }

  /** Send one message answered by `ack` or `error` (a command, `present`, `page`); resolves
   * {ok, events, reply} or {ok: false, code, message}. */
  request(msg) {
    return new Promise((resolve) => {
      const id = this.send({ ...msg, id: `c${this.nextId++}` });
      if (id === null) {
        resolve({ ok: false, code: "offline", message: "Pas de connexion au serveur : la commande n'a pas été envoyée." });
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ ok: false, code: "timeout", message: "Le serveur n'a pas confirmé la commande : vérifiez l'état affiché avant de recommencer." });
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(id, { resolve, timer });
    });
  }

  failPending() {
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ ok: false, code: "offline", message: "Connexion interrompue avant la confirmation : vérifiez l'état affiché avant de recommencer." });
    }
    this.pending.clear();
  }

  settle(id, result) {
    const p = this.pending.get(id);
    if (!p) return false;
    clearTimeout(p.timer);
    this.pending.delete(id);
    p.resolve(result);
    return true;
  }

  onMessage(msg) {
    switch (msg.type) {
      case "redirect": {  // the sitting lives on another node (docs/protocol.md): same page there
        this.stopped = true;
        const there = new URL(location.pathname + location.search + location.hash, msg.url);
        if (!there.searchParams.has("via")) there.searchParams.set("via", location.origin);
        location.replace(there.href);
        break;
      }
      case "welcome":
        this.welcome = msg;
        this.attempt = 0;
        this.status("Connecté", "ok");
        this.opts.onWelcome?.(msg);
        break;
      case "sitting":
        this.view = msg.view;
        this.opts.onView?.(msg.view);
        break;
      case "state":
        this.state = msg;
        this.opts.onState?.(msg);
        break;
      case "ack":
        this.settle(msg.re, { ok: true, events: msg.events || [], reply: msg });
        break;
      case "error":
        if (!this.settle(msg.re, { ok: false, code: msg.code, message: msg.message, field: msg.field })) {
          this.opts.onError?.(msg);
        }
        break;
      default:
        this.opts.onPush?.(msg);
    }
  }

  /** The media state of a salle: the view's `media` when the server merged it, else `state`. */
  media(salleId) {
    const fromView = this.view?.media?.[salleId];
    const fromState = this.state?.salles?.find((s) => s.id === salleId);
    return { ...(fromState || {}), ...(fromView && typeof fromView === "object" ? fromView : {}) };
  }
}

// ------------------------------------------------------------------------- French labels

// One home for them: deliberation/labels.py, served as /labels.js (the PV says the same words).
const capitalised = (text) => text.charAt(0).toUpperCase() + text.slice(1);

export const CHOICES = Object.entries(LABELS.choices).map(([choice, label]) => [choice, capitalised(label)]);
export const CHOICE_LABEL = Object.fromEntries(CHOICES);

/** The choices of a ballot, each {key, choice, label, fields}: pour, contre, abstention, ne prend
 * pas part; in a round of a nomination, each candidate, a blank ballot and « ne prend pas part »
 * (R24: no « contre »). `fields` go into the CastBallot command. */
export function ballotChoices(vote) {
  if (vote.subject !== "round") return CHOICES.map(([choice, label]) => ({ key: choice, choice, label, fields: { choice } }));
  return [
    ...vote.candidates.map((c) => ({
      key: `candidat-${c.id}`, choice: "pour", label: `Pour ${c.name}`, fields: { choice: "pour", candidate_id: c.id },
    })),
    { key: "abstention", choice: "abstention", label: "Blanc", fields: { choice: "abstention" } },
    { key: "nppv", choice: "nppv", label: CHOICE_LABEL.nppv, fields: { choice: "nppv" } },
  ];
}

/** The sitting's badge: its words, and the badge's look (data-state). */
const SITTING_BADGE = { convened: "waiting", opened: "ok", suspended: "lost", closed: "closed" };
export const SITTING_STATUS = Object.fromEntries(
  Object.entries(LABELS.sitting_status).map(([status, text]) => [status, [text, SITTING_BADGE[status] || "waiting"]]),
);

export const ITEM_STATUS = LABELS.item_status;
export const AMENDMENT_STATUS = LABELS.amendment_status;
export const METHOD_LABEL = LABELS.methods;

// ------------------------------------------------------------------------- DOM helpers

/** h("button", {class: "small", onclick: fn, "aria-pressed": "true"}, "text", child…) */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace a container's children, keeping keyboard focus on the element with the same data-key. */
export function patch(container, ...children) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.dataset.key : null;
  const typed = new Map([...container.querySelectorAll("input[data-key]:not([type=radio]):not([type=checkbox])")]
    .map((el) => [el.dataset.key, el.value]));
  container.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  for (const [k, value] of typed) {
    const el = container.querySelector(`input[data-key="${CSS.escape(k)}"]`);
    if (el && !el.value) el.value = value;
  }
  if (key) container.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

export function $(id) { return document.getElementById(id); }

export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString("fr-FR", { hour: "2-digit", minute: "2-digit" }).replace(":", " h ");
}

/** A refusal's words for people: the plain French first, the rule id apart, as a detail
 * (« R8 — quorum non atteint… » gives « Quorum non atteint… » and « R8 »). */
export function plainMessage(message, code = "") {
  let text = String(message || "");
  const m = /^(R\d+)\s*[—–-]\s*/.exec(text);
  const rule = m ? m[1] : (/^R\d+$/.test(code) ? code : null);
  if (m) text = text.slice(m[0].length);
  return { text: text.charAt(0).toUpperCase() + text.slice(1), rule };
}

/** The rule a refusal or a condition applies, after the words, for the secretary and the auditor. */
export function ruleRef(rule) {
  return rule ? h("span", { class: "rule-ref" }, ` (règle ${rule})`) : null;
}

/** « 45 s », « 2 min 05 s », « 1 h 02 min »: a speaking time. */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

/** Seconds since an ISO time (never negative: the server's clock may be a little ahead). */
export function elapsed(iso) {
  const t = new Date(iso).getTime();
  return Number.isNaN(t) ? 0 : Math.max(0, (Date.now() - t) / 1000);
}

/** An element that shows the time elapsed since ``iso`` and keeps it current (see tickElapsed). */
export function since(iso) {
  return h("span", { class: "elapsed", dataset: { since: iso } }, duration(elapsed(iso)));
}

/** Every second, bring the elapsed times on the page up to date (one timer per page). */
export function tickElapsed() {
  return setInterval(() => {
    for (const el of document.querySelectorAll("[data-since]")) {
      const text = duration(elapsed(el.dataset.since));
      if (el.textContent !== text) el.textContent = text;
    }
  }, 1000);
}

/** The floor as the chair reads it: who speaks, from which salle, for how long. */
export function speakerLine(speaker) {
  return h("p", { class: "speaker", dataset: { salle: speaker.salle || "" } }, "À la parole : ", h("strong", {}, speaker.name),
    speaker.salle_name ? ` (${speaker.salle_name})` : "", speaker.since ? [" depuis ", since(speaker.since)] : "");
}

export function setBadge(el, text, state) {
  if (!el) return;
  if (el.textContent !== text) el.textContent = text;
  el.dataset.state = state;
}

/** Where a screen says what was refused (role=alert) or done (role=status). */
export class Feedback {
  constructor(alertEl, noticeEl) { this.alertEl = alertEl; this.noticeEl = noticeEl; this.timer = null; }

  refused(result) {
    const code = result.code || "";
    const { text, rule } = plainMessage(result.message || "Commande refusée.", code);
    patch(this.alertEl, code === "journal_invalid" ? "Séance interrompue : " : "Refusé : ", text, ruleRef(rule));
    this.alertEl.dataset.code = code;
    this.alertEl.hidden = false;
    if (this.noticeEl) this.noticeEl.textContent = "";
  }

  /** The status changed: a confirmation of the step before (« Vote ouvert. ») no longer holds. */
  clearNotice() {
    if (this.noticeEl) this.noticeEl.textContent = "";
    clearTimeout(this.timer);
  }

  done(text) {
    this.alertEl.hidden = true;
    this.alertEl.textContent = "";
    this.alertEl.dataset.code = "";
    if (!this.noticeEl) return;
    this.noticeEl.textContent = text;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.noticeEl.textContent = ""; }, 8000);
  }
}

/**
 * Send a command from a button: disable it while the server answers, then show the
 * refusal (with its rule) or the confirmation.
 */
export async function run(client, feedback, command, doneText, button = null) {
  const hadFocus = !!button && document.activeElement === button;  // disabling blurs it: keyboard users keep their place
  if (button) button.disabled = true;
  const result = await client.command(command);
  if (button && button.isConnected) button.disabled = false;
  if (hadFocus && button.isConnected && (!document.activeElement || document.activeElement === document.body)) button.focus();
  if (result.ok) feedback.done(doneText);
  else feedback.refused(result);
  return result;
}

// ------------------------------------------------------------------------- view helpers

/** « de Jean Perrin », « d'Odile Fournier », « d'Hélène Marchand » (elision before a vowel or a mute h). */
export function de(name) {
  return /^[aeiouyhàâäéèêëîïôöùûü]/i.test(String(name || "").trim()) ? `d'${name}` : `de ${name}`;
}

/** ``word`` agreed with a member's civilité: « présente », « présent », « présent·e » if unknown. */
export function agree(member, word) {
  const c = member?.civility;
  return c === "Mme" ? `${word}e` : (c === "M." ? word : `${word}·e`);
}

export function memberName(view, id) {
  if (!id) return "";
  return view?.members?.find((m) => m.id === id)?.name || id;
}

export function currentItem(view) {
  return view?.agenda?.find((i) => i.id === view.current_item) || null;
}

/** Items with at least one vote proclaimed, or a nomination done (R13, R24). */
export function proclaimed(view) {
  return (view?.agenda || []).filter((i) => i.result || i.votes?.length || i.status === "appointed");
}

/** "Sophie Garnier" or "Karim Benali pour Anne Girard (pouvoir)". */
export function ballotWho(b) {
  const voter = b.voter_name || b.voter;
  if (!b.on_behalf_of) return voter;
  return `${voter} pour ${b.on_behalf_of_name || b.on_behalf_of} (pouvoir)`;
}

/** R13: the roll call's rows for `slots` of an open vote, one per voter (and proxy), with the
 * answer buttons or « Réponse enregistrée »; `cmd(command, doneText, button)` sends the CastBallot.
 * The agent's screen (the voters of its salle) and the secretary's (every voter) show the same. */
export function rollCallRows(vote, slots, keyPrefix, cmd) {
  return slots.map((s) => {
    const key = `${keyPrefix}${s.voter}-${s.on_behalf_of || "self"}`;
    const row = h("div", { class: "rollcall-row", role: "group", "aria-label": ballotWho(s), dataset: { voter: s.voter, behalf: s.on_behalf_of || "" } },
      h("span", { class: "who" }, ballotWho(s)));
    if (s.cast) {
      row.append(h("span", { class: "cast" }, "Réponse enregistrée"));
      return row;
    }
    const choices = h("span", { class: "choices" });
    for (const c of ballotChoices(vote)) {
      choices.append(h("button", { type: "button", class: `small choice ${c.choice}`, dataset: { key: `${key}-${c.key}`, choice: c.choice },
        disabled: vote.frozen,
        onclick: (ev) => cmd({ type: "CastBallot", item_id: vote.item_id, voter_id: s.voter, ...c.fields, on_behalf_of: s.on_behalf_of || null },
          `Réponse enregistrée : ${ballotWho(s)}, ${c.label.toLowerCase()}.`, ev.currentTarget) }, c.label));
    }
    row.append(choices);
    return row;
  });
}

/** The names behind each choice of a proclaimed vote; in a round, behind each candidate (R13, R24). */
function ballotList(v) {
  const groups = new Map();
  const label = (b) => {
    if (v.subject !== "round") return CHOICE_LABEL[b.choice] || b.choice;
    if (b.candidate) return `Pour ${b.candidate_name || b.candidate}`;
    return b.choice === "abstention" ? "Blanc" : CHOICE_LABEL[b.choice];
  };
  for (const b of v.ballots) {
    const key = label(b);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(ballotWho(b));
  }
  const dl = h("dl", { class: "ballots" });
  for (const [key, names] of groups) dl.append(h("dt", {}, `${key} (${names.length})`), h("dd", {}, names.join(", ")));
  return dl;
}

/** One proclaimed vote: the motion, an amendment, or a round of a nomination. */
function voteBlock(v, { titled }) {
  const box = h("div", { class: "vote-result", dataset: { subject: v.subject } });
  if (titled) box.append(h("p", { class: "vote-subject" }, h("strong", {}, v.subject_label)));
  if (v.subject === "round") {
    const votes = v.candidates.map((c) => `${c.name} ${c.votes} voix`).join(", ");
    const who = v.appointed
      ? `${v.appointed.name} est nommé·e${v.tie_broken_by_age ? " (égalité de voix : au bénéfice de l'âge)" : ""}`
      : `aucun candidat n'a la majorité ${v.majority}`;
    box.append(h("p", { class: "verdict" }, h("strong", { class: "verdict-word" }, who),
      ` — ${votes} ; blancs ${v.abstention}, ne prend pas part ${v.nppv} ; suffrages exprimés : ${v.exprimes}.`));
  } else {
    box.append(h("p", { class: "verdict" }, h("strong", { class: "verdict-word" }, v.adopted ? "Adopté" : "Rejeté"),
      ` — pour ${v.pour}, contre ${v.contre}, abstention ${v.abstention}, ne prend pas part ${v.nppv} ; suffrages exprimés : ${v.exprimes}.`));
    if (v.casting_vote) {
      box.append(h("p", { class: "casting" }, "Partage égal des voix : la voix du président est prépondérante (art. L.2121-20 CGCT)."));
    }
  }
  if (v.ballots.length) box.append(ballotList(v));
  if (v.not_voting?.length) {
    const lead = v.method === "appel_nominal" ? "N'ont pas répondu à l'appel" : "N'ont pas pris part au vote";
    box.append(h("p", { class: "not-voting" }, `${lead} : ${v.not_voting.map(ballotWho).join(", ")}.`));
  }
  return box;
}

/** The proclaimed result of an item, vote by vote in order, with every voter's name (R13, R14, R24, R25). */
export function resultBlock(item, { headingLevel = "h3" } = {}) {
  const r = item.result;
  const state = r ? (r.adopted ? "adopted" : "rejected") : (item.status === "appointed" ? "adopted" : "pending");
  const wrap = h("article", { class: `result ${state}`, dataset: { item: item.id } });
  wrap.append(h(headingLevel, { class: "result-title" }, item.title));
  const votes = item.votes || [];
  const titled = votes.length > 1 || votes.some((v) => v.subject !== "motion");
  for (const v of votes) wrap.append(voteBlock(v, { titled }));
  const named = (item.seats || []).filter((x) => x.appointed);
  if (named.length) {
    wrap.append(h("p", { class: "appointments" }, h("strong", {}, "Nomination : "),
      named.map((x) => `${x.appointed.name} (siège ${x.seat}, ${x.how})`).join(" ; "), "."));
  }
  return wrap;
}

/** How many secret-ballot requests make one third of those present (R15). */
export function secretThreshold(view) {
  return Math.max(1, Math.ceil((view?.quorum?.present || 0) / 3));
}
