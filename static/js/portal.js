/* Parent portal enhancements. Without this file the pages still work: the tabs are links to
   ?tab=..., and each "More" menu is a <details> disclosure.
   With it: the WAI-ARIA tabs pattern (automatic activation; Left/Right, Home/End) and the
   menu-button pattern (Enter/Space/Down/Up open; Up/Down/Home/End move; Escape/Tab close). */
(function () {
  "use strict";

  function setQueryParam(url, name, value) {
    var u = new URL(url, window.location.href);
    u.searchParams.set(name, value);
    return u.pathname + u.search + u.hash;
  }

  // --- Tabs ------------------------------------------------------------------------------
  function initTabs(root) {
    var list = root.querySelector("[data-tablist]");
    if (!list) return;
    var tabs = Array.prototype.slice.call(list.querySelectorAll("[data-tab]"));
    var panels = tabs.map(function (tab) { return document.getElementById("panel-" + tab.dataset.tab); });
    var title = document.getElementById("page-title");

    list.setAttribute("role", "tablist");
    if (title) list.setAttribute("aria-labelledby", "page-title");
    tabs.forEach(function (tab, i) {
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-controls", panels[i].id);
      panels[i].setAttribute("role", "tabpanel");
      panels[i].setAttribute("aria-labelledby", tab.id);
      panels[i].tabIndex = 0;
    });

    function select(index, focus, remember) {
      tabs.forEach(function (tab, i) {
        var on = i === index;
        tab.setAttribute("aria-selected", on ? "true" : "false");
        tab.removeAttribute("aria-current");
        tab.tabIndex = on ? 0 : -1;
        panels[i].hidden = !on;
      });
      if (focus) tabs[index].focus();
      var name = tabs[index].dataset.tab;
      document.querySelectorAll("[data-tab-input]").forEach(function (input) { input.value = name; });
      if (!remember) return;
      var here = setQueryParam(window.location.href, "tab", name);
      if (window.history && window.history.replaceState) window.history.replaceState(null, "", here);
      document.querySelectorAll("[data-next]").forEach(function (input) { input.value = here; });
    }

    var initial = tabs.findIndex(function (tab) { return tab.getAttribute("aria-current") === "true"; });
    select(initial < 0 ? 0 : initial, false, false);

    tabs.forEach(function (tab, i) {
      tab.addEventListener("click", function (event) {
        if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        select(i, true, true);
      });
      tab.addEventListener("keydown", function (event) {
        var next = null;
        switch (event.key) {
          case "ArrowRight": next = (i + 1) % tabs.length; break;
          case "ArrowLeft": next = (i - 1 + tabs.length) % tabs.length; break;
          case "Home": next = 0; break;
          case "End": next = tabs.length - 1; break;
          case " ": next = i; break;
          default: return;
        }
        event.preventDefault();
        select(next, true, true);
      });
    });
  }

  // --- Menu button -----------------------------------------------------------------------
  var menuCount = 0;

  function initMenu(details) {
    var summary = details.querySelector("summary");
    var list = details.querySelector("ul");
    if (!summary || !list) return;
    menuCount += 1;
    var wrapper = document.createElement("div");
    wrapper.className = "more-menu more-menu--js";
    var button = document.createElement("button");
    button.type = "button";
    button.className = summary.className;
    button.id = "more-menu-button-" + menuCount;
    while (summary.firstChild) button.appendChild(summary.firstChild);
    list.id = "more-menu-" + menuCount;
    list.setAttribute("role", "menu");
    list.setAttribute("aria-labelledby", button.id);
    list.hidden = true;
    button.setAttribute("aria-haspopup", "menu");
    button.setAttribute("aria-controls", list.id);
    button.setAttribute("aria-expanded", "false");
    var items = Array.prototype.slice.call(list.querySelectorAll("a"));
    list.querySelectorAll("li").forEach(function (li) { li.setAttribute("role", "none"); });
    items.forEach(function (item) {
      item.setAttribute("role", "menuitem");
      item.tabIndex = -1;
    });
    wrapper.appendChild(button);
    wrapper.appendChild(list);
    details.replaceWith(wrapper);

    function isOpen() { return button.getAttribute("aria-expanded") === "true"; }
    function open(index) {
      list.hidden = false;
      button.setAttribute("aria-expanded", "true");
      items[(index + items.length) % items.length].focus();
    }
    function close(returnFocus) {
      list.hidden = true;
      button.setAttribute("aria-expanded", "false");
      if (returnFocus) button.focus();
    }

    button.addEventListener("click", function () {
      if (isOpen()) close(true); else open(0);
    });
    button.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") { event.preventDefault(); open(0); }
      else if (event.key === "ArrowUp") { event.preventDefault(); open(items.length - 1); }
    });
    items.forEach(function (item, i) {
      item.addEventListener("keydown", function (event) {
        switch (event.key) {
          case "ArrowDown": event.preventDefault(); items[(i + 1) % items.length].focus(); break;
          case "ArrowUp": event.preventDefault(); items[(i - 1 + items.length) % items.length].focus(); break;
          case "Home": event.preventDefault(); items[0].focus(); break;
          case "End": event.preventDefault(); items[items.length - 1].focus(); break;
          case "Escape": event.preventDefault(); close(true); break;
          case "Tab": close(false); break;
          case " ": event.preventDefault(); item.click(); break;
          default: break;
        }
      });
      item.addEventListener("click", function () { window.setTimeout(function () { close(true); }, 0); });
    });
    document.addEventListener("click", function (event) {
      if (isOpen() && !wrapper.contains(event.target)) close(false);
    });
  }

  function init() {
    document.querySelectorAll("[data-tabs]").forEach(initTabs);
    document.querySelectorAll("details[data-menu]").forEach(initMenu);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
