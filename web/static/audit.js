// Auditor page: filter the timeline and hide individual ballots. Read-only, no request.
const table = document.getElementById("timeline");
const filter = document.getElementById("filtre");
const ballots = document.getElementById("bulletins");

function applyFilter() {
  const needle = (filter.value || "").trim().toLocaleLowerCase("fr");
  for (const row of table.tBodies[0].rows) {
    row.hidden = needle !== "" && !row.textContent.toLocaleLowerCase("fr").includes(needle);
  }
}

if (table && filter && ballots) {
  filter.addEventListener("input", applyFilter);
  ballots.addEventListener("change", () => table.classList.toggle("hide-ballots", !ballots.checked));
}
