// Live progress of an import: polls the run's progress JSON and updates the bar, then reloads
// the page when the run ends so that the final report shows; the same for a campaign's
// progress. The rest of the app needs no script.
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

// Live progress of a campaign: polls the campaign's progress JSON while it is scheduled or
// sending, and reloads the page when it stops so that the state and actions are current.
(function () {
  const box = document.getElementById("campaign-progress");
  if (!box || !box.dataset.url) return;
  const bar = document.getElementById("campaign-bar");
  const text = document.getElementById("campaign-counts");
  const url = box.dataset.url;
  async function poll() {
    try {
      const res = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!res.ok) throw new Error("HTTP " + res.status);
      const p = await res.json();
      bar.value = p.percent;
      bar.textContent = p.percent + "%";
      text.textContent = p.total + " recipients: " + p.sent + " sent, " + p.failed + " failed, " +
        p.skipped + " skipped, " + p.queued + " queued" + (p.sending ? ", " + p.sending + " sending" : "") +
        " (" + p.state + ")";
      if (p.done) {
        window.location.reload();
        return;
      }
    } catch (e) {
      text.textContent = "Could not read the progress (" + e.message + "); retrying…";
    }
    setTimeout(poll, 2000);
  }
  poll();
})();
