// The page's behaviour: the scenario explorer, and the provenance tips of the memo's numbers.
//
// The explorer replaces the static chart with a live one whose sliders recompute the model's formulas. Vega
// evaluates expressions with vega-interpreter, so no eval is needed and the page's CSP can forbid it. The live view
// keeps what the static chart gave assistive technology: role="img", the chart's title as its name, and a text
// alternative (the static chart's description, and a summary of what the live view shows now).
(function () {
  "use strict";
  var quiet = "position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);" +
    "clip-path:inset(50%);white-space:nowrap;border:0;padding:0";

  function textOf(node) {
    return node ? node.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function paragraph(id, text) {
    var p = document.createElement("p");
    p.id = id;
    p.className = "visually-hidden";
    p.style.cssText = quiet;
    p.textContent = text;
    return p;
  }

  // What the live view says now: the text of its marks (axes and legends left out), e.g. "Forward ARR $258M ...".
  function summary(target) {
    var texts = [];
    target.querySelectorAll("g.role-mark text").forEach(function (t) {
      var words = textOf(t);
      if (words) texts.push(words);
    });
    return texts.length ? "Now showing: " + texts.join("; ") + "." : "";
  }

  function accessible(target, name, description) {
    var svg = target.querySelector("svg");
    if (!svg) return;
    var alt = paragraph(target.id + "-alt", description ? "At this build's inputs: " + description : "");
    var now = paragraph(target.id + "-now", summary(target));
    now.setAttribute("aria-live", "polite");
    target.after(alt, now);
    svg.setAttribute("role", "img");
    svg.removeAttribute("aria-roledescription");
    if (name) svg.setAttribute("aria-label", name);
    svg.setAttribute("aria-describedby", alt.id + " " + now.id);
    var bindings = target.querySelector(".vega-bindings");
    if (bindings) {
      bindings.setAttribute("role", "group");
      if (name) bindings.setAttribute("aria-label", "Drivers of " + name);
    }
    var timer = 0;
    function update() {
      clearTimeout(timer);
      timer = setTimeout(function () { now.textContent = summary(target); }, 400);
    }
    target.addEventListener("input", update); // a slider moved: the view redraws, then the summary follows
  }

  function start() {
    if (!window.vegaEmbed || !window.vegaExpressionInterpreter) return;
    document.querySelectorAll('script[type="application/json"][data-explorer]').forEach(function (node) {
      var target = document.getElementById(node.getAttribute("data-explorer"));
      if (!target) return;
      var figure = target.closest("figure");
      var name = textOf(figure && figure.querySelector("figcaption"));
      var title = target.querySelector("svg > title");
      var description = textOf(title);
      var spec = JSON.parse(node.textContent);
      window.vegaEmbed(target, spec, {
        renderer: "svg",
        actions: false,
        ast: true,
        expr: window.vegaExpressionInterpreter,
      }).then(function () {
        accessible(target, name, description);
        target.classList.add("live");
      }).catch(function (error) {
        target.setAttribute("data-error", String(error));
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

// Provenance tips. Every number the memo prints is a link (.fig-link) to its row in the appendix, whose
// aria-describedby names a hidden element with the number's provenance: what it is, its formula, the inputs it
// reads with their values and sources. Screen readers read that description; this shows the same element, as a
// real (selectable) box, on hover and on keyboard focus. Escape dismisses it, the pointer may move onto it, and it
// stays inside the viewport. On a touch screen the first tap shows the tip and a second follows the link.
(function () {
  "use strict";
  var tip = null;
  var anchor = null;
  var timer = 0;
  var pointer = "mouse";
  var HINTS = {
    focus: "Press Enter for its row in the appendix.",
    mouse: "Click for its row in the appendix.",
    touch: "Tap the number again for its row in the appendix.",
  };

  function linkOf(node) {
    return node && node.closest ? node.closest(".fig-link[aria-describedby]") : null;
  }

  function make() {
    tip = document.createElement("div");
    tip.className = "prov-tip";
    tip.hidden = true;
    tip.setAttribute("aria-hidden", "true"); // a screen reader has it already, as the number's description
    tip.addEventListener("mouseenter", function () { clearTimeout(timer); });
    tip.addEventListener("mouseleave", later);
    document.body.appendChild(tip);
  }

  function place(link) {
    var width = document.documentElement.clientWidth;
    var box = link.getBoundingClientRect();
    tip.style.maxWidth = "min(24rem, " + Math.max(160, width - 16) + "px)"; // the stylesheet's width, within the viewport
    tip.style.maxHeight = "";
    tip.style.left = "0px";
    tip.style.top = "0px";
    tip.hidden = false;
    var w = tip.offsetWidth;
    var h = tip.offsetHeight;
    var below = window.innerHeight - box.bottom - 14;
    var above = box.top - 14;
    var left = Math.max(8, Math.min(box.left, width - w - 8));
    var top = box.bottom + 6;
    if (h > below && h <= above) {
      top = box.top - h - 6;
    } else if (h > below) { // fits on neither side: the roomier one, scrolling within (the description is whole)
      tip.style.maxHeight = Math.max(below, above) + "px";
      h = tip.offsetHeight;
      top = below >= above ? box.bottom + 6 : box.top - h - 6;
    }
    tip.style.left = left + window.scrollX + "px";
    tip.style.top = top + window.scrollY + "px";
  }

  function show(link, how) {
    var about = document.getElementById(link.getAttribute("aria-describedby"));
    if (!about) return;
    clearTimeout(timer);
    if (!tip) make();
    var copy = about.cloneNode(true);
    copy.removeAttribute("id");
    if (link.hasAttribute("href")) { // (a number whose row the project's appendix leaves out links nowhere)
      var hint = document.createElement("p");
      hint.className = "about-hint";
      hint.textContent = HINTS[how];
      copy.appendChild(hint);
    }
    tip.replaceChildren(copy);
    anchor = link;
    place(link);
  }

  function hide() {
    clearTimeout(timer);
    if (tip) tip.hidden = true;
    anchor = null;
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(hide, 250);
  }

  function visible() {
    return tip !== null && !tip.hidden;
  }

  function start() {
    document.documentElement.classList.add("tips"); // the stylesheet's script-less tip steps aside
    document.addEventListener("pointerdown", function (e) { pointer = e.pointerType || "mouse"; }, true);
    document.addEventListener("focusin", function (e) {
      var link = linkOf(e.target);
      if (link && pointer !== "touch" && anchor !== link) show(link, pointer === "mouse" ? "mouse" : "focus");
    });
    document.addEventListener("focusout", function (e) {
      if (linkOf(e.target) && anchor === linkOf(e.target)) hide();
    });
    document.addEventListener("mouseover", function (e) {
      var link = linkOf(e.target);
      if (link && pointer !== "touch" && anchor !== link) show(link, "mouse");
    });
    document.addEventListener("mouseout", function (e) {
      if (linkOf(e.target) && !(tip && tip.contains(e.relatedTarget)) && !linkOf(e.relatedTarget)) later();
    });
    document.addEventListener("click", function (e) {
      var link = linkOf(e.target);
      if (link && pointer === "touch" && anchor !== link) {
        e.preventDefault();
        show(link, "touch");
      } else if (!link && visible() && !tip.contains(e.target)) {
        hide();
      }
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && visible()) hide();
      pointer = "keyboard";
    });
    window.addEventListener("resize", hide);
    window.addEventListener("hashchange", hide);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
