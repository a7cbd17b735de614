/* The web page: vanilla JavaScript, no dependencies, no build step. It uses only the public API
 * (POST /v1/jobs, GET /v1/jobs/{id}, GET /v1/jobs/{id}/result, GET /status) of the server it came from.
 * Text from the API is only ever put in the page as text (textContent, text nodes), never as HTML. */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const SVG_NS = "http://www.w3.org/2000/svg";
  const POLL_FIRST_MS = 250;
  const POLL_MAX_MS = 2000;
  const POLL_ERROR_MAX_MS = 10000;
  const POLL_MAX_FAILURES = 8;
  const OPS_EVERY_MS = 5000;
  // Formats of GET /v1/jobs/{id}/result: value, label, file extension.
  const FORMATS = [
    ["json", "JSON", "json"],
    ["text", "Text", "txt"],
    ["hocr", "hOCR", "hocr"],
    ["alto", "ALTO XML", "alto.xml"],
    ["page", "PAGE XML", "page.xml"],
    ["pdf", "Searchable PDF", "pdf"],
  ];
  // Images a browser can show; PDFs and TIFFs are drawn as a blank page of their size instead.
  const SHOWABLE = ["image/png", "image/jpeg", "image/bmp", "image/webp", "image/gif"];
  const HINTS = {
    0: "The server did not answer. Is it running? (A very large upload can also be cut off.)",
    400: "The request was not understood.",
    401: "This server needs an API key: enter yours under “More options”.",
    403: "Your API key may not do this.",
    404: "Not found: the job is unknown or its result has expired.",
    409: "The job has not finished.",
    410: "The stored images have expired: submit the file again.",
    413: "The file is too large for this server.",
    415: "This kind of file is not accepted: use a PNG, JPEG, TIFF, BMP, WebP or GIF image, or a PDF.",
    422: "The server could not use this file or these options.",
    429: "Too many requests right now: wait a moment, then try again.",
    500: "The server failed while answering.",
    502: "The server is not reachable through its proxy.",
    503: "The service is unavailable right now (its job store, broker or an engine is down): try again shortly.",
    504: "The server took too long to answer.",
  };

  const state = {
    file: null, // the chosen, dropped or pasted File
    strokes: [], // the drawing: [{width, points: [[x, y], ...]}]
    current: null, // the stroke being drawn
    token: 0, // bumps with every submission; a poll loop stops when it is not its own any more
    imageUrl: null, // object URL of the submitted image when a browser can show it
    lastStatus: "",
    text: "",
    lines: new Map(), // key -> {line, result, button, rect, label}
    selected: null,
    optionsFilled: false,
    opsTimer: null,
  };

  class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter;
    }
  }

  // ---- small DOM helpers (text only) ----------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svgEl(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    return node;
  }

  function setAttrs(node, attrs) {
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.setAttribute("class", value);
      else if (key === "text") node.textContent = String(value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
  }

  const fmt = (value, digits = 3) => (typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–");
  const pct = (value) => (typeof value === "number" && Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : "–");
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const shortId = (id) => String(id || "").slice(0, 8);

  // "12 s ago" for an ISO time from the server (the same machine's clock, or close to it).
  function ago(iso) {
    const then = Date.parse(iso || "");
    if (!Number.isFinite(then)) return iso || "";
    const seconds = Math.max(0, Math.round((Date.now() - then) / 1000));
    if (seconds < 120) return `${seconds} s ago`;
    if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
    return `${Math.round(seconds / 3600)} h ago`;
  }

  function bytes(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
    return `${(n / 1024 / 1024).toFixed(1)} MB`;
  }

  // ---- the API ----------------------------------------------------------------------------------

  function authHeaders() {
    const key = $("api-key").value.trim();
    return key ? { "X-API-Key": key } : {};
  }

  async function api(path, init) {
    let response;
    try {
      const headers = { Accept: "application/json", ...authHeaders() };
      response = await fetch(path, { ...init, headers, cache: "no-store" });
    } catch (error) {
      throw new ApiError(0, "network_error", String(error && error.message ? error.message : error));
    }
    const raw = await response.text().catch(() => "");
    let body = null;
    try {
      body = raw ? JSON.parse(raw) : null;
    } catch (error) {
      body = null;
    }
    if (!response.ok) {
      const detail = body && typeof body === "object" && body.error ? body.error : {};
      throw new ApiError(
        response.status,
        typeof detail.code === "string" ? detail.code : `http_${response.status}`,
        typeof detail.message === "string" ? detail.message : response.statusText || "error",
        response.headers.get("Retry-After"),
      );
    }
    return body;
  }

  function showError(error, context) {
    const box = $("error");
    box.replaceChildren();
    const status = error instanceof ApiError ? error.status : 0;
    const hint = HINTS[status] || (status >= 500 ? HINTS[500] : "The request failed.");
    box.append(el("strong", { class: "error-title" }, `${context}: ${hint}`));
    const where = status ? `HTTP ${status}` : "no answer";
    const code = error && error.code ? `${error.code}, ${where}` : where;
    box.append(el("span", { class: "error-message" }, `${error && error.message ? error.message : ""} (${code})`));
    if (error && error.retryAfter) box.append(el("span", {}, ` Retry after ${error.retryAfter} s.`));
    box.hidden = false;
  }

  // A problem found here, or a job that failed: a title and the message, no HTTP status to explain.
  function showProblem(title, message) {
    const box = $("error");
    box.replaceChildren(el("strong", { class: "error-title" }, title), el("span", { class: "error-message" }, message));
    box.hidden = false;
  }

  function hideError() {
    $("error").hidden = true;
    $("error").replaceChildren();
  }

  // ---- input: tabs ------------------------------------------------------------------------------

  const tabs = () => [$("tab-file"), $("tab-draw")];

  function selectTab(tab, focus) {
    for (const other of tabs()) {
      const on = other === tab;
      other.setAttribute("aria-selected", String(on));
      other.tabIndex = on ? 0 : -1;
      $(other.getAttribute("aria-controls")).hidden = !on;
    }
    if (focus) tab.focus();
    $("read-help").textContent =
      tab.id === "tab-draw" ? "Reads the drawing." : "Reads the chosen file again with these options.";
  }

  function drawing() {
    return $("tab-draw").getAttribute("aria-selected") === "true";
  }

  function setupTabs() {
    for (const tab of tabs()) {
      tab.addEventListener("click", () => selectTab(tab, false));
      tab.addEventListener("keydown", (event) => {
        const list = tabs();
        const index = list.indexOf(tab);
        const next = {
          ArrowRight: list[(index + 1) % list.length],
          ArrowLeft: list[(index - 1 + list.length) % list.length],
          Home: list[0],
          End: list[list.length - 1],
        }[event.key];
        if (next) {
          event.preventDefault();
          selectTab(next, true);
        }
      });
    }
  }

  // ---- input: the drawing pad -------------------------------------------------------------------

  function setupPad() {
    const pad = $("pad");
    const ctx = pad.getContext("2d");
    const point = (event) => {
      const rect = pad.getBoundingClientRect();
      return [
        ((event.clientX - rect.left) * pad.width) / rect.width,
        ((event.clientY - rect.top) * pad.height) / rect.height,
      ];
    };
    const redraw = () => {
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, pad.width, pad.height);
      ctx.strokeStyle = "#000000";
      ctx.fillStyle = "#000000";
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      for (const stroke of state.strokes) {
        const [first, ...rest] = stroke.points;
        if (!rest.length) {
          ctx.beginPath();
          ctx.arc(first[0], first[1], stroke.width / 2, 0, Math.PI * 2);
          ctx.fill();
          continue;
        }
        ctx.lineWidth = stroke.width;
        ctx.beginPath();
        ctx.moveTo(first[0], first[1]);
        for (const [x, y] of rest) ctx.lineTo(x, y);
        ctx.stroke();
      }
      $("undo").disabled = !state.strokes.length;
      $("clear").disabled = !state.strokes.length;
    };
    pad.addEventListener("pointerdown", (event) => {
      if (event.pointerType === "mouse" && event.button !== 0) return;
      event.preventDefault();
      pad.setPointerCapture(event.pointerId);
      state.current = { width: Number($("stroke").value), points: [point(event)], pointer: event.pointerId };
      state.strokes.push(state.current);
      redraw();
    });
    pad.addEventListener("pointermove", (event) => {
      if (!state.current || state.current.pointer !== event.pointerId) return;
      const events = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
      for (const each of events.length ? events : [event]) state.current.points.push(point(each));
      redraw();
    });
    const end = (event) => {
      if (state.current && state.current.pointer === event.pointerId) state.current = null;
    };
    pad.addEventListener("pointerup", end);
    pad.addEventListener("pointercancel", end);
    $("undo").addEventListener("click", () => {
      state.strokes.pop();
      redraw();
    });
    $("clear").addEventListener("click", () => {
      state.strokes = [];
      redraw();
    });
    $("stroke").addEventListener("input", () => {
      $("stroke-out").textContent = $("stroke").value;
    });
    redraw();
  }

  function padPng() {
    return new Promise((resolve) => $("pad").toBlob(resolve, "image/png"));
  }

  // ---- input: files, drop, paste ----------------------------------------------------------------

  function setupFiles() {
    const zone = $("dropzone");
    $("file").addEventListener("change", () => {
      const file = $("file").files && $("file").files[0];
      if (file) takeFile(file, "chosen");
    });
    // Accept a drop anywhere on the page (a file dropped beside the zone would otherwise replace the page).
    const hasFiles = (event) => event.dataTransfer && Array.from(event.dataTransfer.types || []).includes("Files");
    document.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      zone.classList.add("over");
    });
    document.addEventListener("dragleave", (event) => {
      if (event.target === zone || !event.relatedTarget) zone.classList.remove("over");
    });
    document.addEventListener("drop", (event) => {
      zone.classList.remove("over");
      const files = event.dataTransfer && event.dataTransfer.files;
      if (!files || !files.length) return;
      event.preventDefault();
      takeFile(files[0], "dropped");
    });
    document.addEventListener("paste", (event) => {
      const files = event.clipboardData && event.clipboardData.files;
      if (!files || !files.length) return; // plain text pastes go where they were meant to
      event.preventDefault();
      takeFile(files[0], "pasted");
    });
  }

  function takeFile(file, how) {
    state.file = file;
    selectTab($("tab-file"), false);
    const name = file.name && file.name !== "image.png" ? file.name : `${how} image`;
    $("file-name").textContent = `${name} (${bytes(file.size)}, ${how})`;
    submitFile();
  }

  function submitFile() {
    if (!state.file) {
      showProblem("Nothing to read", "Choose, drop or paste a file first.");
      return;
    }
    submit(state.file, state.file.name || "pasted.png", false);
  }

  // ---- submitting and polling -------------------------------------------------------------------

  function formFor(blob, filename, isDrawing) {
    const form = new FormData();
    form.append("image", blob, filename);
    let mode = $("mode").value;
    if (isDrawing && mode === "auto") mode = "char";
    form.append("mode", mode);
    const engines = Array.from(document.querySelectorAll("#engines input:checked")).map((box) => box.value);
    if (engines.length) form.append("engines", engines.join(","));
    if ($("method").value) form.append("method", $("method").value);
    if ($("preset").value) form.append("preset", $("preset").value);
    if ($("top_k").value) form.append("top_k", $("top_k").value);
    if (!$("cache").checked) form.append("cache", "false");
    if (!$("cascade").checked) form.append("cascade", "false");
    if (!$("upright").checked) form.append("upright", "false");
    return form;
  }

  async function submit(blob, filename, isDrawing) {
    hideError();
    const token = ++state.token;
    if (state.imageUrl) URL.revokeObjectURL(state.imageUrl);
    state.imageUrl = SHOWABLE.includes(blob.type) ? URL.createObjectURL(blob) : null;
    state.lastStatus = "";
    $("pages").replaceChildren();
    announce(`Uploading ${filename} (${bytes(blob.size)})…`);
    $("elapsed").textContent = "";
    const started = Date.now();
    let job;
    try {
      job = await api("/v1/jobs", { method: "POST", body: formFor(blob, filename, isDrawing) });
    } catch (error) {
      if (token !== state.token) return;
      announce("The job was not accepted.");
      showError(error, "The job was not accepted");
      return;
    }
    if (token !== state.token) return;
    showProgress(job, started);
    if (finished(job)) finish(job);
    else poll(job.id, token, started);
  }

  const finished = (job) => job.status === "succeeded" || job.status === "failed";

  async function poll(id, token, started) {
    let delay = POLL_FIRST_MS;
    let failures = 0;
    while (token === state.token) {
      await sleep(delay);
      if (token !== state.token) return;
      let job;
      try {
        job = await api(`/v1/jobs/${encodeURIComponent(id)}`);
      } catch (error) {
        if (token !== state.token) return;
        const transient = error.status === 0 || error.status === 429 || error.status >= 500;
        failures += 1;
        if (!transient || failures > POLL_MAX_FAILURES) {
          announce(`Stopped following job ${shortId(id)}.`);
          showError(error, "Could not read the job");
          return;
        }
        $("elapsed").textContent = `The server did not answer (${error.status || "no answer"}); trying again…`;
        const wait = Number(error.retryAfter) * 1000;
        delay = Math.min(Math.max(delay * 2, Number.isFinite(wait) ? wait : 0), POLL_ERROR_MAX_MS);
        continue;
      }
      if (token !== state.token) return;
      failures = 0;
      showProgress(job, started);
      if (finished(job)) {
        finish(job);
        return;
      }
      delay = Math.min(delay * 1.5, POLL_MAX_MS);
    }
  }

  function announce(text) {
    if (text === state.lastStatus) return;
    state.lastStatus = text;
    $("status").textContent = text;
  }

  function showProgress(job, started) {
    const doc = job.document;
    const what = doc ? `${doc.format} document, ${doc.page_count} page${doc.page_count === 1 ? "" : "s"}` : "image";
    announce(`Job ${shortId(job.id)} (${what}): ${job.status}${job.cached ? " (cached)" : ""}`);
    $("elapsed").textContent = `${((Date.now() - started) / 1000).toFixed(1)} s since upload`;
    const list = $("pages");
    list.replaceChildren();
    for (const page of job.pages || []) {
      const error = page.error && page.error.message ? `: ${page.error.message}` : "";
      list.append(el("li", { class: `state-${page.status || "failed"}` }, `Page ${page.page}: ${page.status || "failed"}${error}`));
    }
  }

  function finish(job) {
    if (job.status === "failed" || !job.result) {
      const error = job.error || {};
      announce(`Job ${shortId(job.id)}: failed.`);
      showProblem("The job failed", `${error.message || "no reason given"} (${error.code || "job_failed"})`);
      return;
    }
    renderResult(job);
    const result = job.result;
    const count = result.pages
      ? `${result.pages.length} page${result.pages.length === 1 ? "" : "s"}`
      : result.mode === "char"
        ? `character “${result.character || ""}”`
        : `${(result.lines || []).length} line${(result.lines || []).length === 1 ? "" : "s"}`;
    announce(`Job ${shortId(job.id)}: succeeded, ${count} read.`);
  }

  // ---- the result -------------------------------------------------------------------------------

  function renderResult(job) {
    const result = job.result;
    state.lines = new Map();
    state.selected = null;
    $("result-empty").hidden = true;
    $("result-body").hidden = false;
    $("detail").hidden = true;
    const views = $("views");
    views.replaceChildren();
    $("summary").replaceChildren(summaryText(job));
    renderDownloads(job);
    const summaryBox = $("engine-summary");
    summaryBox.replaceChildren();
    if (job.document || Array.isArray(result.pages)) {
      const texts = [];
      for (const page of result.pages || []) {
        if (page.result) {
          views.append(pageView(page.result, { title: `Page ${page.page}`, size: page.size, key: `p${page.page}`, plain: true }));
          summaryBox.append(engineTable(page.result, `Page ${page.page}`));
          texts.push(page.result.text || "");
        } else {
          const message = page.error && page.error.message ? page.error.message : "not read";
          views.append(el("div", { class: "view" }, el("h3", {}, `Page ${page.page}`), el("p", { class: "error" }, `This page failed: ${message}`)));
          texts.push("");
        }
      }
      state.text = texts.join("\n\n");
    } else if (result.mode === "char" || (result.character !== undefined && !(result.lines || []).length)) {
      views.append(charView(result));
      summaryBox.append(engineTable(result, "Every engine"));
      state.text = result.character || result.text || "";
    } else {
      views.append(pageView(result, { key: "l", image: state.imageUrl }));
      summaryBox.append(engineTable(result, "Every engine"));
      state.text = result.text || "";
    }
    $("copy-status").textContent = "";
  }

  function summaryText(job) {
    const result = job.result;
    const parts = [];
    if (result.mode) parts.push(`mode ${result.mode}`);
    if (result.kind) parts.push(`kind ${result.kind}`);
    if (result.method) parts.push(`${result.method} voting`);
    if (typeof result.confidence === "number") parts.push(`confidence ${fmt(result.confidence)}`);
    if (typeof result.agreement === "number") parts.push(`agreement ${fmt(result.agreement, 2)}`);
    if (typeof result.processing_time_ms === "number") parts.push(`${result.processing_time_ms.toFixed(0)} ms`);
    if (job.cached) parts.push("cached");
    if (Array.isArray(result.failed_pages) && result.failed_pages.length) parts.push(`failed pages: ${result.failed_pages.join(", ")}`);
    const failed = (result.failed_engines || []).map((item) => `${item.engine}: ${item.message}`);
    if (failed.length) parts.push(`left out of the vote: ${failed.join("; ")}`);
    const skipped = Object.keys(result.skipped_engines || {});
    if (skipped.length) parts.push(`not run: ${skipped.join(", ")}`);
    return `Job ${shortId(job.id)}: ${parts.join(" · ")}`;
  }

  function renderDownloads(job) {
    const box = $("downloads");
    box.replaceChildren();
    const base = `/v1/jobs/${encodeURIComponent(job.id)}/result`;
    const pages = job.document ? job.document.page_count : 1;
    for (const [format, label, ext] of FORMATS) {
      if (format === "page" && pages > 1) {
        for (let page = 1; page <= Math.min(pages, 20); page += 1) {
          box.append(el("a", { class: "button", href: `${base}?format=page&page=${page}`, download: `${shortId(job.id)}-p${page}.${ext}` }, `${label} p. ${page}`));
        }
        continue;
      }
      box.append(el("a", { class: "button", href: `${base}?format=${format}`, download: `${shortId(job.id)}.${ext}` }, label));
    }
  }

  // A download link works by itself without keys; with a key, fetch it with the key and save the blob.
  async function downloadWithKey(event) {
    const link = event.target.closest("a[download]");
    if (!link || !Object.keys(authHeaders()).length) return;
    event.preventDefault();
    try {
      const response = await fetch(link.href, { headers: authHeaders(), cache: "no-store" });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        const detail = (body && body.error) || {};
        throw new ApiError(response.status, detail.code || `http_${response.status}`, detail.message || response.statusText);
      }
      const url = URL.createObjectURL(await response.blob());
      const save = el("a", { href: url, download: link.getAttribute("download") });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) {
      showError(error instanceof ApiError ? error : new ApiError(0, "network_error", String(error)), "The download failed");
    }
  }

  // Lines in reading order: block by block when the page has blocks, then any line no block holds.
  function readingOrder(result) {
    const lines = result.lines || [];
    const order = [];
    const seen = new Set();
    for (const [blockIndex, block] of (result.blocks || []).entries()) {
      for (const [position, index] of (block.lines || []).entries()) {
        if (index >= 0 && index < lines.length && !seen.has(index)) {
          seen.add(index);
          order.push({ index, blockStart: blockIndex > 0 && position === 0 });
        }
      }
    }
    for (let index = 0; index < lines.length; index += 1) if (!seen.has(index)) order.push({ index, blockStart: false });
    return order;
  }

  function extent(result) {
    let width = 1;
    let height = 1;
    for (const line of result.lines || []) {
      if (Array.isArray(line.box)) {
        width = Math.max(width, line.box[2] + 20);
        height = Math.max(height, line.box[3] + 20);
      }
    }
    return [width, height];
  }

  function pageView(result, options) {
    const view = el("div", { class: "view" });
    if (options.title) view.append(el("h3", {}, options.title));
    const figure = el("div", { class: "figure" });
    const boxes = [];
    const order = readingOrder(result);
    const lines = result.lines || [];
    const drawBoxes = (svg, withText) => {
      if ((result.blocks || []).length > 1) {
        for (const block of result.blocks) if (Array.isArray(block.box)) svg.append(rect(block.box, "block-box"));
      }
      for (const { index } of order) {
        const line = lines[index];
        if (!Array.isArray(line.box)) continue;
        const key = `${options.key}-${index}`;
        const disputed = (line.disagreements || []).length > 0;
        const box = rect(line.box, `line-box${disputed ? " disputed" : ""}`);
        box.dataset.key = key;
        box.addEventListener("click", () => selectLine(key, false));
        svg.append(box);
        boxes.push([key, box]);
        for (const word of line.words || []) if (Array.isArray(word.box)) svg.append(rect(word.box, "word-box"));
        if (withText && line.text) {
          const [l, t, r, b] = line.box;
          const size = Math.max(6, (b - t) * 0.72);
          const text = svgEl("text", { class: "page-text", x: l, y: b - (b - t) * 0.22, "font-size": size.toFixed(1) });
          if (r - l > 4) {
            text.setAttribute("textLength", String(r - l));
            text.setAttribute("lengthAdjust", "spacingAndGlyphs");
          }
          text.textContent = line.text;
          svg.append(text);
        }
      }
    };
    const plainPage = (size, why) => {
      const [width, height] = size && size[0] && size[1] ? size : extent(result);
      const svg = svgEl("svg", { class: "plain", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "A blank page of the page's size with the boxes and the text read" });
      svg.append(svgEl("rect", { x: 0, y: 0, width, height, fill: "#ffffff" }));
      drawBoxes(svg, true);
      figure.replaceChildren(svg, el("p", { class: "caption" }, why));
    };
    if (options.image) {
      const img = el("img", { src: options.image, alt: "The uploaded image, with a box around each line read" });
      const svg = svgEl("svg", { class: "overlay", preserveAspectRatio: "none", "aria-hidden": "true" });
      img.addEventListener("load", () => {
        svg.setAttribute("viewBox", `0 0 ${img.naturalWidth} ${img.naturalHeight}`);
        figure.dataset.ready = "true";
      });
      img.addEventListener("error", () => {
        boxes.length = 0;
        plainPage(null, "Your browser cannot show this image: the boxes and the text are drawn on a blank page.");
        figure.dataset.ready = "true";
      });
      drawBoxes(svg, false);
      figure.append(img, svg);
    } else {
      plainPage(options.size, "PDF and TIFF pages are not drawn in the browser: the boxes and the text read are shown on a blank page of the page's size.");
      figure.dataset.ready = "true";
    }
    const list = el("ol", { class: "lines", "aria-label": `${options.title ? `${options.title}: ` : ""}lines in reading order` });
    for (const { index, blockStart } of order) {
      const line = lines[index];
      const key = `${options.key}-${index}`;
      const label = `${options.title ? `${options.title}, ` : ""}line ${list.children.length + 1}`;
      const text = el("span", { class: "text" }, shadedText(line.text || "", line.char_confidences, line.disagreements));
      if (!line.text) text.append(el("span", { class: "empty-text" }, "(nothing read)"));
      const button = el(
        "button",
        { type: "button", class: "line", "aria-pressed": "false", "aria-controls": "detail", "data-key": key, onclick: () => selectLine(key, true) },
        el("span", { class: "sr-only" }, `${label}: `),
        text,
        el("span", { class: "conf" }, fmt(line.confidence, 2)),
      );
      list.append(el("li", { class: blockStart ? "block-start" : null }, button));
      state.lines.set(key, { line, result, button, label, boxes });
    }
    if (!order.length) list.append(el("li", { class: "empty-text" }, "No text was found."));
    view.append(figure, el("div", { class: "text-side" }, list));
    return view;
  }

  function rect(box, cls) {
    const [l, t, r, b] = box;
    return svgEl("rect", { class: cls, x: l, y: t, width: Math.max(1, r - l), height: Math.max(1, b - t) });
  }

  function shade(confidence) {
    const alpha = Math.min(0.85, Math.max(0, (1 - confidence) * 0.9));
    return `rgba(234, 88, 12, ${alpha.toFixed(3)})`;
  }

  // The text, one span per character shaded by its confidence; spans engines disagreed on in a <mark>.
  function shadedText(text, confidences, disagreements) {
    const chars = Array.from(text);
    const aligned = Array.isArray(confidences) && confidences.length === chars.length;
    const owner = new Array(chars.length).fill(null);
    const insertions = new Map();
    for (const span of disagreements || []) {
      const start = Number(span.start);
      const end = Number(span.end);
      if (!Number.isInteger(start) || !Number.isInteger(end)) continue;
      if (end <= start) insertions.set(start, span);
      for (let i = Math.max(0, start); i < Math.min(end, chars.length); i += 1) owner[i] = span;
    }
    const fragment = document.createDocumentFragment();
    let mark = null;
    let markSpan = null;
    for (let i = 0; i <= chars.length; i += 1) {
      if (insertions.has(i)) fragment.append(el("mark", { class: "disagree", title: readingsTitle(insertions.get(i)) }, "‸"));
      if (i === chars.length) break;
      if (owner[i] !== markSpan) {
        markSpan = owner[i];
        mark = markSpan ? el("mark", { class: "disagree", title: readingsTitle(markSpan) }) : null;
        if (mark) fragment.append(mark);
      }
      const span = el("span", { class: "ch" }, chars[i]);
      if (aligned && typeof confidences[i] === "number") {
        span.style.backgroundColor = shade(confidences[i]);
        span.title = `confidence ${fmt(confidences[i], 2)}`;
      }
      (mark || fragment).append(span);
    }
    return fragment;
  }

  function readingsTitle(span) {
    const readings = Object.entries(span.readings || {}).map(([engine, text]) => `${engine}: “${text}”`);
    return `engines disagreed on “${span.text || ""}”: ${readings.join(", ")}`;
  }

  function selectLine(key, fromList) {
    const entry = state.lines.get(key);
    if (!entry) return;
    state.selected = key;
    for (const [other, item] of state.lines) item.button.setAttribute("aria-pressed", String(other === key));
    for (const box of document.querySelectorAll("svg .line-box")) box.classList.toggle("selected", box.dataset.key === key);
    renderDetail(entry);
    if (!fromList) entry.button.focus({ preventScroll: true });
  }

  function renderDetail({ line, result, label }) {
    const body = $("detail-body");
    body.replaceChildren();
    $("detail-title").textContent = `${label[0].toUpperCase()}${label.slice(1)}: each engine's reading and the vote`;
    const facts = [`ensemble confidence ${fmt(line.confidence)}`];
    if (typeof line.agreement === "number") facts.push(`agreement ${fmt(line.agreement, 2)}`);
    if (result.method) facts.push(`${result.method} voting`);
    if (line.selected) facts.push(`reading chosen: ${line.selected}`);
    if (line.cascade) {
      facts.push(
        line.cascade.accepted
          ? `answered by the first stage (${(line.cascade.engines || []).join(", ")}), score ${fmt(line.cascade.score, 2)}`
          : `escalated past the first stage (score ${fmt(line.cascade.score, 2)})`,
      );
    }
    body.append(
      el("p", { class: "reading-line" }, "Vote: ", el("span", { class: "line-text" }, shadedText(line.text || "", line.char_confidences, line.disagreements))),
      el("p", { class: "help" }, facts.join(" · ")),
    );
    const weights = result.weights || {};
    const rows = Object.entries(line.engines || {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, reading]) =>
        el(
          "tr",
          { class: name === line.selected ? "chosen" : null },
          el("th", { scope: "row" }, name, name === line.selected ? " ✓" : ""),
          el("td", { class: "reading" }, shadedText(reading.text || "", reading.char_confidences, [])),
          el("td", { class: "num" }, fmt(reading.confidence)),
          el("td", { class: "num" }, weights[name] === undefined ? "–" : fmt(weights[name], 2)),
          el("td", {}, reading.text === line.text ? "same as the vote" : "differs"),
        ),
      );
    for (const [name, view] of Object.entries(result.engines || {})) {
      if (!(line.engines || {})[name] && view && view.error) {
        rows.push(el("tr", {}, el("th", { scope: "row" }, name), el("td", { colspan: "4", class: "bad" }, `failed: ${view.error.message || view.error.code}`)));
      }
    }
    body.append(
      el(
        "div",
        { class: "scroll" },
        el(
          "table",
          { class: "votes" },
          el("caption", { class: "sr-only" }, "Each engine's reading of this line"),
          el("thead", {}, el("tr", {}, ["Engine", "Reading", "Confidence", "Weight", "Compared with the vote"].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: "5" }, "No engine's reading of this line is in the result."))),
        ),
      ),
    );
    const spans = line.disagreements || [];
    if (spans.length) {
      body.append(el("h4", {}, "Where the engines disagreed"));
      body.append(
        el(
          "ul",
          { class: "disagreements" },
          spans.map((span) =>
            el(
              "li",
              {},
              `“${span.text || ""}” (characters ${span.start + 1}–${span.end}): `,
              Object.entries(span.readings || {}).map(([engine, text], i) => `${i ? ", " : ""}${engine} read “${text}”`),
            ),
          ),
        ),
      );
    } else {
      body.append(el("p", { class: "help" }, "Every engine with a say in the vote read this line the same way."));
    }
    $("detail").hidden = false;
  }

  function charView(result) {
    const left = el("div", { class: "char-side" });
    if (state.imageUrl) left.append(el("div", { class: "figure" }, el("img", { src: state.imageUrl, alt: "The submitted drawing or image" })));
    left.append(
      el("p", { class: "char-big", "aria-label": `Character read: ${result.character || "none"}` }, result.character || "∅"),
      el("p", {}, `confidence ${fmt(result.confidence)}`, typeof result.agreement === "number" ? ` · agreement ${fmt(result.agreement, 2)}` : ""),
    );
    const right = el("div", {});
    right.append(el("h3", {}, "Top 5 of the vote"), topTable(result.top5 || [], "The ensemble's five most likely characters"));
    right.append(el("h3", {}, "Each engine's top 5"));
    const grid = el("div", { class: "char-engines" });
    for (const [name, view] of Object.entries(result.engines || {}).sort(([a], [b]) => a.localeCompare(b))) {
      const section = el("section", { "aria-label": `${name}'s top 5` }, el("h4", {}, name));
      if (view && view.error) section.append(el("p", { class: "bad" }, `failed: ${view.error.message || view.error.code}`));
      else if (view && Array.isArray(view.top5) && view.top5.length) section.append(topTable(view.top5, `${name}'s five most likely characters`));
      else section.append(el("p", {}, `read “${(view && view.text) || ""}”, confidence ${fmt(view && view.confidence)}`));
      if (view && view.model_version) section.append(el("p", { class: "help" }, view.model_version));
      grid.append(section);
    }
    right.append(grid);
    if (result.char_cascade) {
      const cascade = result.char_cascade;
      right.append(el("p", { class: "help" }, cascade.accepted ? `Answered by ${(cascade.engines || []).join(", ")} alone (score ${fmt(cascade.score, 2)}).` : `Read by ${(cascade.engines || []).join(", ")} (first-stage score ${fmt(cascade.score, 2)}).`));
    }
    return el("div", { class: "char-view" }, left, right);
  }

  function topTable(candidates, caption) {
    return el(
      "table",
      { class: "top5" },
      el("caption", { class: "sr-only" }, caption),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "#"), el("th", { scope: "col" }, "Character"), el("th", { scope: "col" }, "Probability"))),
      el(
        "tbody",
        {},
        candidates.slice(0, 5).map((item, i) => {
          const bar = el("span", { class: "bar", "aria-hidden": "true" });
          bar.style.width = `${Math.round(Math.max(0, Math.min(1, item.confidence || 0)) * 60)}px`;
          return el("tr", {}, el("td", { class: "num" }, i + 1), el("td", { class: "reading" }, item.character), el("td", { class: "num" }, bar, pct(item.confidence)));
        }),
      ),
    );
  }

  function engineTable(result, caption) {
    const versions = result.model_versions || {};
    const rows = Object.entries(result.engines || {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, view]) =>
        el(
          "tr",
          {},
          el("th", { scope: "row" }, name),
          el("td", { class: "reading" }, view && view.error ? "" : (view && (view.text ?? "")) || ""),
          el("td", { class: "num" }, fmt(view && view.confidence)),
          el("td", {}, (view && view.model_version) || versions[name] || ""),
          el("td", { class: view && view.error ? "bad" : "" }, view && view.error ? view.error.message || view.error.code : ""),
        ),
      );
    return el(
      "div",
      { class: "scroll" },
      el(
        "table",
        {},
        el("caption", {}, caption),
        el("thead", {}, el("tr", {}, ["Engine", "Reading", "Confidence", "Model version", "Error"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows),
      ),
    );
  }

  // ---- export -----------------------------------------------------------------------------------

  async function copyText() {
    const text = state.text || "";
    try {
      await navigator.clipboard.writeText(text);
    } catch (error) {
      const area = el("textarea", { class: "sr-only", "aria-hidden": "true" });
      area.value = text;
      document.body.append(area);
      area.select();
      const ok = document.execCommand && document.execCommand("copy");
      area.remove();
      if (!ok) {
        $("copy-status").textContent = "Copying is not allowed here: select the text instead.";
        return;
      }
    }
    const lines = text ? text.split("\n").length : 0;
    $("copy-status").textContent = `Copied ${lines} line${lines === 1 ? "" : "s"}.`;
  }

  // ---- operations view and the options it fills -------------------------------------------------

  async function refreshOps() {
    clearTimeout(state.opsTimer);
    try {
      const status = await api("/status");
      renderOps(status);
      if (!state.optionsFilled) fillOptions(status);
      $("ops-error").hidden = true;
    } catch (error) {
      const box = $("ops-error");
      box.replaceChildren(el("strong", {}, `Status not available: ${HINTS[error.status] || HINTS[0]}`), el("span", {}, `${error.message} (${error.code})`));
      box.hidden = false;
      if (!state.optionsFilled) $("engines").replaceChildren(el("span", { class: "help" }, "Engines unknown: the server chooses."));
    }
    clearTimeout(state.opsTimer); // two refreshes in flight leave one timer, not two
    if ($("ops-auto").checked && document.visibilityState === "visible") state.opsTimer = setTimeout(refreshOps, OPS_EVERY_MS);
  }

  function renderOps(status) {
    const engines = status.engines || {};
    const workers = status.workers || [];
    const queues = status.queues || {};
    $("ops-engines").tBodies[0].replaceChildren(
      ...Object.keys(engines)
        .sort()
        .map((name) => {
          const info = engines[name];
          const known = info && typeof info === "object";
          const available = known ? info.available !== false : null;
          return el(
            "tr",
            {},
            el("th", { scope: "row" }, name),
            el("td", { class: available === null ? "" : available ? "ok" : "bad" }, available === null ? "not reported yet" : available ? "yes" : "no"),
            el("td", {}, (known && info.model_version) || "–"),
            el("td", { class: "help", title: known && info.updated_at ? `reported at ${info.updated_at}` : null }, (known && (info.reason || ago(info.updated_at))) || ""),
          );
        }),
    );
    $("ops-workers").tBodies[0].replaceChildren(
      ...(workers.length
        ? workers
            .slice()
            .sort((a, b) => String(a.hostname).localeCompare(String(b.hostname)))
            .map((worker) => el("tr", {}, el("th", { scope: "row" }, worker.hostname || "?"), el("td", {}, (worker.queues || []).join(", ")), el("td", { class: "help", title: worker.seen_at || null }, ago(worker.seen_at))))
        : [el("tr", {}, el("td", { colspan: "3", class: "bad" }, "No live worker."))]),
    );
    $("ops-queues").tBodies[0].replaceChildren(
      ...Object.keys(queues)
        .sort()
        .map((name) => {
          const serving = workers.filter((worker) => (worker.queues || []).includes(name)).length;
          return el("tr", {}, el("th", { scope: "row" }, name), el("td", { class: "num" }, queues[name]), el("td", { class: serving ? "num" : "num bad" }, serving));
        }),
    );
    const meta = [`server version ${status.version || "?"}`];
    if (status.default_method) meta.push(`default voting method ${status.default_method}`);
    if (status.default_preset) meta.push(`default preset ${status.default_preset}`);
    if ((status.presets || []).length) meta.push(`presets: ${status.presets.join(", ")}`);
    $("ops-meta").textContent = meta.join(" · ");
    $("ops-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  function fillOptions(status) {
    const engines = status.engines || {};
    const names = Object.keys(engines).sort();
    if (!names.length) return; // Redis was down: try again on the next refresh
    state.optionsFilled = true;
    const box = $("engines");
    box.replaceChildren(
      ...names.map((name) => {
        const info = engines[name];
        const off = info && info.available === false;
        const input = el("input", { type: "checkbox", name: "engine", value: name, id: `engine-${name}` });
        const note = off ? " (unavailable)" : "";
        return el("label", { for: `engine-${name}`, class: off ? "off" : null, title: (info && info.model_version) || "" }, input, ` ${name}${note}`);
      }),
    );
    const method = $("method");
    if (status.default_method) {
      method.options[0].textContent = `server default (${status.default_method})`;
      method.title = `A fitted preset brings its own method per kind of crop; otherwise ${status.default_method}.`;
    }
    const preset = $("preset");
    const chosen = preset.value;
    preset.replaceChildren(el("option", { value: "" }, status.default_preset ? `server default (${status.default_preset})` : "server default"));
    for (const name of status.presets || []) preset.append(el("option", { value: name }, name));
    preset.value = chosen;
  }

  // ---- start ------------------------------------------------------------------------------------

  function start() {
    setupTabs();
    setupPad();
    setupFiles();
    $("options").addEventListener("submit", async (event) => {
      event.preventDefault();
      if (drawing()) {
        if (!state.strokes.length) {
          showProblem("Nothing to read", "Draw a character first.");
          return;
        }
        submit(await padPng(), "drawing.png", true);
      } else {
        submitFile();
      }
    });
    $("copy").addEventListener("click", copyText);
    $("downloads").addEventListener("click", downloadWithKey);
    // The key lives for this tab only (sessionStorage), never in the page's URL.
    try {
      $("api-key").value = sessionStorage.getItem("ocr-api-key") || "";
    } catch (error) {
      /* storage disabled: the key is asked for again */
    }
    $("api-key").addEventListener("change", () => {
      try {
        sessionStorage.setItem("ocr-api-key", $("api-key").value.trim());
      } catch (error) {
        /* storage disabled */
      }
      refreshOps();
    });
    $("ops-refresh").addEventListener("click", refreshOps);
    $("ops-auto").addEventListener("change", refreshOps);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") refreshOps();
    });
    refreshOps();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
