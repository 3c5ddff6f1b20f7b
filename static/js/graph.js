/* ThoughtSpace graph view of a space (Cytoscape.js, vendored in static/vendor/cytoscape/).
 *
 * Thoughts are nodes, links solid arrows, parent → child dashed arrows. The first drawing
 * comes from the page (the json_script #graph-data); after each live event relayed by
 * static/js/live.js ("thoughtspace:event") and each reconnect ("thoughtspace:live") it
 * refetches the graph's JSON (data-graph-url) and applies the difference: new nodes start
 * beside a neighbour and the layout runs again only when the shape changed. Drag to pan,
 * scroll to zoom, click a thought to open its page.
 */
(function () {
  "use strict";

  var container = document.getElementById("graph");
  var dataScript = document.getElementById("graph-data");
  if (!container || !dataScript || typeof cytoscape !== "function") return;

  var graphUrl = container.dataset.graphUrl;
  var LAYOUT_NODE_LIMIT = 400;  // above this, the force-directed layout is too slow: grid
  var REFRESH_DELAY = 150;      // ms: a burst of events costs one fetch

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
      return { group: "nodes", data: node };
    });
    var edges = (data.edges || []).map(function (edge) {
      return { group: "edges", data: edge, classes: edge.kind };
    });
    return nodes.concat(edges);
  }

  function layout(animate) {
    var many = cy.nodes().length > LAYOUT_NODE_LIMIT;
    return cy.layout(many ? { name: "grid", animate: false } : {
      name: "cose",
      animate: animate,
      animationDuration: 400,
      randomize: false,
      nodeDimensionsIncludeLabels: true,
      idealEdgeLength: function () { return 90; },
      // Spread the graph over the box it is shown in, so that it fits without shrinking.
      boundingBox: { x1: 0, y1: 0, w: cy.width(), h: cy.height() },
      padding: 24,
    });
  }

  var cy = cytoscape({
    container: container,
    elements: elements(JSON.parse(dataScript.textContent)),
    minZoom: 0.1,
    maxZoom: 3,
    wheelSensitivity: 0.3,
    style: [
      {
        selector: "node",
        style: {
          "background-color": accent,
          "label": "data(title)",
          "color": text,
          "font-size": 12,
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
  layout(false).run();
  window.thoughtspaceGraph = cy;  // for the console and the browser tests
  showCounts();

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

  cy.on("tap", "node", function (event) {
    var url = event.target.data("url");
    if (url) window.location.assign(url);
  });

  function showCounts() {
    container.dataset.nodes = String(cy.nodes().length);
    container.dataset.edges = String(cy.edges().length);
    var empty = document.getElementById("graph-empty");
    if (empty) empty.hidden = cy.nodes().length > 0;
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
    fetch(graphUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) apply(data); })
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
    var reshaped = false;
    var added = new Set();  // ids of the new nodes
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
        } else {
          cy.add(element);
          if (element.group === "nodes") added.add(id);
          reshaped = true;
        }
      });
      var gone = cy.elements().filter(function (element) { return !ids.has(element.id()); });
      if (gone.nonempty()) reshaped = true;
      gone.remove();
      added.forEach(function (id) { placeNearNeighbour(cy.getElementById(id), added); });
    });
    showCounts();
    if (reshaped) layout(true).run();
  }

  function placeNearNeighbour(node, added) {
    var neighbours = node.neighborhood("node").filter(function (other) {
      return !added.has(other.id());
    });
    var extent = cy.extent();
    var origin = neighbours.nonempty() ? neighbours.first().position() :
      { x: (extent.x1 + extent.x2) / 2, y: (extent.y1 + extent.y2) / 2 };
    node.position({
      x: origin.x + (Math.random() - 0.5) * 60,
      y: origin.y + (Math.random() - 0.5) * 60,
    });
  }
})();
