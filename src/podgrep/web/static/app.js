// podgrep pages: sync progress, library actions and the transcript player. No inline script runs
// anywhere (the pages' Content-Security-Policy forbids it), so all behaviour lives here.
"use strict";

const TOKEN_KEY = "podgrep-token";
const FLASH_KEY = "podgrep-flash";

// -- write access -------------------------------------------------------------------------------

(function takeTokenFromHash() {
  const m = location.hash.match(/(?:^#|&)token=([^&]+)/);
  if (m) {
    localStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
})();

function token() {
  const field = document.getElementById("token");
  if (field && field.value) {
    localStorage.setItem(TOKEN_KEY, field.value);
    return field.value;
  }
  return localStorage.getItem(TOKEN_KEY) || "";
}

async function post(url, body, json = true, method = "POST") {
  const headers = {};
  const t = token();
  if (t) headers["Authorization"] = "Bearer " + t;
  if (json) headers["Content-Type"] = "application/json";
  const resp = await fetch(url, {
    method,
    headers,
    body: method === "DELETE" ? undefined : json ? JSON.stringify(body || {}) : body,
  });
  let data = {};
  try { data = await resp.json(); } catch (e) { /* not JSON */ }
  if (!resp.ok) {
    const err = new Error(typeof data.detail === "string" ? data.detail : resp.status + " " + resp.statusText);
    err.status = resp.status;
    throw err;
  }
  return data;
}

function say(el, text, bad) {
  if (!el) return;
  el.textContent = text;
  el.classList.toggle("bad", !!bad);
}

// -- sync progress, on every page ----------------------------------------------------------------

const VERBS = {
  fetch: "Downloading", transcribe: "Transcribing", speakers: "Finding speakers in", index: "Indexing",
};
let pollTimer = null;
let wasRunning = false;

function describe(sync, running) {
  if (sync.running) {
    if (sync.phase === "refreshing") return { text: "Sync: checking feeds…" };
    if (sync.step) {
      const pct = sync.total ? Math.min(100, Math.round((100 * sync.done) / sync.total)) : null;
      return {
        text: `Sync: ${VERBS[sync.step] || sync.step} “${sync.episode}”` + (pct !== null ? ` ${pct}%` : "…"),
        value: pct,
      };
    }
    return { text: "Sync: starting…" };
  }
  if (running.length) {
    const r = running[0];
    return { text: `A sync is running: ${VERBS[r.step] || r.step} “${r.title}”…` };
  }
  return null;
}

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString();
}

// one running job: which worker holds it, since when, and when its lease runs out
function runningLine(r) {
  const left = r.lease_until ? Math.round(r.lease_until - Date.now() / 1000) : null;
  const lease = left === null ? "" : left > 0 ? `, lease ${left} s left` : ", lease expired";
  const since = r.started ? ` since ${clock(r.started)}` : "";
  return `${VERBS[r.step] || r.step} “${r.title}”: ${r.worker || "a worker"}${since}${lease}`;
}

function renderStatus(data) {
  const box = document.getElementById("sync-status");
  const now = describe(data.sync, data.running);
  const sync = data.sync;
  if (box) {
    box.textContent = "";
    if (now) {
      box.hidden = false;
      box.append(now.text + " ");
      if (now.value !== undefined && now.value !== null) {
        const bar = document.createElement("progress");
        bar.max = 100;
        bar.value = now.value;
        box.append(bar);
      }
    } else if (sync.finished && Date.now() / 1000 - sync.finished < 120) {
      box.hidden = false;
      box.textContent = sync.phase === "failed"
        ? `Sync stopped: ${sync.error}`
        : `Sync finished: ${sync.episodes_done} episode(s) ready, ${sync.failures.length} failed.`;
    } else {
      box.hidden = true;
    }
  }
  const detail = document.getElementById("sync-detail");
  if (detail) {
    const lines = [];
    if (now) lines.push(now.text);
    if (sync.running || sync.finished) {
      lines.push(`${sync.steps_done} step(s) done, ${sync.episodes_done} episode(s) ready, ${sync.failures.length} failed.`);
    }
    for (const e of sync.feed_errors || []) lines.push("Feed error: " + e);
    if (sync.phase === "failed" && sync.error) lines.push("Stopped: " + sync.error);
    const c = data.counts;
    lines.push(`Jobs: ${c.pending} pending, ${c.running} running, ${c.done} done, ${c.failed} failed.`);
    for (const r of data.running || []) lines.push(runningLine(r));
    detail.textContent = "";
    for (const line of lines) {
      const p = document.createElement("div");
      p.textContent = line;
      detail.append(p);
    }
  }
  const button = document.getElementById("sync-button");
  if (button) button.disabled = !!sync.running;
  updateShows(data.shows);
  updateFailures(data.failures);
}

function updateShows(shows) {
  for (const s of shows || []) {
    const card = document.querySelector(`.show-card[data-show-id="${s.id}"]`);
    if (!card) continue;
    const set = (name, value) => {
      const el = card.querySelector(`[data-field="${name}"]`);
      if (el) el.textContent = String(value);
    };
    set("transcribed", s.transcribed);
    set("episodes", s.episodes);
    set("failed", s.failed);
    const wrap = card.querySelector('[data-field="failed-wrap"]');
    if (wrap) wrap.hidden = !s.failed;
    const bar = card.querySelector('[data-field="progress"]');
    if (bar) {
      bar.max = s.episodes || 1;
      bar.value = s.transcribed;
    }
  }
}

function updateFailures(failures) {
  const panel = document.getElementById("failures-panel");
  const list = document.getElementById("failures");
  if (!panel || !list) return;
  panel.hidden = !failures.length;
  list.textContent = "";
  for (const f of failures) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = "/episodes/" + encodeURIComponent(f.episode_id);
    a.textContent = f.title;
    const err = document.createElement("span");
    err.className = "error-text";
    err.textContent = f.error || "";
    li.append(a, ` (${f.show}) — ${f.step}, attempt ${f.attempts}: `, err);
    list.append(li);
  }
}

async function poll() {
  clearTimeout(pollTimer);
  let running = false;
  try {
    const resp = await fetch("/api/jobs", { headers: { Accept: "application/json" } });
    if (resp.ok) {
      const data = await resp.json();
      renderStatus(data);
      running = data.sync.running || data.running.length > 0;
    }
  } catch (e) { /* server gone for a moment: try again later */ }
  wasRunning = running;
  pollTimer = setTimeout(poll, running ? 1500 : 10000);
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) poll();
});

// -- library actions -----------------------------------------------------------------------------

function flash(text) {
  sessionStorage.setItem(FLASH_KEY, text);
  location.reload();
}

function setUpLibrary() {
  const message = document.getElementById("add-message");
  const saved = sessionStorage.getItem(FLASH_KEY);
  if (saved && message) {
    sessionStorage.removeItem(FLASH_KEY);
    say(message, saved);
  }
  const stored = localStorage.getItem(TOKEN_KEY);
  const field = document.getElementById("token");
  if (field && stored) field.value = stored;

  const addForm = document.getElementById("add-form");
  if (addForm) addForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const url = document.getElementById("add-url").value.trim();
    const button = addForm.querySelector("button");
    button.disabled = true;
    say(message, "Reading " + url + " …");
    try {
      const r = await post("/api/sources", { url });
      const verb = r.created ? "Added" : "Already have";
      flash(`${verb} ${r.kind} “${r.show.title}”: ${r.new_episodes.length} new episode(s). Press “Sync now” to transcribe.`);
    } catch (e) {
      say(message, e.message, true);
    } finally {
      button.disabled = false;
    }
  });

  const upForm = document.getElementById("upload-form");
  if (upForm) upForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = document.getElementById("upload-file");
    if (!input.files.length) return;
    const fd = new FormData();
    fd.append("file", input.files[0]);
    const button = upForm.querySelector("button");
    button.disabled = true;
    say(message, "Uploading " + input.files[0].name + " …");
    try {
      const r = await post("/api/uploads", fd, false);
      flash(`Uploaded ${r.file} to “${r.show.title}”. Press “Sync now” to transcribe.`);
    } catch (e) {
      say(message, e.message, true);
    } finally {
      button.disabled = false;
    }
  });

  const syncButton = document.getElementById("sync-button");
  if (syncButton) syncButton.addEventListener("click", async () => {
    syncButton.disabled = true;
    try {
      await post("/api/sync", {});
    } catch (e) {
      say(document.getElementById("sync-detail"), e.message, true);
    }
    poll();
  });

  const retryButton = document.getElementById("retry-button");
  if (retryButton) retryButton.addEventListener("click", async () => {
    retryButton.disabled = true;
    try {
      const r = await post("/api/retry", {});
      say(document.getElementById("sync-detail"), `Retrying ${r.retried} step(s)…`);
    } catch (e) {
      say(document.getElementById("sync-detail"), e.message, true);
    } finally {
      retryButton.disabled = false;
    }
    poll();
  });
}

// -- the episode player --------------------------------------------------------------------------

function parseTime(value) {
  if (value === null || value === undefined) return null;
  const v = String(value).trim();
  if (!v) return null;
  if (/^\d+(\.\d+)?$/.test(v)) return parseFloat(v);
  let m = v.match(/^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$/);
  if (m) return (+(m[1] || 0)) * 3600 + (+m[2]) * 60 + (+m[3]);
  m = v.match(/^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/);
  if (m && (m[1] || m[2] || m[3])) return (+(m[1] || 0)) * 3600 + (+(m[2] || 0)) * 60 + (+(m[3] || 0));
  return null;
}

function hashTime() {
  const m = location.hash.match(/(?:^#|&)t=([^&]+)/);
  return m ? parseTime(decodeURIComponent(m[1])) : null;
}

function setUpEpisode() {
  const article = document.querySelector("article.episode");
  if (!article) return;
  const audio = document.getElementById("player");
  const segs = Array.from(document.querySelectorAll(".seg"));
  const starts = segs.map((s) => parseFloat(s.dataset.start));
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  let current = -1;
  let userScrolled = 0;

  const header = document.querySelector("header.site");
  const fitHeader = () => document.documentElement.style.setProperty("--header-h", header.offsetHeight + "px");
  fitHeader();
  window.addEventListener("resize", fitHeader);
  for (const ev of ["wheel", "touchmove"]) window.addEventListener(ev, () => { userScrolled = Date.now(); }, { passive: true });

  function indexAt(t) {
    let lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= t + 0.05) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }

  function inView(el) {
    const r = el.getBoundingClientRect();
    const bar = document.getElementById("player-bar");
    const top = bar ? bar.getBoundingClientRect().bottom : 0;
    return r.top >= top && r.bottom <= window.innerHeight;
  }

  function highlight(t, force) {
    const i = indexAt(t);
    if (i !== current) {
      if (current >= 0 && segs[current]) {
        segs[current].classList.remove("current");
        segs[current].removeAttribute("aria-current");
      }
      current = i;
      if (i >= 0) {
        segs[i].classList.add("current");
        segs[i].setAttribute("aria-current", "true");
      }
    }
    if (i >= 0 && (force || Date.now() - userScrolled > 4000) && !inView(segs[i])) {
      segs[i].scrollIntoView({ block: "center", behavior: force || reduced ? "auto" : "smooth" });
    }
  }

  function seek(t, play) {
    if (t === null || isNaN(t)) return;
    highlight(t, true);
    if (!audio) return;
    const go = () => {
      audio.currentTime = t;
      if (play) {
        const p = audio.play();
        if (p && p.catch) p.catch(() => {});
      }
    };
    if (audio.readyState >= 1) {
      go();
    } else {
      try { audio.currentTime = t; } catch (e) { /* set again once metadata is in */ }
      audio.addEventListener("loadedmetadata", go, { once: true });
    }
  }

  if (audio) {
    audio.addEventListener("timeupdate", () => highlight(audio.currentTime, false));
    audio.addEventListener("seeked", () => highlight(audio.currentTime, false));
  }

  const transcript = document.getElementById("transcript");
  if (transcript) transcript.addEventListener("click", (ev) => {
    const seg = ev.target.closest(".seg");
    if (seg) seek(parseFloat(seg.dataset.start), true);
  });

  document.addEventListener("click", (ev) => {
    const link = ev.target.closest("a.seek");
    if (!link) return;
    ev.preventDefault();
    const t = parseFloat(link.dataset.t);
    history.replaceState(null, "", "#t=" + t);
    seek(t, true);
  });

  window.addEventListener("hashchange", () => {
    const t = hashTime();
    if (t !== null) seek(t, true);
  });

  document.addEventListener("keydown", (ev) => {
    if (!audio || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const tag = (ev.target.tagName || "").toLowerCase();
    if (["input", "textarea", "select", "button", "audio"].includes(tag) || ev.target.isContentEditable) return;
    if (ev.key === "k") {
      if (audio.paused) { const p = audio.play(); if (p && p.catch) p.catch(() => {}); } else audio.pause();
    } else if (ev.key === "j") {
      audio.currentTime = Math.max(0, audio.currentTime - 10);
    } else if (ev.key === "l") {
      audio.currentTime = audio.currentTime + 10;
    } else {
      return;
    }
    ev.preventDefault();
  });

  const start = hashTime() ?? parseTime(article.dataset.start);
  if (start !== null) seek(start, false);
}

// -- speaker names on the episode page -----------------------------------------------------------

function setUpSpeakers() {
  const section = document.querySelector("section.speakers[data-episode-id]");
  if (!section) return;
  const url = "/api/episodes/" + encodeURIComponent(section.dataset.episodeId) + "/speakers";
  for (const form of section.querySelectorAll("form.speaker-form")) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const input = form.querySelector("input[name=name]");
      const message = form.querySelector(".speaker-message");
      const button = form.querySelector("button");
      button.disabled = true;
      say(message, "Saving…");
      try {
        const speakers = await post(url, { label: form.dataset.label, name: input.value });
        for (const s of speakers) {
          const shown = s.name || s.label;
          for (const el of document.querySelectorAll(`.speaker[data-speaker-id="${s.id}"]`)) {
            el.textContent = shown;  // text, never markup
          }
          if (String(s.id) === form.dataset.speakerId) {
            input.value = s.name || "";
            say(message, s.name ? "Saved." : "Name cleared.");
          }
        }
      } catch (e) {
        say(message, e.status === 401 ? "This server needs the write token: " + e.message : e.message, true);
      } finally {
        button.disabled = false;
      }
    });
  }
}

// -- pause, resume and remove on the show and episode pages ----------------------------------------

function needsToken(e) {
  return e.status === 401 ? "This server needs the write token: " + e.message : e.message;
}

function setUpRemoval() {
  const message = document.getElementById("action-message");
  const show = document.getElementById("show-actions");
  if (show) {
    const id = encodeURIComponent(show.dataset.showId);
    const pause = document.getElementById("pause-button");
    if (pause) pause.addEventListener("click", async () => {
      const paused = show.dataset.paused === "true";
      pause.disabled = true;
      try {
        await post(`/api/shows/${id}/${paused ? "resume" : "pause"}`, {});
        location.reload();
      } catch (e) {
        say(message, needsToken(e), true);
        pause.disabled = false;
      }
    });
    const remove = document.getElementById("remove-show-button");
    if (remove) remove.addEventListener("click", async () => {
      const n = show.dataset.episodes;
      const ok = window.confirm(
        `Remove “${show.dataset.title}” with its ${n} episode(s), their transcripts, search entries and media files no other show uses? This cannot be undone.`);
      if (!ok) return;
      remove.disabled = true;
      try {
        const r = await post(`/api/shows/${id}`, null, true, "DELETE");
        sessionStorage.setItem(FLASH_KEY, `Removed ${r.removed}: ${r.episodes} episode(s), ${r.media_files} media file(s).`);
        location.href = "/";
      } catch (e) {
        say(message, needsToken(e), true);
        remove.disabled = false;
      }
    });
  }
  const episode = document.getElementById("episode-actions");
  if (episode) {
    const remove = document.getElementById("remove-episode-button");
    if (remove) remove.addEventListener("click", async () => {
      const ok = window.confirm(
        `Remove the episode “${episode.dataset.title}” with its transcript, search entries and media file (unless another show uses it)? This cannot be undone.`);
      if (!ok) return;
      remove.disabled = true;
      try {
        await post("/api/episodes/" + encodeURIComponent(episode.dataset.episodeId), null, true, "DELETE");
        location.href = "/shows/" + encodeURIComponent(episode.dataset.showId);
      } catch (e) {
        say(message, needsToken(e), true);
        remove.disabled = false;
      }
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setUpLibrary();
  setUpEpisode();
  setUpSpeakers();
  setUpRemoval();
  poll();
});
