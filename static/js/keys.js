/* ThoughtSpace keyboard shortcuts and the space page's toast.
 *
 * Also: the phone header's Menu button ([data-menu]) and "Add a thought" links ([data-focus-add]).
 *
 * Shortcuts (listed in the dialog #shortcuts, opened with "?" or the header's "Keys" button):
 *   n        new thought: focus the title of "Add a thought"
 *   /        search: focus the search box
 *   j / k    next / previous thought (moves focus to its title)
 *   e        edit the thought that has focus
 *   Ctrl+Enter (⌘+Enter)   save the form being typed in
 *   Escape   close the dialog, or cancel the edit being typed in
 * Letters do nothing while typing in a field. The toast (#toast, after a delete, with Undo)
 * hides itself after TOAST_SECONDS unless it has focus or the pointer; × closes it at once.
 */
(function () {
  "use strict";

  document.documentElement.classList.add("js");  // CSS folds the phone menu only with JS

  var TOAST_SECONDS = 10;
  var dialog = document.getElementById("shortcuts");

  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function thoughtTitles() {
    return Array.prototype.slice.call(document.querySelectorAll("article.thought .thought__title a"));
  }

  function move(step) {
    var titles = thoughtTitles();
    if (!titles.length) return;
    var current = document.activeElement && document.activeElement.closest("article.thought");
    var index = current ? titles.findIndex(function (a) { return current.contains(a); }) : -1;
    var next = titles[Math.min(Math.max(index + step, 0), titles.length - 1)];
    if (index < 0) next = step > 0 ? titles[0] : titles[titles.length - 1];
    next.focus();
    next.scrollIntoView({ block: "nearest" });
  }

  function focusField(selector) {
    var field = document.querySelector(selector);
    if (!field) return false;
    var fold = field.closest("details");
    if (fold) fold.open = true;
    field.focus();
    field.scrollIntoView({ block: "center" });
    return true;
  }

  function openHelp() {
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("click", function (e) {
    var menuButton = e.target.closest("[data-menu]");
    if (menuButton) {
      var menu = document.getElementById(menuButton.getAttribute("aria-controls"));
      var open = menuButton.getAttribute("aria-expanded") !== "true";
      menuButton.setAttribute("aria-expanded", String(open));
      if (menu) menu.toggleAttribute("data-open", open);
    }
    if (e.target.closest("[data-focus-add]")) {
      e.preventDefault();
      focusField("#thought-create input[name=title]");
    }
    if (e.target.closest("[data-open-shortcuts]")) openHelp();
    if (e.target.closest("[data-close-shortcuts]") && dialog) dialog.close();
    if (e.target.closest("[data-dismiss-toast]")) clearToast();
  });

  document.addEventListener("keydown", function (e) {
    var target = e.target;
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
      var form = target.closest && target.closest("form");
      if (form) {
        e.preventDefault();
        form.requestSubmit();
      }
      return;
    }
    if (e.key === "Escape") {
      var editing = target.closest && target.closest("article.thought--editing");
      var cancel = editing && editing.querySelector("a.button--quiet");
      if (cancel) {
        e.preventDefault();
        cancel.click();
      }
      return;  // the dialog closes itself
    }
    if (e.ctrlKey || e.metaKey || e.altKey || typing(target) || (dialog && dialog.open)) return;
    var handled = true;
    switch (e.key) {
      case "?": openHelp(); break;
      case "n": handled = focusField("#thought-create input[name=title]"); break;
      case "/": handled = focusField("#search-q"); break;
      case "j": move(1); break;
      case "k": move(-1); break;
      case "e": {
        var article = target.closest && target.closest("article.thought");
        var edit = article && article.querySelector(".thought__actions a");
        if (edit) edit.click();
        else handled = false;
        break;
      }
      default: handled = false;
    }
    if (handled) e.preventDefault();
  });

  // --- the toast --------------------------------------------------------------------------

  var toastTimer = null;

  function clearToast() {
    var toast = document.getElementById("toast");
    if (toast) toast.replaceChildren();
  }

  function armToast() {
    var toast = document.getElementById("toast");
    if (toastTimer) clearTimeout(toastTimer);
    if (!toast || !toast.firstElementChild) return;
    toastTimer = setTimeout(function hide() {
      if (toast.matches(":hover") || toast.contains(document.activeElement)) {
        toastTimer = setTimeout(hide, 1000);
        return;
      }
      clearToast();
    }, TOAST_SECONDS * 1000);
  }

  var shownToast = null;
  document.addEventListener("htmx:afterSettle", function () {
    var toast = document.getElementById("toast");
    var body = toast && toast.firstElementChild;
    if (body && body !== shownToast) {  // a new toast came with this response
      shownToast = body;
      armToast();
    }
  });
})();
