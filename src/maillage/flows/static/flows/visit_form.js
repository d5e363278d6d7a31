// Visit form: « Ajouter une ligne » appends an empty flow row from the formset's template and
// counts it in TOTAL_FORMS. Without JavaScript the button stays hidden and the page already
// offers a few empty rows.
(function () {
  "use strict";
  var button = document.getElementById("add-flow-row");
  var template = document.getElementById("flow-row-template");
  var rows = document.getElementById("flow-rows");
  var total = document.getElementById("id_flux-TOTAL_FORMS");
  if (!button || !template || !rows || !total) {
    return;
  }
  var max = parseInt(button.dataset.max, 10) || 60;
  function refresh() {
    button.disabled = parseInt(total.value, 10) >= max;
  }
  button.hidden = false;
  refresh();
  button.addEventListener("click", function () {
    var index = parseInt(total.value, 10);
    if (index >= max) {
      return;
    }
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    rows.appendChild(row);
    total.value = String(index + 1);
    refresh();
    var first = row.querySelector("select, input:not([type=hidden])");
    if (first) {
      first.focus();
    }
  });
})();
