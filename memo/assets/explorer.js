// The scenario explorer: replaces the static chart with a live one whose sliders recompute the model's formulas.
// Vega evaluates expressions with vega-interpreter, so no eval is needed and the page's CSP can forbid it.
(function () {
  "use strict";
  function start() {
    if (!window.vegaEmbed || !window.vegaExpressionInterpreter) return;
    document.querySelectorAll('script[type="application/json"][data-explorer]').forEach(function (node) {
      var target = document.getElementById(node.getAttribute("data-explorer"));
      if (!target) return;
      var spec = JSON.parse(node.textContent);
      window.vegaEmbed(target, spec, {
        renderer: "svg",
        actions: false,
        ast: true,
        expr: window.vegaExpressionInterpreter,
      }).then(function () {
        target.classList.add("live");
      }).catch(function (error) {
        target.setAttribute("data-error", String(error));
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
