// Autocompletion of reference fields (NAF, communes): an input with data-autocomplete="<url>"
// gets a list of suggestions fetched as JSON ({results: [{value, label}]}) as the user types.
// Picking one puts its value (« 16.10A — Sciage… », « Dunkerque (59183) ») in the field, which the
// server resolves; without this script the field still takes a code or a name.
(function () {
  "use strict";
  var DELAY_MS = 200;
  var counter = 0;

  function attach(input) {
    if (input.dataset.autocompleteReady) return;
    input.dataset.autocompleteReady = "1";
    var list = document.createElement("ul");
    list.className = "autocomplete-list";
    list.setAttribute("role", "listbox");
    list.id = (input.id || "autocomplete-" + ++counter) + "-suggestions";
    list.hidden = true;
    input.setAttribute("aria-controls", list.id);
    var wrapper = document.createElement("span");
    wrapper.className = "autocomplete";
    input.parentNode.insertBefore(wrapper, input);
    wrapper.appendChild(input);
    wrapper.appendChild(list);

    var timer = null;
    var active = -1;
    var lastQuery = null;
    var controller = null;

    function options() {
      return list.querySelectorAll("[role=option]");
    }

    function close() {
      list.hidden = true;
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      var items = options();
      if (!items.length) return;
      active = (index + items.length) % items.length;
      items.forEach(function (item, i) {
        item.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      input.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    }

    function pick(item) {
      input.value = item.dataset.value;
      lastQuery = input.value;
      close();
      // forms that filter as one types (htmx) hear the pick as an edit
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function show(results) {
      list.textContent = "";
      results.forEach(function (result, i) {
        var item = document.createElement("li");
        item.setAttribute("role", "option");
        item.id = list.id + "-" + i;
        item.dataset.value = result.value;
        item.textContent = result.label;
        item.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the focus in the field
          pick(item);
        });
        list.appendChild(item);
      });
      active = -1;
      list.hidden = results.length === 0;
      input.setAttribute("aria-expanded", results.length ? "true" : "false");
    }

    function fetchSuggestions() {
      var query = input.value.trim();
      if (query === lastQuery) return;
      lastQuery = query;
      if (query.length < 2) {
        show([]);
        return;
      }
      if (controller) controller.abort();
      controller = new AbortController();
      var url = input.dataset.autocomplete + "?q=" + encodeURIComponent(query);
      fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: controller.signal,
      })
        .then(function (response) {
          return response.ok ? response.json() : { results: [] };
        })
        .then(function (data) {
          if (input.value.trim() === query) show(data.results || []);
        })
        .catch(function (error) {
          if (error.name !== "AbortError") show([]);
        });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, DELAY_MS);
    });
    input.addEventListener("keydown", function (event) {
      if (list.hidden) return;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        highlight(active + 1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(active - 1);
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault(); // pick, do not submit the form
        pick(options()[active]);
      } else if (event.key === "Escape") {
        close();
      }
    });
    input.addEventListener("blur", close);
  }

  function attachAll(root) {
    root.querySelectorAll("input[data-autocomplete]").forEach(attach);
  }

  document.addEventListener("DOMContentLoaded", function () {
    attachAll(document);
  });
  // Rows or forms added later (htmx swaps, « Ajouter une ligne »).
  document.addEventListener("htmx:afterSwap", function (event) {
    attachAll(event.target);
  });
})();
