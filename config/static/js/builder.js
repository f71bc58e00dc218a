// Campaign builder: type-dependent options, add/remove rows, confirmations. No build step.
(function () {
  "use strict";

  // Options of one campaign type show (and are sent) only when that type is chosen.
  var typeSelect = document.getElementById("id_type");
  function showTypeOptions() {
    if (!typeSelect) return;
    document.querySelectorAll("[data-show-for]").forEach(function (box) {
      var on = box.dataset.showFor.split(" ").indexOf(typeSelect.value) !== -1;
      box.hidden = !on;
      box.disabled = !on;
      box.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !on; });
    });
  }
  if (typeSelect) {
    typeSelect.addEventListener("change", showTypeOptions);
    showTypeOptions();
  }

  // "Add row": clone the formset's empty form with the next index.
  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    button.addEventListener("click", function () {
      var prefix = button.dataset.addRow;
      var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
      var template = document.getElementById(prefix + "-empty");
      var rows = document.getElementById(prefix + "-rows");
      var index = parseInt(total.value, 10);
      rows.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, index));
      total.value = index + 1;
      var first = rows.lastElementChild.querySelector("input:not([type=hidden]), select");
      if (first) first.focus();
    });
  });

  // "Remove" ticks the row's DELETE box; the row is greyed out until saved.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.name && /-DELETE$/.test(box.name)) {
      box.closest(".row").classList.toggle("removed", box.checked);
    }
  });

  // Destructive forms ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();
