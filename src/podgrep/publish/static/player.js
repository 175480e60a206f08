// podgrep published site: an episode page's player. Clicking a sentence seeks to it; a `#t=`
// deep link (seconds, or h:mm:ss) seeks on load and whenever the hash changes.
"use strict";

(function () {
  const player = document.getElementById("player");
  const segs = Array.from(document.querySelectorAll(".seg"));

  function parseTime(text) {
    if (!text) return null;
    const parts = text.split(":").map(Number);
    if (parts.some((n) => !isFinite(n) || n < 0)) return null;
    return parts.reduce((acc, n) => acc * 60 + n, 0);
  }

  function hashTime() {
    const m = location.hash.match(/(?:^#|&)t=([0-9:.]+)/);
    return m ? parseTime(m[1]) : null;
  }

  function mark(t) {
    let current = null;
    for (const s of segs) {
      if (parseFloat(s.dataset.start) <= t + 0.05) current = s; else break;
    }
    for (const s of segs) {
      if (s === current) continue;
      s.classList.remove("current");
      s.removeAttribute("aria-current");
    }
    if (current && !current.classList.contains("current")) {
      current.classList.add("current");
      current.setAttribute("aria-current", "true");
    }
    return current;
  }

  function seek(t, play) {
    const current = mark(t);
    if (current) current.scrollIntoView({ block: "center" });
    if (!player) return;
    const go = () => {
      player.currentTime = t;
      if (play) player.play().catch(() => {});
    };
    if (player.readyState >= 1) go();
    else player.addEventListener("loadedmetadata", go, { once: true });
  }

  for (const s of segs) {
    s.addEventListener("click", (ev) => {
      ev.preventDefault();
      const t = parseFloat(s.dataset.start);
      history.replaceState(null, "", "#t=" + s.dataset.start);
      seek(t, true);
    });
  }
  window.addEventListener("hashchange", () => {
    const t = hashTime();
    if (t !== null) seek(t, true);
  });
  if (player) player.addEventListener("timeupdate", () => mark(player.currentTime));
  const start = hashTime();
  if (start !== null) seek(start, false);
})();
