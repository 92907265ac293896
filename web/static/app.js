// Live progress of an import: polls the run's progress JSON and updates the bar, then reloads
// the page when the run ends so that the final report shows. The rest of the app needs no
// script.
"use strict";
(function () {
  const box = document.getElementById("progress");
  if (!box) return;
  const bar = document.getElementById("progress-bar");
  const text = document.getElementById("progress-text");
  const url = box.dataset.url;
  async function poll() {
    try {
      const res = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!res.ok) throw new Error("HTTP " + res.status);
      const p = await res.json();
      // The size is known only for imports this server runs; for others (a command-line
      // import, a scheduled source) the bar shows activity without a percentage.
      let done = "";
      if (p.size > 0) {
        bar.value = p.percent;
        bar.textContent = p.percent + "%";
        done = p.percent + "% · ";
      } else {
        bar.removeAttribute("value");
      }
      text.textContent = done + p.counts.read + " rows read, " + p.counts.inserted +
        " new, " + p.counts.updated + " updated, " + p.counts.rejected + " rejected";
      if (p.done) {
        window.location.reload();
        return;
      }
    } catch (e) {
      text.textContent = "Could not read the progress (" + e.message + "); retrying…";
    }
    setTimeout(poll, 700);
  }
  poll();
})();
