/* ThoughtSpace graph view of a space (Cytoscape.js, vendored in static/vendor/cytoscape/).
 *
 * Thoughts are nodes, links solid arrows, parent → child dashed arrows. The server chooses what
 * one view shows and where each node stands (spaces/graph.py): the top levels of the space, or
 * with ?focus=<key> the neighbourhood of one thought, never more than a few hundred nodes, with
 * positions that are the same on every load and that a new thought does not disturb. This
 * script fetches the view (data-graph-url), draws it as given ("preset" layout), refetches it
 * after each live event relayed by static/js/live.js ("thoughtspace:event") and each reconnect
 * ("thoughtspace:live"), and applies the difference. Drag to pan, scroll to zoom, click a
 * thought to open its page, double-click to centre the view on it.
 */
(function () {
  "use strict";

  var container = document.getElementById("graph");
  if (!container || typeof cytoscape !== "function") return;

  var graphUrl = container.dataset.graphUrl;
  var viewText = document.getElementById("graph-view");
  var topButton = document.getElementById("graph-top");
  var REFRESH_DELAY = 150;      // ms: a burst of events costs one fetch
  // The key the view is centred on ("" for the top levels): a thought's page links here
  // with ?focus=<key>.
  var focus = new URLSearchParams(window.location.search).get("focus") || "";

  var css = getComputedStyle(document.documentElement);
  function color(name, fallback) {
    return (css.getPropertyValue(name) || "").trim() || fallback;
  }
  var accent = color("--accent", "#3358d4");
  var text = color("--text", "#1d2330");
  var muted = color("--muted", "#5d6778");
  var surface = color("--surface", "#ffffff");

  function elements(data) {
    var nodes = (data.nodes || []).map(function (node) {
      var label = node.hidden ? node.title + "  +" + node.hidden : node.title;
      var copy = Object.assign({}, node, { label: label });
      delete copy.position;
      return { group: "nodes", data: copy, position: node.position };
    });
    var edges = (data.edges || []).map(function (edge) {
      return { group: "edges", data: edge, classes: edge.kind };
    });
    return nodes.concat(edges);
  }

  var cy = cytoscape({
    container: container,
    elements: [],
    minZoom: 0.1,
    maxZoom: 3,
    wheelSensitivity: 0.3,
    style: [
      {
        selector: "node",
        style: {
          "background-color": accent,
          "label": "data(label)",
          "color": text,
          "font-size": 14,
          "text-valign": "bottom",
          "text-margin-y": 4,
          "text-wrap": "ellipsis",
          "text-max-width": 160,
          "text-outline-color": surface,
          "text-outline-width": 2,
          "width": 18,
          "height": 18,
        },
      },
      { selector: "node:active, node:selected", style: { "border-width": 3, "border-color": text } },
      {
        selector: "edge",
        style: {
          "width": 1.5,
          "line-color": muted,
          "target-arrow-color": muted,
          "target-arrow-shape": "triangle",
          "curve-style": "bezier",
          "label": "data(label)",
          "font-size": 9,
          "color": muted,
          "text-rotation": "autorotate",
          "text-outline-color": surface,
          "text-outline-width": 2,
        },
      },
      { selector: "edge.parent", style: { "line-style": "dashed", "target-arrow-shape": "vee" } },
    ],
    layout: { name: "preset" },
  });
  window.thoughtspaceGraph = cy;  // for the console and the browser tests

  // Cytoscape maps clicks through a cached position of its container: refresh it when the
  // page scrolls or reflows (search results open above the graph, for one).
  var remeasuring = false;
  function remeasure() {
    if (remeasuring) return;
    remeasuring = true;
    requestAnimationFrame(function () {
      remeasuring = false;
      cy.resize();
    });
  }
  window.addEventListener("scroll", remeasure, { passive: true });
  if ("ResizeObserver" in window) new ResizeObserver(remeasure).observe(document.body);

  // A tap opens the thought's page, unless a second tap follows (a double tap centres on it).
  var tapTimer = null;
  cy.on("tap", "node", function (event) {
    var url = event.target.data("url");
    if (tapTimer) clearTimeout(tapTimer);
    tapTimer = setTimeout(function () {
      tapTimer = null;
      if (url) window.location.assign(url);
    }, 300);
  });
  cy.on("dbltap", "node", function (event) {
    if (tapTimer) clearTimeout(tapTimer);
    tapTimer = null;
    show(event.target.id());
  });
  if (topButton) topButton.addEventListener("click", function () { show(""); });

  function show(key) {
    focus = key;
    cy.elements().remove();
    reload();
  }

  function showCounts(view) {
    container.dataset.nodes = String(cy.nodes().length);
    container.dataset.edges = String(cy.edges().length);
    container.dataset.focus = focus;
    var empty = document.getElementById("graph-empty");
    if (empty) empty.hidden = cy.nodes().length > 0;
    if (topButton) topButton.hidden = !focus;
    if (viewText && view) {
      var where = view.focus
        ? "around “" + (cy.getElementById(view.focus).data("title") || view.focus) + "”"
        : "the top levels";
      viewText.textContent = view.shown < view.thoughts
        ? "Showing " + view.shown + " of " + view.thoughts + " thoughts: " + where + "."
        : (view.focus ? "Showing " + where + "." : "");
    }
  }

  // --- live updates ------------------------------------------------------------------------

  var timer = null;
  var fetching = false;
  var again = false;

  function schedule() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(reload, REFRESH_DELAY);
  }

  document.addEventListener("thoughtspace:event", function (event) {
    var type = (event.detail && event.detail.type) || "";
    if (type.indexOf("node.") === 0 || type.indexOf("link.") === 0) schedule();
  });
  document.addEventListener("thoughtspace:live", schedule);

  function reload() {
    timer = null;
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    var asked = focus;
    var url = focus ? graphUrl + "?focus=" + encodeURIComponent(focus) : graphUrl;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 404 && asked && asked === focus) {  // the centre was deleted
          focus = "";
          again = true;
        }
        return response.ok ? response.json() : null;
      })
      .then(function (data) { if (data && asked === focus) apply(data); })
      .catch(function () { /* the next event or reconnect fetches again */ })
      .finally(function () {
        fetching = false;
        if (again) {
          again = false;
          schedule();
        }
      });
  }

  function apply(data) {
    var wanted = elements(data);
    var ids = new Set();
    var first = cy.nodes().empty();
    cy.batch(function () {
      wanted.forEach(function (element) {
        var id = element.data.id;
        ids.add(id);
        var current = cy.getElementById(id);
        if (current.nonempty() && element.group === "edges" &&
            (current.data("source") !== element.data.source ||
             current.data("target") !== element.data.target)) {
          current.remove();  // an edge cannot change its ends: replace it
          current = cy.collection();
        }
        if (current.nonempty()) {
          current.data(element.data);
          if (element.position) current.position(element.position);
        } else {
          cy.add(element);
        }
      });
      cy.elements().filter(function (element) { return !ids.has(element.id()); }).remove();
    });
    showCounts(data.view);  // may show the box (an empty space hides it)
    if (first) {
      cy.resize();
      cy.fit(undefined, 30);
      if (cy.zoom() > 1.2) {  // a few thoughts: readable size, in the middle
        cy.zoom(1.2);
        cy.center();
      }
    }
  }

  reload();
})();
