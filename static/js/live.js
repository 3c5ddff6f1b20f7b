/* ThoughtSpace live updates for the space page.
 *
 * Listens on /ws/spaces/<id>/ for committed changes. For a change the page does not show yet,
 * it fetches the server-rendered thought tree (as far as the page has it open), links panel and
 * recent thoughts (spaces/_space_changed.html) and swaps them in, keeping any thought that is
 * open for editing as it is. It shows the connection
 * state in #live-status, reconnects with backoff, and refetches after each (re)connect, so a page
 * catches up with whatever it missed. Events are held while one of the page's own htmx requests
 * is in flight; once its response is swapped in, the event of that change is already shown
 * (same version, same element) and is skipped, so an own change is never applied twice.
 *
 * Other scripts of the page (static/js/graph.js) listen too: every event is also dispatched on
 * the document as a "thoughtspace:event" CustomEvent (the event in its detail), and each
 * (re)connect as "thoughtspace:live", after which they should catch up.
 */
(function () {
  "use strict";

  var thoughts = document.getElementById("thoughts");
  var statusEl = document.getElementById("live-status");
  if (!thoughts || !thoughts.dataset.liveUrl || !("WebSocket" in window)) return;

  var MIN_DELAY = 500;
  var MAX_DELAY = 15000;
  var CLOSE_UNAUTHENTICATED = 4401;
  var CLOSE_NOT_FOUND = 4404;
  var socketUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
    thoughts.dataset.liveUrl;
  var fragmentUrl = thoughts.dataset.fragmentUrl;

  var socket = null;
  var delay = MIN_DELAY;
  var retryTimer = null;
  var stopped = false;
  var queue = [];
  var seen = new Set();          // history ids already handled
  var changedKeys = new Map();   // thought key -> actor, for the next swap
  var inFlight = new Set();      // the page's own htmx requests
  var htmxStarted = 0;           // counts htmx requests, to spot one started during a fetch
  var refreshing = false;
  var refreshPending = false;

  function setStatus(state, text) {
    if (!statusEl) return;
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  // --- the socket --------------------------------------------------------------------------

  function connect() {
    retryTimer = null;
    setStatus("connecting", "Connecting…");
    socket = new WebSocket(socketUrl);
    socket.onopen = function () {
      delay = MIN_DELAY;
      setStatus("live", "Live");
      refresh();  // catch up with anything committed while the socket was down
      document.dispatchEvent(new CustomEvent("thoughtspace:live"));
    };
    socket.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      document.dispatchEvent(new CustomEvent("thoughtspace:event", { detail: event }));
      queue.push(event);
      drain();
    };
    socket.onclose = function (close) {
      socket = null;
      if (close.code === CLOSE_UNAUTHENTICATED || close.code === CLOSE_NOT_FOUND) {
        stop(close.code === CLOSE_UNAUTHENTICATED ? "Signed out" : "No access");
        return;
      }
      if (stopped) return;
      setStatus("offline", "Reconnecting…");
      var wait = delay / 2 + Math.random() * delay / 2;
      delay = Math.min(delay * 2, MAX_DELAY);
      retryTimer = setTimeout(connect, wait);
    };
  }

  function stop(text) {
    stopped = true;
    if (retryTimer) clearTimeout(retryTimer);
    if (socket) socket.close();
    setStatus("gone", text);
  }

  window.addEventListener("online", function () {
    if (stopped || socket || !retryTimer) return;
    clearTimeout(retryTimer);
    delay = MIN_DELAY;
    connect();
  });
  window.addEventListener("pagehide", function () {
    stopped = true;
    if (socket) socket.close();
  });

  // --- what the page has open ---------------------------------------------------------------

  // The server lists only the part of the tree a page has open (spaces/outline.py): every
  // request that answers with the tree says which folds are open and how many top-level
  // thoughts are listed, so that the answer keeps the page as the person left it.
  var OPEN_MAX_CHARS = 4000;  // a URL stays well under a proxy's limit (nginx: 8 KiB)
  var NOT_THE_TREE = /\/(thought-options|search)\/|graph\.json/;  // answers without the tree

  function outlineState() {
    var open = [];
    var length = 0;
    thoughts.querySelectorAll("details.subtree[open]").forEach(function (details) {
      var key = details.dataset.key;
      if (!details.querySelector(":scope > ul.thought-list")) return;
      if (length + key.length + 1 > OPEN_MAX_CHARS) return;  // the rest come back folded
      open.push(key);
      length += key.length + 1;
    });
    var counts = document.getElementById("outline-counts");
    return { open: open.join(","), roots: counts ? counts.dataset.roots : "" };
  }

  document.addEventListener("htmx:configRequest", function (e) {
    if (NOT_THE_TREE.test(e.detail.path)) return;
    var state = outlineState();
    e.detail.parameters.open = state.open;
    if (state.roots) e.detail.parameters.roots = state.roots;
  });

  // --- the page's own htmx requests --------------------------------------------------------

  document.addEventListener("htmx:beforeRequest", function (e) {
    inFlight.add(e.detail.xhr);
    htmxStarted += 1;
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    inFlight.delete(e.detail.xhr);
    if (inFlight.size) return;
    setTimeout(function () {
      drain();
      if (refreshPending) refresh();
    }, 0);
  });

  // --- events ------------------------------------------------------------------------------

  function shown(event) {
    var data = event.data || {};
    var el = event.key ? document.getElementById("thought-" + event.key) : null;
    switch (event.type) {
      case "node.created":
        return el !== null;
      case "node.updated":
        return el !== null && Number(el.dataset.version) >= Number(data.version);
      case "node.deleted":
        return el === null;
      case "link.created":
        return document.getElementById("link-" + data.id) !== null;
      case "link.deleted":
        return document.getElementById("link-" + data.id) === null;
      default:
        return false;
    }
  }

  function drain() {
    if (inFlight.size) return;  // applied after the page's own response is swapped in
    var needRefresh = false;
    while (queue.length) {
      var event = queue.shift();
      if (event.history_id) {
        if (seen.has(event.history_id)) continue;
        seen.add(event.history_id);
      }
      if (event.type === "space.updated") {
        showSpace(event.data || {});
      } else if (event.type === "space.deleted") {
        notice("This space was deleted by " + (event.actor || "someone") + ".");
        stop("Space deleted");
      } else if (!shown(event)) {
        if (event.key) changedKeys.set(event.key, event.actor || "someone");
        needRefresh = true;
      }
    }
    if (needRefresh) refresh();
  }

  function showSpace(data) {
    var title = document.getElementById("space-title");
    var description = document.getElementById("space-description");
    if (title && typeof data.title === "string") {
      title.textContent = data.title;
      document.title = data.title + " · ThoughtSpace";
    }
    if (description && typeof data.description === "string") {
      description.replaceChildren();
      data.description.split("\n").forEach(function (line, i) {
        if (i) description.appendChild(document.createElement("br"));
        description.appendChild(document.createTextNode(line));
      });
      description.hidden = data.description === "";
    }
  }

  function notice(text) {
    var p = document.createElement("p");
    p.className = "live-notice";
    p.setAttribute("role", "alert");
    p.textContent = text;
    thoughts.parentNode.insertBefore(p, thoughts);
  }

  // --- fetching and swapping the fragment ---------------------------------------------------

  function refresh() {
    if (stopped) return;
    if (refreshing || inFlight.size) {
      refreshPending = true;
      return;
    }
    refreshing = true;
    refreshPending = false;
    var startedAt = htmxStarted;
    var url = fragmentUrl + "?" + new URLSearchParams(outlineState()).toString();
    fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) {
        if (response.redirected || response.status === 403 || response.status === 404) {
          stop(response.redirected ? "Signed out" : "No access");
          return null;
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        if (html === null) return;
        // One of the page's own requests started meanwhile: its response may be newer.
        if (inFlight.size || htmxStarted !== startedAt) refreshPending = true;
        else swap(html);
      })
      .catch(function () {
        setTimeout(refresh, 3000);  // the server may be restarting: try again a little later
      })
      .finally(function () {
        refreshing = false;
        if (refreshPending && !inFlight.size) setTimeout(refresh, 0);
      });
  }

  function swap(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    var fragment = template.content;
    var outOfBand = [];  // the links panel, recent thoughts, conflict banner
    fragment.querySelectorAll("[hx-swap-oob]").forEach(function (el) {
      el.remove();
      el.removeAttribute("hx-swap-oob");
      outOfBand.push(el);
    });
    var focus = rememberFocus();
    var editing = new Map();
    thoughts.querySelectorAll("article.thought--editing").forEach(function (article) {
      editing.set(article.id, article);
    });
    fragment.querySelectorAll("article.thought").forEach(function (article) {
      var key = article.dataset.thoughtKey;
      var open = editing.get(article.id);
      if (open) {
        if (changedKeys.has(key)) warnEditor(open, changedKeys.get(key));
        article.replaceWith(open);  // the editor keeps what was typed
      } else if (changedKeys.has(key)) {
        article.classList.add("thought--live-changed");
      }
    });
    thoughts.replaceChildren(fragment);
    htmx.process(thoughts);
    outOfBand.forEach(function (el) {
      var current = document.getElementById(el.id);
      if (!current) return;
      keepFormValues(current, el);
      current.replaceWith(el);
      htmx.process(el);
    });
    restoreFocus(focus);
    changedKeys.clear();
  }

  function warnEditor(article, actor) {
    if (article.querySelector(".live-notice")) return;
    var p = document.createElement("p");
    p.className = "live-notice";
    p.setAttribute("role", "alert");
    p.textContent = actor + " changed this thought while you were editing it: saving will be " +
      "refused. Copy what you need, then reopen the editor.";
    article.insertBefore(p, article.firstChild);
  }

  function keepFormValues(from, to) {
    from.querySelectorAll("input[name], select[name], textarea[name]").forEach(function (field) {
      if (field.name === "csrfmiddlewaretoken" || field.type === "hidden" || !field.value) return;
      var twin = to.querySelector("[name='" + field.name + "']");
      if (!twin) return;
      if (twin.tagName === "SELECT" && !twin.querySelector("option[value='" + CSS.escape(field.value) + "']")) return;
      twin.value = field.value;
    });
  }

  function rememberFocus() {
    var el = document.activeElement;
    if (!el || !el.id || el === document.body) return null;
    var saved = { id: el.id };
    try {
      saved.start = el.selectionStart;
      saved.end = el.selectionEnd;
    } catch (e) { /* not a text field */ }
    return saved;
  }

  function restoreFocus(saved) {
    if (!saved) return;
    var el = document.getElementById(saved.id);
    if (!el || el === document.activeElement) return;
    el.focus();
    if (typeof saved.start === "number") {
      try { el.setSelectionRange(saved.start, saved.end); } catch (e) { /* not a text field */ }
    }
  }

  connect();
})();
