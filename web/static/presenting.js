// Séance — the chair's control of the document on screen (issue 15 point 8), on the
// president's and the moderator's pages: the annexes of the item discussed, « Présenter
// l'annexe », the pages (précédente, suivante, page n) and « Arrêter la présentation », with
// a preview of the page the salles and the public see. A button that cannot act says why.
import { DocumentView, loadPdf, presentedUrl } from "./document.js";
import { h, patch } from "./sitting.js";

/** The annex as the members have it (web.admin.annexes.member_annex): the chair's browser counts its pages. */
function memberUrl(sitting, annexId) {
  return `/elu/annexes/${encodeURIComponent(sitting)}/${encodeURIComponent(annexId)}`;
}

export class PresentationControl {
  /**
   * @param {HTMLElement} root the card's body
   * @param {object} opts client (SittingClient), feedback (Feedback), sitting (id), annexes
   *   ({item id: [{id, label, filename}]}, the convocation's, from the page)
   */
  constructor(root, { client, feedback, sitting, annexes }) {
    this.root = root;
    this.client = client;
    this.feedback = feedback;
    this.sitting = sitting;
    this.annexes = annexes || {};
    this.controls = h("div", { class: "presenting-controls" });
    this.preview = new DocumentView(h("figure", { class: "document-preview", "aria-label": "Aperçu de la page à l'écran" }),
      { caption: false });
    this.choices = h("div", { class: "presenting-choices" });
    this.root.replaceChildren(this.controls, this.preview.root, this.choices);
    this.view = null;
  }

  /** Send `present` or `page`; the refusal (with its rule) or the confirmation is shown. */
  async send(msg, doneText, button) {
    if (button) button.disabled = true;
    const result = await this.client.request(msg);
    if (button?.isConnected) button.disabled = false;
    if (result.ok) this.feedback.done(doneText);
    else this.feedback.refused(result);
    if (this.view) this.render(this.view);
    return result;
  }

  async present(annex, button) {
    button.disabled = true;
    let pages;
    try {  // its number of pages, read from the very file (the server checks its digest)
      const task = loadPdf(memberUrl(this.sitting, annex.id));
      pages = (await task.promise).numPages;
      await task.destroy();
    } catch {
      button.disabled = false;
      this.feedback.refused({ code: "", message: `Le fichier « ${annex.filename} » ne s'ouvre pas : il n'est pas montré.` });
      return;
    }
    await this.send({ type: "present", annex: annex.id, pages }, `« ${annex.filename} » est à l'écran.`, button);
  }

  turn(page, button) {
    return this.send({ type: "page", page }, `Page ${page} à l'écran.`, button);
  }

  stop(button) {
    button.disabled = true;
    return this.client.command({ type: "StopPresentation" }).then((result) => {
      if (button.isConnected) button.disabled = false;
      if (result.ok) this.feedback.done("Le document n'est plus à l'écran.");
      else this.feedback.refused(result);
    });
  }

  /** Why nothing can be shown now, in words for the chair ("" when it can). */
  blocked(view) {
    if (view.status === "convened") return "La séance n'est pas encore ouverte : un document se montre pendant la séance.";
    if (view.status === "suspended") return "La séance est suspendue : reprenez-la pour montrer un document.";
    if (view.status === "closed") return "La séance est close.";
    if (!view.current_item) return "Appelez un point de l'ordre du jour : ses annexes s'afficheront ici.";
    return "";
  }

  render(view) {
    this.view = view;
    const p = view.presentation;
    const blocked = this.blocked(view);
    const children = [];
    const reason = (id, text) => h("p", { class: "reason", id }, text);
    if (p) {
      children.push(h("p", { class: "presenting-now" }, "À l'écran : ", h("strong", {}, p.title)),
        h("p", { class: "presenting-page", id: "presenting-page" }, `Page ${p.page} / ${p.pages}`));
      const turnBlocked = view.status === "opened" ? "" : blocked;
      const prev = h("button", {
        type: "button", class: "small", dataset: { key: "page-prev" }, disabled: !!turnBlocked || p.page <= 1,
        "aria-describedby": "page-prev-reason", onclick: (ev) => this.turn(p.page - 1, ev.currentTarget),
      }, "Page précédente");
      const next = h("button", {
        type: "button", class: "small", dataset: { key: "page-next" }, disabled: !!turnBlocked || p.page >= p.pages,
        "aria-describedby": turnBlocked ? "page-prev-reason" : "page-next-reason", onclick: (ev) => this.turn(p.page + 1, ev.currentTarget),
      }, "Page suivante");
      const input = h("input", { type: "number", id: "page-number", min: "1", max: String(p.pages), inputmode: "numeric",
        dataset: { key: "page-number" }, disabled: !!turnBlocked });
      const go = h("button", {
        type: "submit", class: "small", dataset: { key: "page-go" }, disabled: !!turnBlocked,
      }, "Afficher la page");
      const form = h("form", {
        class: "inline-form page-form",
        novalidate: true,  // a page past the last gets the server's words, not the browser's bubble
        onsubmit: (ev) => {
          ev.preventDefault();
          const n = Number.parseInt(input.value, 10);
          if (Number.isInteger(n)) this.turn(n, go);
        },
      }, h("label", { for: "page-number" }, "Aller à la page"), input, go);
      children.push(h("div", { class: "row" }, prev, next),
        turnBlocked ? reason("page-prev-reason", turnBlocked)
          : (p.page <= 1 ? reason("page-prev-reason", "C'est la première page.") : null),
        !turnBlocked && p.page >= p.pages ? reason("page-next-reason", "C'est la dernière page.") : null,
        form,
        h("button", {
          type: "button", class: "small danger", dataset: { key: "stop-presenting" },
          onclick: (ev) => this.stop(ev.currentTarget),
        }, "Arrêter la présentation"));
    } else {
      children.push(h("p", { class: "muted" }, "Aucun document n'est à l'écran."));
    }
    patch(this.controls, children);
    this.preview.update(p && view.status !== "closed" ? p : null, p ? presentedUrl(this.sitting, p) : null);
    this.renderChoices(view, blocked);
  }

  /** The annexes of the item discussed, each with « Présenter l'annexe » (or why not). */
  renderChoices(view, blocked) {
    const p = view.presentation;
    const children = [];
    const reason = (id, text) => h("p", { class: "reason", id }, text);
    const item = view.current_item ? view.agenda.find((i) => i.id === view.current_item) : null;
    const annexes = item ? (this.annexes[item.id] || []) : [];
    if (item) children.push(h("h3", {}, "Annexes du point en cours"));
    if (item && !annexes.length) children.push(h("p", { class: "muted" }, "Ce point n'a pas d'annexe dans la convocation."));
    if (annexes.length) {
      const ul = h("ul", { class: "annex-choices" });
      for (const a of annexes) {
        const shown = p && p.annex_id === a.id;
        const why = shown ? "Ce document est à l'écran." : blocked;
        const reasonId = `present-${a.id}-reason`;
        ul.append(h("li", { dataset: { annex: a.id } },
          h("span", { class: "annex-name" }, `${a.label} — ${a.filename}`), " ",
          h("button", {
            type: "button", class: "small", dataset: { key: `present-${a.id}` }, disabled: !!why,
            "aria-label": `Présenter l'annexe ${a.filename}`, "aria-describedby": why ? reasonId : null,
            onclick: (ev) => this.present(a, ev.currentTarget),
          }, "Présenter l'annexe"),
          why ? reason(reasonId, why) : null));
      }
      children.push(ul);
    } else if (!item) {
      children.push(reason("present-reason", blocked));
    }
    patch(this.choices, children);
  }
}
