// linkedthreads serve: the page's behaviour. Every text from the API arrives as HTML the
// server escaped, or is set with textContent here; nothing is evaluated.
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const base = $('meta[name="base"]').content;
  const csrf = $('meta[name="csrf-token"]').content;

  function banner(message) {
    const box = $("#banner");
    if (!box) return;
    box.textContent = message;
    box.hidden = !message;
  }

  async function getJSON(url) {
    const res = await fetch(base + url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    return answer(res);
  }

  async function post(url, body) {
    const res = await fetch(base + url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {}),
    });
    return answer(res);
  }

  async function answer(res) {
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      throw new Error((data && data.error) || "The server answered HTTP " + res.status + ".");
    }
    return data;
  }

  function localTimes(root) {
    $$("time[datetime]", root).forEach((t) => {
      const d = new Date(t.getAttribute("datetime"));
      if (isNaN(d)) return;
      t.title = d.toLocaleString();
      t.textContent = relative(d);
    });
  }

  function relative(d) {
    const s = (Date.now() - d.getTime()) / 1000;
    if (s < 60) return "just now";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    if (s < 7 * 86400) return Math.floor(s / 86400) + " d ago";
    return d.toLocaleDateString();
  }

  function fragment(html) {
    const t = document.createElement("template");
    t.innerHTML = html; // escaped by the server's templates
    return t.content;
  }

  // -- the list: a page at a time, more on scroll -------------------------------------------
  const rows = $("#rows");
  const sentinel = $("#sentinel");
  let loading = false;

  function query() {
    const form = $("#filters");
    const params = new URLSearchParams(form ? new FormData(form) : undefined);
    for (const [k, v] of Array.from(params.entries())) if (!v) params.delete(k);
    return params;
  }

  async function more() {
    if (!rows || loading || rows.dataset.done === "true") return;
    loading = true;
    const params = query();
    const filtered = params.toString() !== "";
    const read = Number(rows.dataset.position || "0");
    sentinel.textContent = filtered && read ? "Searching… (" + read.toLocaleString() + " children read)" : "Loading…";
    try {
      params.set("after", rows.dataset.after || "");
      params.set("position", rows.dataset.position || "0");
      const data = await getJSON("api/rows?" + params.toString());
      const frag = fragment(data.html);
      Array.from(frag.children).forEach((li) => {
        if (!rows.querySelector('li[data-id="' + CSS.escape(li.dataset.id) + '"]')) rows.appendChild(li);
      });
      localTimes(rows);
      rows.dataset.after = data.after || "";
      rows.dataset.position = String(data.position);
      rows.dataset.done = data.done ? "true" : "false";
      sentinel.textContent = data.done ? (rows.children.length ? "That is all." : "") : "";
      loading = false;
      if (!data.done && visible(sentinel)) more();
    } catch (err) {
      banner(err.message);
      sentinel.textContent = "";
      loading = false;
    }
  }

  function visible(el) {
    const r = el.getBoundingClientRect();
    return r.top < window.innerHeight + 200;
  }

  if (rows && sentinel) {
    localTimes(document);
    if (rows.dataset.done === "true" && rows.children.length) sentinel.textContent = "That is all.";
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) more();
    }, { rootMargin: "200px" }).observe(sentinel);
  } else {
    localTimes(document);
  }

  // -- selection and deletion ------------------------------------------------------------------
  function selected() {
    return $$("input.select:checked").map((c) => c.value);
  }

  function updateSelection() {
    const n = selected().length;
    const count = $("#selection-count");
    if (count) count.textContent = n ? n + " selected" : "";
    const button = $("#delete-selected");
    if (button) button.disabled = n === 0;
  }

  document.addEventListener("change", (e) => {
    if (e.target.matches("input.select")) updateSelection();
    if (e.target.id === "select-all") {
      $$("input.select").forEach((c) => { c.checked = e.target.checked; });
      updateSelection();
    }
  });

  function confirmDelete(ids) {
    const dialog = $("#confirm-delete");
    $("#confirm-title").textContent = ids.length === 1 ? "Delete this child?" : "Delete " + ids.length + " children?";
    $("#confirm-text").textContent = ids.length === 1
      ? ids[0] + " will be deleted and taken out of the index. This cannot be undone."
      : ids.slice(0, 3).join(", ") + (ids.length > 3 ? " and " + (ids.length - 3) + " more" : "") +
        " will be deleted and taken out of the index. This cannot be undone.";
    $("#erase-items").checked = false;
    dialog.returnValue = "";
    dialog.showModal();
    dialog.addEventListener("close", async function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue !== "confirm") return;
      try {
        await post("api/delete", { ids: ids, erase_items: $("#erase-items").checked });
        removeRows(ids);
        banner("");
      } catch (err) {
        banner(err.message);
      }
    });
  }

  function removeRows(ids) {
    let removed = 0;
    ids.forEach((id) => {
      const li = rows && rows.querySelector('li[data-id="' + CSS.escape(id) + '"]');
      if (li) { li.remove(); removed += 1; }
    });
    if (rows) rows.dataset.position = String(Math.max(0, Number(rows.dataset.position) - removed));
    const drawer = $("#drawer");
    if (drawer && !drawer.hidden && ids.includes($(".chat", drawer)?.dataset.id)) closeDrawer();
    if (!rows) window.location.href = base;
    updateSelection();
    refreshStats();
  }

  document.addEventListener("click", (e) => {
    const one = e.target.closest(".delete-one");
    if (one) { e.preventDefault(); confirmDelete([one.dataset.id]); return; }
    const open = e.target.closest("a.open");
    if (open && !e.metaKey && !e.ctrlKey && $("#drawer")) { e.preventDefault(); openChild(open.dataset.id); }
  });

  const deleteSelected = $("#delete-selected");
  if (deleteSelected) deleteSelected.addEventListener("click", () => {
    const ids = selected();
    if (ids.length) confirmDelete(ids);
  });

  // -- one child as a chat -------------------------------------------------------------------------
  async function openChild(id) {
    const drawer = $("#drawer");
    const body = $("#drawer-body");
    body.textContent = "Loading…";
    drawer.hidden = false;
    $$("li.row.current").forEach((li) => li.classList.remove("current"));
    const li = rows && rows.querySelector('li[data-id="' + CSS.escape(id) + '"]');
    if (li) li.classList.add("current");
    try {
      const res = await fetch(base + "child/" + encodeURIComponent(id) + "?partial=1", { credentials: "same-origin" });
      if (!res.ok) {
        let msg = "The server answered HTTP " + res.status + ".";
        try { msg = (await res.json()).error || msg; } catch (e) { /* not JSON */ }
        throw new Error(msg);
      }
      body.replaceChildren(fragment(await res.text()));
      localTimes(body);
    } catch (err) {
      body.textContent = err.message;
    }
  }

  function closeDrawer() {
    const drawer = $("#drawer");
    if (drawer) drawer.hidden = true;
    $$("li.row.current").forEach((li) => li.classList.remove("current"));
  }
  const close = $("#close-drawer");
  if (close) close.addEventListener("click", closeDrawer);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeDrawer(); });

  // -- jobs: progress while they run --------------------------------------------------------------
  async function follow(jobId, progress, onDone) {
    const bar = progress && $(".bar span", progress);
    const phase = progress && $(".phase", progress);
    if (progress) progress.hidden = false;
    for (;;) {
      const job = await getJSON("api/jobs/" + encodeURIComponent(jobId));
      if (phase) phase.textContent = job.phase + (job.total ? ": " + job.done.toLocaleString() + " of " + job.total.toLocaleString() : "…");
      if (bar) {
        bar.style.width = job.total ? Math.round((100 * job.done) / job.total) + "%" : "100%";
        bar.classList.toggle("indeterminate", !job.total);
      }
      if (job.state === "failed") throw new Error(job.error);
      if (job.state === "done") {
        if (progress) progress.hidden = true;
        return onDone(job);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  // -- health -----------------------------------------------------------------------------------------
  async function refreshStats() {
    const box = $("#stats");
    if (!box) return;
    try {
      const data = await getJSON("api/stats");
      box.replaceChildren(fragment(data.html));
    } catch (err) {
      box.textContent = err.message;
    }
  }
  refreshStats();

  function healthJob(repair) {
    return async () => {
      const out = $("#verify-result");
      out.textContent = repair ? "Repairing…" : "Verifying every page and every child…";
      $("#verify").disabled = $("#repair").disabled = true;
      try {
        const data = await post("api/verify", { repair: repair });
        await follow(data.job, null, (job) => { out.replaceChildren(fragment(job.html)); });
        refreshStats();
      } catch (err) {
        out.textContent = err.message;
      } finally {
        $("#verify").disabled = $("#repair").disabled = false;
      }
    };
  }
  const verify = $("#verify");
  if (verify) verify.addEventListener("click", healthJob(false));
  const repair = $("#repair");
  if (repair) repair.addEventListener("click", healthJob(true));

  // -- export follows the filter -----------------------------------------------------------------
  ["csv", "json"].forEach((fmt) => {
    const link = $("#export-" + fmt);
    if (link) link.addEventListener("click", () => {
      const q = query().toString();
      link.href = base + "export." + fmt + (q ? "?" + q : "");
    });
  });

  // -- purge: preview, then run with progress ---------------------------------------------------
  const purge = $("#purge");
  let previewJob = null;
  if (purge) {
    const form = $("#purge-form");
    const run = $("#purge-run");
    const out = $("#purge-preview");
    const progress = $("#purge-progress");
    $("#open-purge").addEventListener("click", () => {
      const filters = query();
      ["older", "newer", "metadata"].forEach((k) => { form.elements[k].value = filters.get(k) || ""; });
      out.replaceChildren();
      run.disabled = true;
      run.textContent = "Delete";
      previewJob = null;
      purge.showModal();
    });
    form.addEventListener("input", () => { run.disabled = true; previewJob = null; });
    $("#purge-preview-button").addEventListener("click", async () => {
      run.disabled = true;
      out.replaceChildren();
      try {
        const data = await post("api/purge/preview", {
          older: form.elements.older.value, newer: form.elements.newer.value, metadata: form.elements.metadata.value,
        });
        await follow(data.job, progress, (job) => {
          out.replaceChildren(fragment(job.html));
          localTimes(out);
          previewJob = data.job;
          run.disabled = job.count === 0;
          run.textContent = job.count ? "Delete " + job.count.toLocaleString() : "Delete";
        });
      } catch (err) {
        progress.hidden = true;
        out.textContent = err.message;
      }
    });
    run.addEventListener("click", async () => {
      if (!previewJob) return;
      run.disabled = true;
      $("#purge-preview-button").disabled = true;
      try {
        const data = await post("api/purge/run", { preview: previewJob, erase_items: $("#purge-erase").checked });
        previewJob = null;
        await follow(data.job, progress, (job) => { out.replaceChildren(fragment(job.html)); });
        reloadList();
      } catch (err) {
        progress.hidden = true;
        out.textContent = err.message;
      } finally {
        $("#purge-preview-button").disabled = false;
      }
    });
  }

  function reloadList() {
    if (!rows) return;
    rows.replaceChildren();
    rows.dataset.after = "";
    rows.dataset.position = "0";
    rows.dataset.done = "false";
    const empty = $("#empty");
    if (empty) empty.remove();
    more();
    refreshStats();
  }
})();
