"""The page's own CSS and the small script that opens a citation in its article.

The script is event delegation on the document, so it works for HTML that Gradio renders
later: selecting any element with `data-cite="<turn>-<n>"` (a [n] marker in the answer or
a citation button in the sources panel) reveals that citation's article view and scrolls
its highlighted span into view. The highlight itself was computed on the server from the
citation's character offsets; the script never searches text.
"""

HEAD = """
<meta name="viewport" content="width=device-width, initial-scale=1">
<script>
(() => {
  function citeKey(el) {
    if (el.dataset && el.dataset.cite) return el.dataset.cite;
    const href = el.getAttribute && el.getAttribute("href") || "";
    return href.startsWith("#cite-") ? href.slice(6) : "";
  }
  function openCitation(key) {
    let target = null;
    document.querySelectorAll(".rag-view").forEach((v) => {
      const on = v.dataset.view === key;
      v.hidden = !on;
      if (on) target = v;
    });
    document.querySelectorAll(".rag-cite").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.cite === key)));
    document.querySelectorAll(".rag-viewer-hint").forEach((h) => { h.hidden = !!target; });
    if (!target) return false;
    const mark = target.querySelector("mark.cite-active");
    const box = target.querySelector(".rag-article-text");
    if (mark && box) {
      // Centre the quote inside the article box, then scroll the page only as far as needed.
      const offset = mark.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
      box.scrollTop = Math.max(0, offset - (box.clientHeight - mark.offsetHeight) / 2);
      const r = mark.getBoundingClientRect();
      if (r.top < 0 || r.bottom > window.innerHeight) mark.scrollIntoView({ block: "center" });
    } else {
      target.scrollIntoView({ block: "nearest" });
    }
    return true;
  }
  document.addEventListener("click", (ev) => {
    const el = ev.target && ev.target.closest && ev.target.closest("[data-cite], a[href^='#cite-']");
    if (!el) return;
    const key = citeKey(el);
    if (!key) return;
    ev.preventDefault();
    ev.stopPropagation();
    openCitation(key);
  }, true);
  window.ragOpenCitation = openCitation;
})();
</script>
"""

CSS = """
.rag-header h1 { margin-bottom: 0.1em; }
.rag-header p { margin-top: 0; opacity: 0.8; }
#rag-chat .rag-answer { line-height: 1.55; }
a.rag-ref, button.rag-cite {
  font-weight: 600; color: var(--color-accent, #2563eb); text-decoration: none; cursor: pointer;
  background: none; border: 0; padding: 0 1px; font-size: inherit;
}
a.rag-ref:hover, a.rag-ref:focus-visible, button.rag-cite:hover, button.rag-cite:focus-visible { text-decoration: underline; }
button.rag-cite { border: 1px solid currentColor; border-radius: 4px; padding: 0 4px; }
button.rag-cite[aria-pressed="true"] { background: #fde68a; color: #7c2d12; }
.rag-searching { font-size: 0.88em; opacity: 0.8; margin-bottom: 0.4em; }
.rag-pending, .rag-draft-label { font-style: italic; opacity: 0.75; }
.rag-draft { opacity: 0.85; }
.rag-draft-label { font-size: 0.85em; margin-bottom: 0.3em; }
.rag-meta-line { margin-top: 0.5em; }
.rag-badge { display: inline-block; font-size: 0.82em; font-weight: 600; padding: 1px 8px; border-radius: 999px; vertical-align: middle; }
.rag-badge.ok { background: #dcfce7; color: #166534; border: 1px solid #86efac; }
.rag-badge.partial { background: #fef3c7; color: #92400e; border: 1px solid #fcd34d; }
.rag-conflict { margin-top: 0.6em; padding: 0.5em 0.75em; border-left: 4px solid #f59e0b; background: #fffbeb; color: #451a03; border-radius: 4px; }
.rag-conflict-title { font-weight: 700; }
.rag-conflict ul { margin: 0.3em 0 0 1.1em; padding: 0; }
.rag-files, .rag-meta, .rag-note { font-size: 0.85em; opacity: 0.75; }
.rag-abstain { padding: 0.5em 0.75em; border-left: 4px solid #64748b; background: #f1f5f9; color: #0f172a; border-radius: 4px; }
.rag-error { padding: 0.5em 0.75em; border-left: 4px solid #dc2626; background: #fef2f2; color: #7f1d1d; border-radius: 4px; }
.rag-stopped { margin-top: 0.4em; font-size: 0.85em; font-style: italic; opacity: 0.8; }
.rag-unverified { margin-top: 0.4em; font-size: 0.88em; }
.rag-sources h3 { margin: 0 0 0.5em 0; display: flex; gap: 0.5em; align-items: center; flex-wrap: wrap; }
.rag-source-list, .rag-quotes { list-style: none; margin: 0; padding: 0; }
.rag-source { margin-bottom: 0.8em; }
.rag-source-head { display: flex; flex-direction: column; }
.rag-quotes li { margin: 0.3em 0 0 0.2em; }
.rag-quote { font-style: italic; }
.rag-viewer { margin-top: 0.8em; }
.rag-viewer-hint { font-size: 0.88em; opacity: 0.7; }
.rag-view-head { margin-bottom: 0.4em; }
.rag-article-text {
  white-space: pre-wrap; overflow-wrap: anywhere; max-height: 55vh; overflow-y: auto; padding: 0.6em 0.8em;
  border: 1px solid var(--border-color-primary, #d4d4d8); border-radius: 6px; line-height: 1.55; font-size: 0.95em;
}
mark.rag-hl { padding: 0 1px; border-radius: 2px; color: inherit; }
mark.cite-active { background: #fde047; color: #1c1917; outline: 2px solid #f59e0b; }
mark.cite-other { background: rgba(253, 224, 71, 0.3); }
.rag-empty p, .rag-none p { opacity: 0.8; }
.rag-missing { color: #b91c1c; }
@media (max-width: 640px) {
  .rag-article-text { max-height: 45vh; font-size: 0.9em; }
  .rag-header h1 { font-size: 1.4em; }
}
"""
