// Progressive enhancement only: every page works without this script.
// Copy buttons (data-copy="#selector" or data-copy-text="…") and confirmation prompts
// (form[data-confirm]). The clipboard API exists only in secure contexts (https, localhost);
// on a plain http address the text is selected and copied the old way, and either way the
// person is told what happened.
(function () {
  var script = document.currentScript;
  var say = function (name, fallback) {
    return (script && script.getAttribute("data-" + name)) || fallback;
  };
  var toastTimer;
  function toast(text) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.hidden = true; }, 3000);
  }
  // A field to select: the element itself when it is an input, else a temporary one.
  function selectText(el, text) {
    if (el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA")) {
      el.focus();
      el.select();
      el.setSelectionRange(0, el.value.length);
      return null;
    }
    var tmp = document.createElement("textarea");
    tmp.value = text;
    tmp.setAttribute("readonly", "");
    tmp.className = "menu-toggle";
    document.body.appendChild(tmp);
    tmp.select();
    tmp.setSelectionRange(0, text.length);
    return tmp;
  }
  function fallbackCopy(btn, el, text) {
    var tmp = selectText(el, text);
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
    if (tmp) {
      tmp.remove();
      // Nothing stays selected for the person to copy by hand: show the text instead.
      if (!ok && el) {
        var range = document.createRange();
        range.selectNodeContents(el);
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
      }
    }
    feedback(btn, ok);
  }
  function feedback(btn, ok) {
    var text = ok ? say("copied", "Copied") : say("selected", "Selected: press Ctrl+C to copy");
    btn.classList.add("copied");
    btn.setAttribute("data-state", ok ? "copied" : "selected");
    var label = btn.getAttribute("data-label") || btn.textContent;
    btn.setAttribute("data-label", label);
    if (ok) btn.textContent = "✓ " + say("copied", "Copied");
    toast(text);
    setTimeout(function () {
      btn.textContent = btn.getAttribute("data-label");
      btn.classList.remove("copied");
    }, 2000);
  }
  document.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-copy],[data-copy-text]");
    if (!btn) return;
    e.preventDefault();
    var el = btn.hasAttribute("data-copy") ? document.querySelector(btn.getAttribute("data-copy")) : null;
    var text = btn.getAttribute("data-copy-text");
    if (text === null && el) text = el.value !== undefined && el.value !== "" ? el.value : el.textContent;
    if (!text) return;
    text = text.trim();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { feedback(btn, true); },
        function () { fallbackCopy(btn, el, text); });
    } else {
      fallbackCopy(btn, el, text);
    }
  });
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var msg = form.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) e.preventDefault();
  });
  // A file field's chosen name, next to its translated button.
  document.addEventListener("change", function (e) {
    var input = e.target;
    if (!input.matches || !input.matches(".file-pick input[type=file]")) return;
    var name = input.closest(".file-pick").querySelector(".file-name");
    if (name && input.files && input.files[0]) name.textContent = input.files[0].name;
  });
  // Quick-extend chips on date fields: data-extend-days="30" data-target="#field" fills the
  // field with today + N days (the server accepts "+30" as "30 days from today").
  document.addEventListener("click", function (e) {
    var chip = e.target.closest("[data-extend]");
    if (!chip) return;
    var field = document.querySelector(chip.getAttribute("data-target"));
    if (!field) return;
    e.preventDefault();
    field.value = chip.getAttribute("data-extend");
    field.dispatchEvent(new Event("input"));
  });
})();
