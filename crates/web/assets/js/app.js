// Progressive enhancement only: every page works without this script.
// Copy buttons (data-copy="#selector") and confirmation prompts (form[data-confirm]).
document.addEventListener("click", function (e) {
  var btn = e.target.closest("[data-copy]");
  if (!btn) return;
  var el = document.querySelector(btn.getAttribute("data-copy"));
  if (!el || !navigator.clipboard) return;
  var text = el.value !== undefined && el.value !== "" ? el.value : el.textContent;
  navigator.clipboard.writeText(text.trim()).then(function () {
    var label = btn.textContent;
    btn.textContent = btn.getAttribute("data-copied") || "✓";
    setTimeout(function () { btn.textContent = label; }, 1500);
  });
});
document.addEventListener("submit", function (e) {
  var form = e.target;
  var msg = form.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) e.preventDefault();
});
