// The checkout form. Always: one submission only (the button is disabled after the first click;
// the server makes one subscription anyway: services.complete). With Stripe: its own card
// fields; on submit, ask Assina to start a SetupIntent (a POST with the form's fields and CSRF
// token, checked first), confirm it with Stripe.js, then post the form with the SetupIntent's id.
(function () {
  "use strict";
  var form = document.getElementById("checkout-form");
  if (!form) {
    return;
  }
  var button = document.getElementById("checkout-submit");
  var errorBox = document.getElementById("checkout-error");
  var withStripe = form.dataset.key && typeof Stripe !== "undefined";
  var stripe = null, card = null;
  if (withStripe) {
    stripe = Stripe(form.dataset.key, {locale: form.dataset.locale || "auto"});
    card = stripe.elements().create("card");
    card.mount("#card-element");
  }
  function fail(message) {
    errorBox.textContent = message || form.dataset.unreachable;
    errorBox.hidden = false;
    button.disabled = false;
  }
  var sent = false;
  form.addEventListener("submit", function (event) {
    if (!withStripe) {
      if (sent) {
        event.preventDefault();
      }
      sent = true;
      window.setTimeout(function () { button.disabled = true; }, 0);
      return;
    }
    event.preventDefault();
    button.disabled = true;
    errorBox.hidden = true;
    var body = new FormData(form);
    body.set("action", "start");
    fetch(form.action, {method: "POST", body: body, credentials: "same-origin"})
      .then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok || !data.client_secret) {
            throw new Error(data.error || "");
          }
          return data.client_secret;
        });
      })
      .then(function (secret) {
        return stripe.confirmCardSetup(secret, {payment_method: {card: card, billing_details: {
          email: form.elements.email.value, name: form.elements.name.value}}});
      })
      .then(function (result) {
        if (result.error) {
          fail(result.error.message);
          return;
        }
        form.elements.setup_intent.value = result.setupIntent.id;
        form.submit();
      })
      .catch(function (error) {
        fail(error && error.message);
      });
  });
})();
