// podgrep published site: search across every published transcript, in the browser, over the
// prebuilt index in search-index.js (`podgrepIndex`). Words must all be said in one sentence;
// "quoted words" must be said in that order. Results are built as DOM nodes with textContent
// only: nothing from a transcript is ever read as HTML.
"use strict";

(function () {
  const index = window.podgrepIndex || { e: [], s: [] };
  const LIMIT = 100;
  const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  const folded = index.s.map((s) => fold(s[3]));

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

  function run(query) {
    const section = document.getElementById("results");
    const list = document.getElementById("hits");
    const count = document.getElementById("results-count");
    list.replaceChildren();
    const ts = terms(query);
    if (!ts.length) {
      section.hidden = true;
      return;
    }
    const res = ts.map((t) => new RegExp("(^|[^\\p{L}\\p{N}])" + escapeRe(t), "u"));
    let n = 0;
    for (let i = 0; i < folded.length; i++) {
      if (!res.every((re) => re.test(folded[i]))) continue;
      n++;
      if (n > LIMIT) continue;
      const [e, start, speaker, text] = index.s[i];
      const [url, title, show] = index.e[e];
      const li = document.createElement("li");
      li.className = "hit";
      const a = document.createElement("a");
      a.className = "hit-link";
      a.href = url + "#t=" + start;
      a.textContent = title + " · " + clock(start);
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = " " + show + (speaker ? " · " + speaker : "");
      const p = document.createElement("p");
      p.className = "hit-text";
      p.appendChild(highlighted(text, res));
      li.append(a, meta, p);
      list.appendChild(li);
    }
    count.textContent = n === 0 ? "No matches." : n > LIMIT
      ? n + " matches, the first " + LIMIT + " shown." : n + (n === 1 ? " match." : " matches.");
    section.hidden = false;
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
      run(value);
    });
  }
  if (q) run(q);
})();
