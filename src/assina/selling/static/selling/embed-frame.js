// Inside /pricing/embed/: tell the page that embeds it (pricing/embed.js) how tall the table is.
(function () {
  "use strict";
  function send() {
    if (window.parent !== window) {
      window.parent.postMessage({assinaPricingHeight: document.documentElement.scrollHeight}, "*");
    }
  }
  window.addEventListener("load", send);
  window.addEventListener("resize", send);
  document.addEventListener("change", send);
})();
