// The card page with a real gateway: Stripe.js's own card fields collect the card, so its
// number goes from this browser to Stripe and never to Assina. On submit: ask Assina to start a
// SetupIntent (a POST with the page's CSRF token), let Stripe.js confirm it, then post only the
// SetupIntent's id; Assina checks with Stripe that it succeeded for this customer.
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form || typeof Stripe === "undefined") {
    return;
  }
  var errorBox = document.getElementById("card-error");
  var button = document.getElementById("card-submit");
  var stripe = Stripe(form.dataset.key, {locale: form.dataset.locale || "auto"});
  var card = stripe.elements().create("card");
  card.mount("#card-element");

  function fail(message) {
    errorBox.textContent = message || form.dataset.unreachable;
    errorBox.hidden = false;
    button.disabled = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    errorBox.hidden = true;
    var body = new FormData(form);
    body.set("action", "start");
    fetch(window.location.href, {method: "POST", body: body, credentials: "same-origin"})
      .then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok || !data.client_secret) {
            throw new Error(data.error || "");
          }
          return data.client_secret;
        });
      })
      .then(function (secret) {
        var billing = {email: form.dataset.email};
        if (form.dataset.name) {
          billing.name = form.dataset.name;
        }
        return stripe.confirmCardSetup(secret, {payment_method: {card: card, billing_details: billing}});
      })
      .then(function (result) {
        if (result.error) {
          fail(result.error.message);  // the gateway's own words: a decline, an incomplete number
          return;
        }
        form.elements.setup_intent.value = result.setupIntent.id;
        form.submit();  // a plain POST: the page that answers says whether the card was kept
      })
      .catch(function (error) {
        fail(error && error.message);
      });
  });
})();
