// Live progress of an import and of a campaign: polls the progress JSON and updates the bar,
// then reloads the page when the work ends so that the final report and the actions that
// now apply show; and the campaign preview's frame, sized to the message. The rest of the
// app needs no script.
"use strict";

// follow polls url every interval milliseconds, handing each answer to show, until an answer
// says done; then it reloads the page. A failed poll is said in text and retried.
function follow(url, interval, text, show) {
  async function poll() {
    try {
      const res = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!res.ok) throw new Error("HTTP " + res.status);
      const p = await res.json();
      show(p);
      if (p.done) {
        window.location.reload();
        return;
      }
    } catch (e) {
      text.textContent = "Could not read the progress (" + e.message + "); retrying…";
    }
    setTimeout(poll, interval);
  }
  poll();
}

(function () {
  const box = document.getElementById("progress");
  if (!box) return;
  const bar = document.getElementById("progress-bar");
  const text = document.getElementById("progress-text");
  follow(box.dataset.url, 700, text, function (p) {
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
  });
})();

// A campaign's progress is followed while it is scheduled or sending.
(function () {
  const box = document.getElementById("campaign-progress");
  if (!box || !box.dataset.url) return;
  const bar = document.getElementById("campaign-bar");
  const text = document.getElementById("campaign-counts");
  follow(box.dataset.url, 2000, text, function (p) {
    bar.value = p.percent;
    bar.textContent = p.percent + "%";
    text.textContent = p.total + " recipients: " + p.sent + " sent, " + p.failed + " failed, " +
      p.skipped + " skipped, " + p.queued + " queued" + (p.sending ? ", " + p.sending + " sending" : "") +
      " (" + p.state + ")";
  });
})();

// The campaign preview shows the whole message, notices included, in a frame as tall as the
// message: a frame that scrolls on its own hides the notice a reviewer must read. The frame
// runs no script; its document is in our origin, so its height can be read from here.
(function () {
  const frame = document.getElementById("preview-frame");
  if (!frame) return;
  function fit() {
    const doc = frame.contentDocument;
    if (!doc || !doc.documentElement) return;
    // The frame's height includes its border (box-sizing: border-box).
    frame.style.height = doc.documentElement.scrollHeight + (frame.offsetHeight - frame.clientHeight) + "px";
    frame.dataset.fitted = "true";
  }
  frame.addEventListener("load", fit);
  // A narrower window rewraps the message: fit again.
  window.addEventListener("resize", fit);
  if (frame.contentDocument && frame.contentDocument.readyState === "complete") fit();
})();
