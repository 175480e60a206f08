// podgrep published site: search across every published transcript, in the browser, over the
// prebuilt index in search/ (see publish/site.py `search_files`), loaded lazily, on the first
// search, as scripts (so it works from file:// too): search/meta.js, then only the word shards
// of the query's words (search/w/N.js: folded word → segment ids) and the text shards of the
// segments they name (search/s/N.js). Words must all be said in one sentence; "quoted words"
// must be said in that order. Results are built as DOM nodes with textContent only: nothing
// from a transcript is ever read as HTML.
"use strict";

(function () {
  const LIMIT = 100;
  const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  const loaded = new Map(); // path → Promise of the shard's data
  const waiting = new Map(); // path → resolve, until its script calls podgrepShard

  // each shard's script calls podgrepShard(kind, data); which file it was is known by the
  // script element that is running it
  window.podgrepShard = function (kind, data) {
    const el = document.currentScript;
    const path = el && el.dataset.shard;
    const done = path && waiting.get(path);
    if (done) {
      waiting.delete(path);
      done(data);
    }
  };

  function shard(path) {
    if (!loaded.has(path)) {
      loaded.set(path, new Promise((resolve, reject) => {
        waiting.set(path, resolve);
        const el = document.createElement("script");
        el.src = path;
        el.dataset.shard = path;
        el.onerror = () => reject(new Error("could not load " + path));
        el.onload = () => { if (waiting.has(path)) reject(new Error(path + " is not a shard")); };
        document.head.appendChild(el);
      }));
    }
    return loaded.get(path);
  }

  const words = (term) => term.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  const head = (word) => Array.from(word).slice(0, 2).join("");

  async function candidates(meta, word) {
    // the ids of the segments with a word that starts with `word`
    const key = head(word);
    const keys = Array.from(word).length >= 2 ? (key in meta.w ? [key] : [])
      : Object.keys(meta.w).filter((k) => k.startsWith(word));
    const found = new Set();
    for (const data of await Promise.all(keys.map((k) => shard("search/w/" + meta.w[k] + ".js")))) {
      for (const [w, ids] of Object.entries(data)) {
        if (w.startsWith(word)) for (const id of ids) found.add(id);
      }
    }
    return found;
  }

  function terms(query) {
    const out = [];
    const re = /"([^"]+)"|(\S+)/g;
    let m;
    while ((m = re.exec(query)) !== null) {
      const t = fold((m[1] || m[2]).replace(/[^\p{L}\p{N}'\s-]/gu, " ").trim().replace(/\s+/g, " "));
      if (t) out.push(t);
    }
    return out;
  }

  function escapeRe(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  function clock(seconds) {
    const t = Math.max(0, Math.floor(seconds));
    const pad = (n) => String(n).padStart(2, "0");
    return pad(Math.floor(t / 3600)) + ":" + pad(Math.floor((t % 3600) / 60)) + ":" + pad(t % 60);
  }

  function highlighted(text, res) {
    // the matched spans of the original text (folding keeps lengths for Latin text)
    const f = fold(text);
    const spans = [];
    for (const re of res) {
      const g = new RegExp(re.source, "g" + re.flags.replace("g", ""));
      let m;
      while ((m = g.exec(f)) !== null) {
        spans.push([m.index + m[1].length, m.index + m[0].length]);
        if (m[0].length === 0) g.lastIndex++;
      }
    }
    spans.sort((a, b) => a[0] - b[0]);
    const frag = document.createDocumentFragment();
    let at = 0;
    const sameLength = f.length === text.length;
    for (const [a, b] of spans) {
      if (!sameLength || a < at) continue;
      frag.appendChild(document.createTextNode(text.slice(at, a)));
      const mark = document.createElement("mark");
      mark.textContent = text.slice(a, b);
      frag.appendChild(mark);
      at = b;
    }
    frag.appendChild(document.createTextNode(text.slice(at)));
    return frag;
  }

  async function run(query) {
    const section = document.getElementById("results");
    const list = document.getElementById("hits");
    const count = document.getElementById("results-count");
    list.replaceChildren();
    const ts = terms(query);
    if (!ts.length) {
      section.hidden = true;
      return;
    }
    count.textContent = "Searching…";
    section.hidden = false;
    const meta = await shard("search/meta.js");
    let ids = null;
    for (const word of ts.flatMap(words)) {
      const found = await candidates(meta, word);
      ids = ids === null ? found : new Set([...ids].filter((id) => found.has(id)));
      if (!ids.size) break;
    }
    const sorted = [...(ids || [])].sort((a, b) => a - b);
    const res = ts.map((t) => new RegExp("(^|[^\\p{L}\\p{N}])" + escapeRe(t), "u"));
    let n = 0;
    let i = 0;
    // the candidates are checked, text shard by text shard, until LIMIT hits are shown
    while (i < sorted.length && n < LIMIT) {
      const number = Math.floor(sorted[i] / meta.n);
      const segments = await shard("search/s/" + number + ".js");
      for (; i < sorted.length && Math.floor(sorted[i] / meta.n) === number && n < LIMIT; i++) {
        const [e, start, speaker, text] = segments[sorted[i] % meta.n];
        if (!res.every((re) => re.test(fold(text)))) continue;
        n++;
        const [url, title, show] = meta.e[e];
        const li = document.createElement("li");
        li.className = "hit";
        const a = document.createElement("a");
        a.className = "hit-link";
        a.href = url + "#t=" + start;
        a.textContent = title + " · " + clock(start);
        const info = document.createElement("span");
        info.className = "meta";
        info.textContent = " " + show + (speaker ? " · " + speaker : "");
        const p = document.createElement("p");
        p.className = "hit-text";
        p.appendChild(highlighted(text, res));
        li.append(a, info, p);
        list.appendChild(li);
      }
    }
    count.textContent = n === 0 ? "No matches." : i < sorted.length
      ? "The first " + LIMIT + " matches." : n + (n === 1 ? " match." : " matches.");
  }

  function failed(err) {
    document.getElementById("results-count").textContent = "Search failed: " + err.message;
  }

  const box = document.querySelector("form.search input[name=q]");
  const form = document.querySelector("form.search");
  const q = new URLSearchParams(location.search).get("q") || "";
  if (box) box.value = q;
  if (form) {
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const value = box ? box.value : "";
      history.replaceState(null, "", value ? "?q=" + encodeURIComponent(value) : location.pathname);
      run(value).catch(failed);
    });
  }
  if (q) run(q).catch(failed);
})();
