// Séance — public page (/public/<seance>): receive-only programme video and voices (R2).
import { SeanceClient, SlotView } from "./rtc.js";

const $ = (id) => document.getElementById(id);

function main() {
  const view = new SlotView($("slots"), $("voices"), $("slots-placeholder"));
  const play = $("play");
  play.addEventListener("click", async () => { if (await view.play()) play.hidden = true; });
  const client = new SeanceClient({
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
  });
  window.seance = client;
  client.start();
}

main();
