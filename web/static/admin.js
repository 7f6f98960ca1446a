// Admin pages: check an agenda item as it is typed (R12, via /admin/api/point), print the convocation.
const form = document.getElementById("point-form");

if (form) {
  const title = document.getElementById("p-title");
  const kind = document.getElementById("p-kind");
  const matiere = document.getElementById("p-matiere");
  const ident = document.getElementById("p-id");
  const out = document.getElementById("p-check");
  const submit = document.getElementById("p-submit");
  let timer = null;
  let seq = 0;

  async function check() {
    const mine = ++seq;
    const params = new URLSearchParams({ seance: form.dataset.seance, titre: title.value, nature: kind.value,
      matiere: matiere.value, identifiant: ident.value });
    try {
      const r = await fetch(`/admin/api/point?${params}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
      const body = await r.json();
      if (mine !== seq) return;                       // a newer keystroke already asked
      const refused = !body.ok && !body.empty;
      out.textContent = body.message || (body.ok ? "Point recevable." : "");
      out.dataset.state = refused ? "lost" : body.ok ? "ok" : "";
      title.setAttribute("aria-invalid", refused && body.field === "intitulé" ? "true" : "false");
      kind.setAttribute("aria-invalid", refused && body.field === "nature" ? "true" : "false");
      submit.disabled = refused;
    } catch {
      if (mine === seq) { out.textContent = ""; out.dataset.state = ""; submit.disabled = false; }   // the server decides on submit
    }
  }

  function later() { clearTimeout(timer); timer = setTimeout(check, 200); }
  title.addEventListener("input", later);
  ident.addEventListener("input", later);
  kind.addEventListener("change", check);
  matiere.addEventListener("change", check);
  if (title.value) check();
}

for (const button of document.querySelectorAll("[data-action=print]")) {
  button.addEventListener("click", () => window.print());
}
