// Séance — the annex shown in séance (issue 15 point 8): a plan, a budget table from the
// convocation, drawn from its PDF by pdf.js (vendored in web/static/vendor/pdfjs/, no CDN)
// on the salles' displays, the public page and the chair's preview. The server says which
// annex, its SHA-256 and the page (`presentation`, in the view and in the kiosks' `board`);
// each screen fetches the PDF once and draws the page at the device's pixel ratio, so the
// text stays sharp on a weak link and the media plane carries nothing more.
import { GlobalWorkerOptions, getDocument } from "./vendor/pdfjs/pdf.min.mjs";

GlobalWorkerOptions.workerSrc = "/static/vendor/pdfjs/pdf.worker.min.mjs";

/** Where the screens fetch the annex shown: the server gives it while it is shown (web/documents.py). */
export function presentedUrl(sitting, p) {
  return `/public/${encodeURIComponent(sitting)}/documents/${encodeURIComponent(p.annex_id)}?sha256=${p.sha256}`;
}

/** Start loading a PDF (no WebAssembly: the pages' CSP allows none); the loading task's
 * `promise` gives the document, its `destroy()` frees it and its worker. */
export function loadPdf(url) {
  return getDocument({ url, useWasm: false, enableXfa: false });
}

/**
 * The document on a screen: a figure with the page drawn on a canvas and a caption with the
 * title and « Page n / N ». `update(presentation, url)` shows that page (null: hides it);
 * the page is redrawn to fit when the element's size changes.
 */
export class DocumentView {
  constructor(root, { caption = true } = {}) {
    this.root = root;
    this.root.classList.add("document");
    this.root.hidden = true;
    this.box = document.createElement("div");
    this.box.className = "document-page";
    this.canvas = document.createElement("canvas");
    this.canvas.setAttribute("role", "img");
    this.box.append(this.canvas);
    this.caption = document.createElement("figcaption");
    this.title = document.createElement("span");
    this.title.className = "document-title";
    this.indicator = document.createElement("span");
    this.indicator.className = "document-indicator";
    this.caption.append(this.title, " ", this.indicator);
    this.caption.hidden = !caption;
    this.root.append(this.box, this.caption);
    this.key = null;        // annex id and digest of the PDF loaded
    this.pdf = null;
    this.task = null;
    this.wanted = null;     // {presentation, url} to show
    this.drawn = null;      // "key|page|width|height" last drawn
    this.busy = false;
    new ResizeObserver(() => this.pump()).observe(this.box);
  }

  /** Show ``presentation``'s page (fetched from ``url``), or hide the document (null). */
  update(presentation, url) {
    this.wanted = presentation ? { presentation, url } : null;
    this.root.hidden = !presentation;
    if (!presentation) {
      this.root.dataset.page = "";
      return;
    }
    const p = presentation;
    this.title.textContent = p.title;
    this.indicator.textContent = `Page ${p.page} / ${p.pages}`;
    this.canvas.setAttribute("aria-label", `${p.title}, page ${p.page} sur ${p.pages}`);
    this.pump();
  }

  async pump() {
    if (this.busy) return;
    this.busy = true;
    try {
      for (let n = 0; n < 10 && this.wanted; n += 1) {  // bounded: a newer page may arrive while drawing
        const { presentation: p, url } = this.wanted;
        const key = `${p.annex_id}|${p.sha256}`;
        const w = Math.floor(this.box.clientWidth), hgt = Math.floor(this.box.clientHeight);
        const stamp = `${key}|${p.page}|${w}|${hgt}|${window.devicePixelRatio || 1}`;
        if (stamp === this.drawn || w < 20 || hgt < 20) break;
        if (key !== this.key) {
          this.task?.destroy();
          this.task = null;
          this.pdf = null;
          this.key = key;
          try {
            this.task = loadPdf(url);
            this.pdf = await this.task.promise;
          } catch {
            this.key = null;  // tried again at the next update or resize
            this.indicator.textContent = "Document indisponible pour le moment.";
            break;
          }
        }
        await this.draw(this.pdf, p.page, w, hgt);
        this.drawn = stamp;
        this.root.dataset.page = String(p.page);
        this.root.dataset.annex = p.annex_id;
      }
    } finally {
      this.busy = false;
    }
  }

  /** Draw page ``number`` as large as fits in w × h CSS pixels, at the device's pixel ratio. */
  async draw(pdf, number, w, hgt) {
    const page = await pdf.getPage(Math.min(Math.max(1, number), pdf.numPages));
    const unit = page.getViewport({ scale: 1 });
    const fit = Math.min(w / unit.width, hgt / unit.height);
    const dpr = window.devicePixelRatio || 1;
    const viewport = page.getViewport({ scale: fit * dpr });
    const canvas = document.createElement("canvas");  // drawn aside, swapped in whole: no half-drawn page
    canvas.width = Math.floor(viewport.width);
    canvas.height = Math.floor(viewport.height);
    canvas.style.width = `${Math.floor(viewport.width / dpr)}px`;
    canvas.style.height = `${Math.floor(viewport.height / dpr)}px`;
    await page.render({ canvas, viewport }).promise;
    for (const name of ["role", "aria-label"]) canvas.setAttribute(name, this.canvas.getAttribute(name) || "");
    this.canvas.replaceWith(canvas);
    this.canvas = canvas;
  }
}
