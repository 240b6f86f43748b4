/* The currency follows the chosen account; another currency shows a warning (the server refuses it
   unless confirmed, and defaults an empty currency to the account's, so this is only a help). */
(function () {
  var currencies = JSON.parse(document.getElementById("account-currencies").textContent);
  var account = document.getElementById("id_account"), currency = document.getElementById("id_currency");
  var warning = document.getElementById("currency-warning");
  if (!account || !currency) return;
  function check() {
    var expected = currencies[account.value];
    var mismatch = expected && currency.value && currency.value !== expected;
    warning.hidden = !mismatch;
    if (mismatch) warning.textContent = warning.dataset.template.replace("{account}", expected).replace("{payment}", currency.value);
  }
  account.addEventListener("change", function () {
    if (currencies[account.value]) currency.value = currencies[account.value];
    check();
  });
  currency.addEventListener("change", check);
  check();
})();
