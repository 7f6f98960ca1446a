// Admin pages: check an agenda item as it is typed (R12, via /admin/api/point), print the convocation.
const form = document.getElementById("point-form");

if (form) {
  const title = document.getElementById("p-title");
  const kind = document.getElementById("p-kind");
  const matiere = document.getElementById("p-matiere");
  const ident = document.getElementById("p-id");
  const body = document.getElementById("p-body");
  const bodyName = document.getElementById("p-body-name");
  const seats = document.getElementById("p-seats");
  const bodyFields = document.getElementById("p-body-fields");
  const out = document.getElementById("p-check");
  const warnings = document.getElementById("p-warnings");
  const submit = document.getElementById("p-submit");
  let timer = null;
  let seq = 0;

  async function check() {
    const mine = ++seq;
    const params = new URLSearchParams({ seance: form.dataset.seance, titre: title.value, nature: kind.value,
      matiere: matiere.value, identifiant: ident.value, organe: body.value, nom_organe: bodyName.value, sieges: seats.value });
    try {
      const r = await fetch(`/admin/api/point?${params}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
      const answer = await r.json();
      if (mine !== seq) return;                       // a newer keystroke already asked
      const refused = !answer.ok && !answer.empty;
      out.textContent = answer.message || (answer.ok ? "Point recevable." : "");
      out.dataset.state = refused ? "lost" : answer.ok ? "ok" : "";
      // R12: the title may only warn; the nature chosen decides
      warnings.replaceChildren(...(answer.warnings || []).map((w) => {
        const li = document.createElement("li");
        li.className = "warning";
        li.textContent = w;
        return li;
      }));
      title.setAttribute("aria-invalid", refused && answer.field === "intitulé" ? "true" : "false");
      kind.setAttribute("aria-invalid", refused && answer.field === "nature" ? "true" : "false");
      body.setAttribute("aria-invalid", refused && answer.field === "organe" ? "true" : "false");
      submit.disabled = refused;
    } catch {
      if (mine === seq) { out.textContent = ""; out.dataset.state = ""; submit.disabled = false; }   // the server decides on submit
    }
  }

  function later() { clearTimeout(timer); timer = setTimeout(check, 200); }
  title.addEventListener("input", later);
  ident.addEventListener("input", later);
  kind.addEventListener("change", () => {
    bodyFields.hidden = kind.value !== "nomination";
    const suggested = kind.selectedOptions[0]?.dataset.matiere;
    if (suggested) matiere.value = suggested;       // the nature's usual ACTES matière (7.1 for a budget document)
    check();
  });
  matiere.addEventListener("change", check);
  body.addEventListener("change", check);
  bodyName.addEventListener("input", later);
  seats.addEventListener("input", later);
  if (title.value) check();
}

for (const button of document.querySelectorAll("[data-action=print]")) {
  button.addEventListener("click", () => window.print());
}
