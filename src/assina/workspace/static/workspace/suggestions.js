// The customer page's Suggestions section is loaded after the page: working the suggestions out
// reads the counts of every subscription on the customer's plans, which the page should not wait for.
document.addEventListener("DOMContentLoaded", function () {
  var section = document.getElementById("ws-suggestions");
  if (!section) return;
  var body = section.querySelector(".ws-suggestions-body");
  var fallback = body.innerHTML;
  body.setAttribute("aria-busy", "true");
  fetch(section.dataset.src, {credentials: "same-origin"})
    .then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.text();
    })
    .then(function (html) { body.innerHTML = html; })
    .catch(function () { body.innerHTML = fallback; })
    .finally(function () { body.removeAttribute("aria-busy"); section.classList.add("loaded"); });
});
