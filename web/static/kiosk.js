// Séance — kiosk page of a salle (/salle/<id>): publishes the salle's camera and room
// microphone, shows and plays the slots it receives, in French. It is also the salle's
// room display (R2): a band says the sitting's state, the item discussed, the vote open
// or its result, and who has the floor (the server's `board`); the salle that speaks is
// shown large with a name banner, the others smaller, on the whole 16:9 screen. While the
// chair shows an annex of the item (issue 15 point 8), its page takes the large place, drawn
// from the PDF (document.js), and the salles' pictures go beside it.
import { SeanceClient, SlotView } from "./rtc.js";
import { de } from "./sitting.js";
import { DocumentView, presentedUrl } from "./document.js";

/** The media client, also fed the room display's summary (`board`). */
class KioskClient extends SeanceClient {
  async onMessage(msg) {
    if (msg.type === "board") { this.opts.onBoard?.(msg); return; }
    return super.onMessage(msg);
  }
}

const STATE_TEXT = {
  convened: ["Séance pas encore ouverte", "waiting"],
  opened: ["Séance ouverte", "ok"],
  suspended: ["Séance suspendue", "warning"],
  closed: ["Séance close", "closed"],
};

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

const plural = (n, word) => `${n} ${word}${n > 1 ? "s" : ""}`;

function itemText(ref) {
  return ref ? `${ref.number}/${ref.of} — ${ref.title}` : "—";
}

/** The band: the sitting's state, the item, the vote or its result, the floor (from `board`). */
function renderBand(board) {
  const [text, state] = STATE_TEXT[board.status] || [board.status || "Séance", "waiting"];
  const st = $("band-state");
  st.textContent = board.sensitive && board.status === "opened" ? `${text} — passage non diffusé` : text;
  st.dataset.state = state;
  $("band-item-text").textContent = itemText(board.item);
  const vote = $("band-vote");
  vote.hidden = !(board.vote || board.result);
  if (board.vote) {
    vote.dataset.state = board.vote.frozen ? "frozen" : "open";
    const subject = board.vote.subject === "motion" ? "" : ` (${board.vote.subject_label})`;
    vote.textContent = board.vote.frozen
      ? `Vote suspendu${subject} : une salle a perdu la transmission.`
      : `Vote en cours${subject} : ${plural(board.vote.cast_count, "vote")} sur ${board.vote.electorate_count}.`;
  } else if (board.result) {
    const r = board.result;
    const what = r.subject === "motion" ? `Point ${r.item.number}` : `Point ${r.item.number}, ${r.subject_label}`;
    let verdict;
    if (r.subject === "round") verdict = r.appointed ? `nomination ${de(r.appointed)}` : "personne n'est nommé";
    else verdict = r.adopted ? (r.casting_vote ? "adopté (voix prépondérante du président)" : "adopté") : "rejeté";
    vote.dataset.state = r.subject === "round" || r.adopted ? "adopted" : "rejected";
    vote.textContent = `${what} : ${verdict} — pour ${r.pour}, contre ${r.contre}, ${plural(r.abstention, "abstention")}.`;
  }
  const sp = board.speaker;
  $("band-floor-text").textContent = sp ? `${sp.name}${sp.salle_name ? ` — ${sp.salle_name}` : ""}` : "Personne n'a la parole.";
  $("band-floor").dataset.active = sp ? "yes" : "no";
}

/** The tile shown large: the salle of whoever has the floor, else the active speaker's
 * slot, else the president's (or pinned) salle; a banner names it and who speaks there. */
function arrangeTiles(board, names) {
  const tiles = [...document.querySelectorAll("#slots .tile")];
  const filled = tiles.filter((t) => t.dataset.salle);
  const speakerSalle = board?.speaker?.salle;
  const main = filled.find((t) => t.dataset.salle === speakerSalle)
    || filled.find((t) => t.dataset.slot === "video-1") || filled.find((t) => t.dataset.slot === "video-0")
    || tiles[0];
  for (const tile of tiles) {
    const isMain = tile === main;
    tile.dataset.main = isMain ? "yes" : "no";
    let banner = tile.querySelector(".name-banner");
    if (!isMain) { banner?.remove(); continue; }
    if (!banner) {
      banner = document.createElement("p");
      banner.className = "name-banner";
      tile.append(banner);
    }
    const salle = tile.dataset.salle;
    const salleName = salle ? (names[salle] || salle) : "En attente d'une salle";
    const who = board?.speaker && board.speaker.salle === salle ? board.speaker.name : null;
    banner.replaceChildren();
    if (who) {
      const strong = document.createElement("strong");
      strong.textContent = who;
      banner.append(strong, ` — ${salleName}`);
    } else banner.textContent = salleName;
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
  let board = null;
  const documentView = new DocumentView($("document"));
  // the document shown while the sitting is open (R2), drawn here; the tiles shrink beside it
  const showDocument = (msg) => {
    const p = msg.status === "opened" ? msg.presentation : null;
    body.dataset.presenting = p ? "yes" : "no";
    documentView.update(p, p ? presentedUrl(body.dataset.sitting, p) : null);
  };
  const arrange = () => arrangeTiles(board, client.names || {});

  const client = new KioskClient({
    sitting: body.dataset.sitting,
    token: body.dataset.token,
    as: "salle",
    deflate: false,   // small messages, all sitting long: no deflate context on the server
    localStream: local,
    onStatus: (text, state) => badge("badge-connection", text, state),
    onSlots: (layout, assignments, names) => { view.setLayout(layout, assignments, names); arrange(); },
    onBoard: (msg) => { board = msg; renderBand(msg); showDocument(msg); arrange(); },
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
      arrange();
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
