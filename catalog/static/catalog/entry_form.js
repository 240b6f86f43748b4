// Progressive enhancement of the price form: show only the fields the chosen pricing model uses.
// Without JavaScript every field shows and the server ignores the ones that do not apply.
(function () {
  var USES = {
    flat: ["unit_price"], per_unit: ["unit_price", "free_units"], package: ["unit_price", "package_size", "free_units"],
    tiered: ["tiers"], volume: ["tiers"], block: ["tiers"]
  };
  function apply() {
    var select = document.getElementById("id_pricing_model");
    if (!select) return;
    var uses = USES[select.value] || [];
    ["unit_price", "package_size", "free_units"].forEach(function (name) {
      var field = document.getElementById("field-" + name);
      if (field) field.hidden = uses.indexOf(name) < 0;
    });
    var tiers = document.getElementById("tier-editor");
    if (tiers) tiers.hidden = uses.indexOf("tiers") < 0;
  }
  document.addEventListener("DOMContentLoaded", function () {
    apply();
    document.addEventListener("change", function (event) {
      if (event.target && event.target.id === "id_pricing_model") apply();
    });
    document.body.addEventListener("htmx:afterSwap", apply);
  });
})();
